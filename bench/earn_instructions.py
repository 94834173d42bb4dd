"""Instructions the app executes per earn, counted by valgrind (callgrind): unlike time, the
count does not move with what else the machine is doing, so two versions of the code can be
compared on a busy or noisy machine (docs/benchmarks.md, session 4).

    .venv/bin/python bench/earn_instructions.py            # about a minute

Runs ``bench/earn_cpu.py`` under callgrind twice — with ``--small`` and with ``--large`` earns
after the same warm-up — and divides the difference by the extra earns, so start-up, imports
and the warm-up cancel out. Counts this process only (user space: Python, Django, DRF,
psycopg's C code), not PostgreSQL and not the kernel. Needs ``valgrind`` and the bench database
(``bench/earn_api.py`` builds it). Repeated runs agree within about 0.2%.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def instructions(requests: int, extra: list[str]) -> int:
    with tempfile.TemporaryDirectory() as folder:
        run = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={folder}/out",
             sys.executable, str(ROOT / "bench" / "earn_cpu.py"), "--rounds", "1",
             "--requests", str(requests), *extra],
            capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"},
            check=False,
        )
    found = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode or not found:
        raise SystemExit(f"callgrind run failed:\n{run.stdout}\n{run.stderr[-3000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=300)
    parser.add_argument("--drf-cycle", action="store_true",
                        help="serve the earn through DRF's whole request cycle")
    args = parser.parse_args()
    extra = ["--drf-cycle"] if args.drf_cycle else []
    small, large = instructions(args.small, extra), instructions(args.large, extra)
    per_earn = (large - small) / (args.large - args.small)
    print(f"earn: {per_earn / 1e6:.3f} million instructions per request "
          f"(callgrind; {args.large} minus {args.small} earns)")


if __name__ == "__main__":
    main()
