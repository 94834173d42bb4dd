"""Lighthouse (mobile) on the four front doors of the demo: the public page, the member portal,
the counter and the dashboard overview.

    .venv/bin/python bench/lighthouse.py            # or: make lighthouse

It builds a demo database of its own in a temporary folder (migrate + load_demo), signs the demo
owner, staff member and member in (a session each, sent to Lighthouse as a cookie header),
serves the app as in production (gunicorn, whitenoise's hashed static files) over plain HTTP
on a free port of 127.0.0.1, and runs Lighthouse 13 with its
mobile defaults (Moto G power screen, simulated slow 4G, 4× CPU slowdown) in Debian's Chromium
(/usr/bin/chromium, or CHROME_PATH). Lighthouse comes from the npm registry into
``var/lighthouse/`` the first time. Each page is measured ``--runs`` times (3) and the median
run counts. It prints a table of scores and the audits that lost points,
writes the JSON reports to ``bench/results/lighthouse/``, and exits non-zero when a page misses
the goals: accessibility 100, best practices ≥ 95, performance ≥ 95.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
LIGHTHOUSE_DIR = ROOT / "var" / "lighthouse"
LIGHTHOUSE_VERSION = "13"
RESULTS = ROOT / "bench" / "results" / "lighthouse"
GOALS = {"accessibility": 1.0, "best-practices": 0.95, "performance": 0.95}
CHROME_FLAGS = ("--headless=new --no-sandbox --disable-gpu --disable-background-networking "
                "--disable-quic --no-first-run --disable-component-update --disable-sync")
SLUG = "bakkerij-de-gouden-korst"
# (name, path, who is signed in)
PAGES = [
    ("public page", f"/s/{SLUG}/", None),
    ("portal", f"/portal/{SLUG}/", "member"),
    ("counter", f"/counter/{SLUG}/", "staff"),
    ("dashboard", f"/dashboard/{SLUG}/", "owner"),
]
LOGINS = {"owner": "anneke@goudenkorst.example", "staff": "daan@goudenkorst.example",
          "member": "sanne.visser@example.com"}


def lighthouse_bin() -> Path:
    binary = LIGHTHOUSE_DIR / "node_modules" / ".bin" / "lighthouse"
    if not binary.exists():
        if not shutil.which("npm"):
            sys.exit("Lighthouse needs Node.js and npm (apt-get install nodejs npm).")
        LIGHTHOUSE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix",
                        str(LIGHTHOUSE_DIR), f"lighthouse@{LIGHTHOUSE_VERSION}"], check=True)
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(env: dict, *args: str) -> str:
    done = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True)
    return done.stdout


SESSIONS = """
import json
from django.test import Client
from loyalty.models import User
logins = json.loads({logins!r})
out = {{}}
for role, email in logins.items():
    client = Client()
    client.force_login(User.objects.get(email=email))
    out[role] = "sessionid=" + client.cookies["sessionid"].value
print(json.dumps(out))
"""


def run_lighthouse(binary: Path, chrome: str, url: str, cookie: str | None, name: str,
                   n: int) -> dict:
    """One Lighthouse run; tried again once when Chromium's trace fails (NO_NAVSTART)."""
    report = RESULTS / f"{name.replace(' ', '-')}-{n + 1}.json"
    command = [str(binary), url, "--quiet", "--output=json", f"--output-path={report}",
               f"--chrome-flags={CHROME_FLAGS}",
               "--only-categories=performance,accessibility,best-practices"]
    if cookie:
        command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    for attempt in (1, 2):
        done = subprocess.run(command, env={**os.environ, "CHROME_PATH": chrome})
        if done.returncode == 0:
            return json.loads(report.read_text())
        if attempt == 2:
            raise SystemExit(f"Lighthouse failed twice on {url}")
    raise AssertionError("unreachable")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary demo database")
    parser.add_argument("--runs", type=int, default=3, help="runs a page; the median counts")
    args = parser.parse_args()

    binary = lighthouse_bin()
    chrome = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
    if not Path(chrome).exists():
        sys.exit(f"No Chromium at {chrome}: apt-get install chromium, or set CHROME_PATH.")
    var_dir = Path(tempfile.mkdtemp(prefix="trouw-lighthouse-"))
    # Served as in production (hashed static files with far-future caching, gunicorn), but over
    # plain HTTP on 127.0.0.1.
    env = {**os.environ, "TROUW_VAR_DIR": str(var_dir), "DJANGO_ENV": "production",
           "DJANGO_SECRET_KEY": "lighthouse-only-" + "x" * 40,
           "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "false",
           "ACCOUNT_EMAIL_VERIFICATION": "none", "DATABASE_URL": "", "REDIS_URL": ""}
    print(f"Demo database in {var_dir} …", flush=True)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "load_demo")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    sessions = json.loads(manage(env, "shell", "-v", "0", "-c",
                                 SESSIONS.format(logins=json.dumps(LOGINS))).splitlines()[-1])

    port = free_port()
    server = subprocess.Popen(
        [str(Path(PYTHON).with_name("gunicorn")), "loyalty.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "4"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(50):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)  # noqa: S310 (our server)
                break
            except OSError:
                time.sleep(0.2)
        RESULTS.mkdir(parents=True, exist_ok=True)
        failed = []
        print(f"\n{'page':<14}{'performance':>13}{'accessibility':>15}{'best practices':>16}")
        for name, path, who in PAGES:
            runs = [run_lighthouse(binary, chrome, base + path, sessions.get(who), name, n)
                    for n in range(args.runs)]
            # The median run by performance (Lighthouse's advice for noisy machines).
            runs.sort(key=lambda result: result["categories"]["performance"]["score"])
            result = runs[len(runs) // 2]
            if result.get("finalDisplayedUrl", "").split("?")[0] != base + path:
                failed.append(f"{name}: ended on {result.get('finalDisplayedUrl')}")
            scores = {key: result["categories"][key]["score"] for key in GOALS}
            each = ", ".join(str(round(r["categories"]["performance"]["score"] * 100))
                             for r in runs)
            print(f"{name:<14}{scores['performance'] * 100:>13.0f}"
                  f"{scores['accessibility'] * 100:>15.0f}{scores['best-practices'] * 100:>16.0f}"
                  f"   (performance of each run: {each})")
            for key, goal in GOALS.items():
                if scores[key] < goal:
                    failed.append(f"{name}: {key} {scores[key] * 100:.0f} < {goal * 100:.0f}")
            for audit in result["audits"].values():
                if (audit.get("score") is not None and audit["score"] < 0.9
                        and audit.get("scoreDisplayMode") in ("binary", "numeric",
                                                                "metricSavings")):
                    print(f"    {audit['id']}: {audit.get('displayValue', '')}"
                          f" ({audit['score']:.2f})")
    finally:
        server.terminate()
        server.wait(10)
        if not args.keep:
            shutil.rmtree(var_dir, ignore_errors=True)
    if failed:
        print("\nGoals missed:\n  " + "\n  ".join(failed))
        return 1
    print("\nAll pages meet the goals (performance ≥ 95, accessibility 100, best practices ≥ 95).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
