"""The background jobs of issue 11 at scale, one after the other, each on its own PostgreSQL
database (see each script's docstring):

- ``jobs_birthdays.py``: 1,000,000 members (``seed_demo``): the day's birthday job (goal < 2 s),
  a 7-day catch-up (< 10 s), and a naive per-member loop on the same data (set-based ≥ 20×
  faster);
- ``jobs_expiry.py``: an expiry night in which 100,000 lots expire (< 10 s);
- ``jobs_outbox.py``: the outbox drained by one worker process (≥ 200 e-mails/s, locmem).

    .venv/bin/python bench/jobs.py                      # all three (the first run seeds: long)
    .venv/bin/python bench/jobs.py --only expiry outbox
    .venv/bin/python bench/jobs.py --members 100000     # a smaller birthday database

Each script prints its own figures; this one prints them in order and stops at the first that
fails. Figures and analysis: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PARTS = ("birthdays", "expiry", "outbox")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--members", type=int, default=1_000_000,
                        help="members of the birthday database (default 1,000,000)")
    parser.add_argument("--reuse-expiry", action="store_true",
                        help="jobs_expiry.py --reuse: expire the last night's lots again")
    args = parser.parse_args()
    commands = {
        "birthdays": ["jobs_birthdays.py", "--members", str(args.members)],
        "expiry": ["jobs_expiry.py", *(["--reuse"] if args.reuse_expiry else [])],
        "outbox": ["jobs_outbox.py"],
    }
    for part in PARTS:
        if part not in args.only:
            continue
        script, *rest = commands[part]
        print(f"\n=== {part}: bench/{script} {' '.join(rest)}", flush=True)
        done = subprocess.run([sys.executable, str(BENCH / script), *rest], check=False)
        if done.returncode != 0:
            print(f"=== {part} failed (exit {done.returncode})", flush=True)
            return done.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
