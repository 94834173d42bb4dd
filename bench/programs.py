"""Switch a bench shop's programs on or off, for ``bench/earn_api.py --programs``: issue 12's
load — 5 bonus-point events (one of them on at any hour, so every earn evaluates all five and
applies one), 10 levels and 20 badges — or none of it. Run by earn_api.py between rounds:

    .venv/bin/python bench/programs.py on --shop bench-bakkerij
    .venv/bin/python bench/programs.py off --shop bench-bakkerij
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")

# Four events that never apply to the bench's purchases (their days are over, or they wait for
# categories the bench's purchases do not have) and one that always does: the earn checks
# every one of them.
EVENTS = [
    {"name": "Dubbele punten", "kind": "multiplier", "value": "2"},
    {"name": "Koffieweek", "kind": "multiplier", "value": "3", "categories": ["Koffie"]},
    {"name": "Oud en nieuw", "kind": "extra", "value": 50, "starts_on": "2020-12-31",
     "ends_on": "2021-01-01"},
    {"name": "Ochtendgloren", "kind": "extra", "value": 10, "from_hour": 6, "to_hour": 7,
     "starts_on": "2020-01-01", "ends_on": "2020-01-31"},
    {"name": "Thee", "kind": "extra", "value": 5, "categories": ["Thee"]},
]


def programs_set(*, shop, on: bool) -> str:
    from loyalty import services

    services.program_rules_update(shop=shop, by=None, bonus_events=EVENTS if on else [],
                                  bonus_combine="stack")
    return f"{len(EVENTS) if on else 0} bonus events"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("state", choices=["on", "off"])
    parser.add_argument("--shop", default="bench-bakkerij")
    args = parser.parse_args()
    import django

    django.setup()
    from loyalty.models import Shop

    shop = Shop.objects.get(slug=args.shop)
    done = programs_set(shop=shop, on=args.state == "on")
    print(f"programs {args.state} for {shop.slug}: {done}")


if __name__ == "__main__":
    main()
