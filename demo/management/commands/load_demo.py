"""Load the demo shops for `make run`: a Dutch bakery with a year of history and a Swedish café
with a stamp card (demo/bakery.py, demo/kafe.py), and print their logins.

Safe to run again: a demo shop that exists is left as it is, so a second run adds nothing.
Each shop is built in one transaction (all of it or nothing) and checked with the ledger's
and the donations' reconciliation before it is kept.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from charity import selectors as charity_selectors
from demo import bakery, kafe
from demo.people import DEMO_PASSWORD
from loyalty import selectors

# The demo's logins, as README lists them.
DEMO_SLUG = bakery.SLUG
OWNER_EMAIL = bakery.OWNER_EMAIL
STAFF_EMAIL = bakery.STAFF_EMAIL
MEMBER_EMAIL = bakery.MEMBER_EMAIL
SHOPS = (bakery, kafe)


class Command(BaseCommand):
    help = "Create the demo shops with their history (once) and print their logins."

    def handle(self, *args, **options):
        # With DEBUG on (make run), Django formats and keeps the SQL of every query; the demo
        # runs some 30,000 of them, and the log would cost a fifth of its time.
        with override_settings(DEBUG=False):
            self._load()
        self._logins()

    def _load(self) -> None:
        now = timezone.now()
        for shop_module in SHOPS:
            started = time.monotonic()
            with transaction.atomic():
                story = shop_module.load(now=now)
                if story is None:
                    self.stdout.write(f"{shop_module.NAME}: there already, left as it is.")
                    continue
                mismatches = selectors.ledger_mismatches(shop=story.shop)
                # The donation ledger against its statements (reconcile_donations).
                donations = charity_selectors.donations_reconcile(shop=story.shop)
                if mismatches or story.skipped or donations:
                    raise CommandError(
                        f"{shop_module.NAME}: {len(mismatches)} cards do not reconcile, "
                        f"{story.skipped} planned claims were refused, "
                        f"{len(donations)} donation problems; nothing was kept. "
                        + " ".join([*story.refusals[:3], *donations[:3]]))
            counts = ", ".join(f"{what} {number}" for what, number in story.counts.items())
            self.stdout.write(
                f"{shop_module.NAME}: members {story.shop.memberships.count()}, {counts} "
                f"({time.monotonic() - started:.1f} s).")

    def _logins(self) -> None:
        self.stdout.write(self.style.SUCCESS(
            f"Demo shops: {bakery.NAME} — /s/{bakery.SLUG}/, {kafe.NAME} — /s/{kafe.SLUG}/"))
        self.stdout.write(f"  password for every demo login: {DEMO_PASSWORD}")
        self.stdout.write(f"  owner  {bakery.OWNER_EMAIL}  → http://127.0.0.1:8000/dashboard/")
        self.stdout.write(f"  staff  {bakery.STAFF_EMAIL}  → http://127.0.0.1:8000/counter/")
        self.stdout.write(f"  member {bakery.MEMBER_EMAIL}  → http://127.0.0.1:8000/portal/")
        self.stdout.write(f"  owner of {kafe.NAME}  {kafe.OWNER_EMAIL}")
        self.stdout.write(f"  member of {kafe.NAME}  {kafe.MEMBER_EMAIL} (a full stamp card)")
