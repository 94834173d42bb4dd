"""Switch a bench shop's programs on or off, for ``bench/earn_api.py --programs``: issue 12's
load (``on``) — 5 bonus-point events (one of them on at any hour, so every earn evaluates all
five and applies one), 10 levels and 20 badges — or issue 13's (``charity``): the charity
program beside points, 1% of every purchase to the member's charity (three charities, the
default until a member picks one; every tenth sampled member has picked one) — or none of it
(``off``). Run by earn_api.py between rounds:

    .venv/bin/python bench/programs.py on --shop bench-bakkerij
    .venv/bin/python bench/programs.py charity --shop bench-bakkerij
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


# Ten levels on the points earned this year: the bench's members (a year of purchases) sit
# on all of them, and an earn can raise a level.
LEVELS = [{"name": f"Niveau {n}", "colour": "#8a4b2a", "threshold": str(500 * n * n),
           "multiplier": f"{1 + n / 20:.2f}", "perks": ""} for n in range(1, 11)]
# Twenty badges over every template but referrals (which never fire without referrals).
BADGES = [
    *({"template": "visits", "name": f"{n} bezoeken", "count": n} for n in (5, 10, 25, 50, 100)),
    *({"template": "spend_total", "name": f"{n} euro", "amount": str(n)}
      for n in (50, 100, 250, 500, 1000)),
    *({"template": "week_streak", "name": f"{n} weken op rij", "count": n} for n in (2, 4, 8)),
    *({"template": "weekdays", "name": f"{n} weekdagen", "count": n} for n in (3, 5, 7)),
    {"template": "categories", "name": "Alles geproefd", "count": 3},
    {"template": "spend_within", "name": "Maanduitdaging", "amount": "200", "days": 30},
    {"template": "first_purchase", "name": "Welkom"},
    {"template": "spend_total", "name": "Grote klant", "amount": "5000"},
]


def programs_set(*, shop, state: str) -> str:
    from django.apps import apps

    from loyalty import services

    on = state == "on"
    services.program_rules_update(shop=shop, by=None, bonus_events=EVENTS if on else [],
                                  bonus_combine="stack")
    done = [f"{len(EVENTS) if on else 0} bonus events"]
    if apps.is_installed("tiers"):
        done += [_levels_set(shop=shop, on=on), _badges_set(shop=shop, on=on)]
    if apps.is_installed("charity"):
        done.append(_charity_set(shop=shop, on=state == "charity"))
    return ", ".join(done)


# Three charities (ANBI numbers that pass the RSIN check); the first is the default.
CHARITIES = [("Voedselbank", "anbi", "002446662"), ("Dierenasiel", "anbi", "803225969"),
             ("Speeltuin", "", "")]


def _charity_set(*, shop, on: bool) -> str:
    from charity import services as charity_services
    from charity.models import Charity, CharityChoice
    from loyalty.models import Membership

    existing = {charity.name: charity for charity in Charity.objects.filter(shop=shop)}
    if on and not existing:
        for name, kind, number in CHARITIES:
            existing[name] = charity_services.charity_create(
                shop=shop, name=name, registration_kind=kind, registration_number=number)
        # Every tenth card has picked a charity (the others give to the default).
        cards = Membership.objects.filter(shop=shop).order_by("pk").values_list("pk", flat=True)
        charities = list(existing.values())
        CharityChoice.objects.bulk_create(
            [CharityChoice(membership_id=card, charity=charities[n % len(charities)],
                           source="portal")
             for n, card in enumerate(cards[::10])], batch_size=2000)
    default = existing.get(CHARITIES[0][0])
    charity_services.program_configure(shop=shop, data=charity_services.program_input_clean(
        enabled=on, mode="beside", rule_kind="percent", rule_value="1",
        default_charity_id=default.pk if default else None))
    return "the charity program " + ("on (1%)" if on else "off")


def _levels_set(*, shop, on: bool) -> str:
    from tiers import services as tier_services

    tier_services.program_save(shop=shop, data=tier_services.program_input_clean(
        enabled=on, measure="points", period="year", downgrade="one", grace_days=0,
        tiers=LEVELS))
    return f"{len(LEVELS) if on else 0} levels"


def _badges_set(*, shop, on: bool) -> str:
    import datetime as dt

    from tiers.badges import services as badge_services
    from tiers.badges.models import Badge

    existing = {badge.name: badge for badge in Badge.objects.filter(shop=shop)}
    for fields in BADGES:
        fields = dict(fields)
        if fields["template"] == "spend_within":
            fields["starts_on"] = dt.date.today()
        badge = existing.get(fields["name"])
        if badge is None and on:
            badge = badge_services.badge_create(shop=shop, icon="star", **fields)
        if badge is not None:
            badge_services.badge_set_active(shop=shop, badge_id=badge.pk, active=on)
    return f"{len(BADGES) if on else 0} badges"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("state", choices=["on", "charity", "off"])
    parser.add_argument("--shop", default="bench-bakkerij")
    args = parser.parse_args()
    import django

    django.setup()
    from loyalty.models import Shop

    shop = Shop.objects.get(slug=args.shop)
    done = programs_set(shop=shop, state=args.state)
    print(f"programs {args.state} for {shop.slug}: {done}")


if __name__ == "__main__":
    main()
