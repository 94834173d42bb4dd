"""Seed a large, realistic shop fast: many members and a year of purchases, for benchmarks and
for trying the dashboard at scale.

    python manage.py seed_demo --members 100000 --purchases 1000000 [--shop bench-bakkerij]

Everything is written with ``bulk_create`` in batches, in one transaction: an interrupted run
leaves nothing behind. Each purchase with a card gets what the points engine would have written
(its points under the shop's current rules, an ``earn`` ledger entry and a lot), and the cached
balances are set from the ledger at the end, so ``reconcile_ledger`` passes afterwards.

It seeds a shop once: a shop that already has members or purchases is refused (use another
``--shop``). A shop that does not exist yet is created, with an owner.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
import time
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from demo import bulk
from demo.clock import explicit_timestamps
from demo.people import FIRST_NAMES, LAST_NAMES
from loyalty import services
from loyalty.models import (
    Language,
    Membership,
    MembershipSource,
    ProgramRules,
    Purchase,
    Shop,
    User,
)
from loyalty.points import points_for_amount

DEFAULT_SLUG = "bench-bakkerij"
BATCH = 5_000
DAY = 86_400.0
JOIN_WINDOW_DAYS = 730  # members joined over the last two years
PURCHASE_WINDOW_DAYS = 365  # purchases over the last year
SHARE_WITH_CARD = 0.85


class Progress:
    """A plain text progress bar on stderr, redrawn in place."""

    def __init__(self, label: str, total: int, stream, enabled: bool = True, width: int = 30):
        self.label, self.total, self.width = label, max(total, 1), width
        self.stream = stream
        self.enabled = enabled
        self.started = time.monotonic()
        self.done = 0

    def advance(self, count: int) -> None:
        self.done += count
        if not self.enabled:
            return
        fraction = min(self.done / self.total, 1.0)
        filled = int(self.width * fraction)
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        self._write(
            f"\r{self.label:<10} [{'#' * filled}{'.' * (self.width - filled)}] "
            f"{fraction:6.1%} {self.done:>11,}/{self.total:,}  {elapsed:6.1f} s  "
            f"{rate:>9,.0f}/s"
        )

    def finish(self) -> float:
        elapsed = time.monotonic() - self.started
        if self.enabled:
            self._write("\n")
        return elapsed

    def _write(self, text: str) -> None:
        # A management command's stderr wrapper: no colour, no added line ending.
        self.stream.write(text, style_func=lambda s: s, ending="")
        self.stream.flush()


class Command(BaseCommand):
    help = "Seed a shop with many members and purchases, fast (bulk inserts)."

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=1_000)
        parser.add_argument("--purchases", type=int, default=10_000)
        parser.add_argument("--shop", default=DEFAULT_SLUG, help="the shop's slug")
        parser.add_argument("--seed", type=int, default=2026, help="random seed for the data")
        parser.add_argument("--batch-size", type=int, default=BATCH)

    def handle(self, *args, **options):
        members, purchases = options["members"], options["purchases"]
        if members < 0 or purchases < 0:
            raise CommandError("--members and --purchases must be 0 or more.")
        if purchases and not members:
            raise CommandError("Purchases need members to buy: give --members too.")
        self.rng = random.Random(options["seed"])
        self.batch = max(options["batch_size"], 1)
        self.show_progress = options["verbosity"] >= 1
        started = time.monotonic()
        with transaction.atomic():
            shop = self._shop(options["shop"])
            rules = services.program_rules_current(shop=shop)
            self.now = timezone.now()
            with explicit_timestamps(*bulk.timestamp_fields()):
                member_ids, joined = self._members(shop, members)
                earned = self._purchases(shop, rules, member_ids, joined, purchases)
            self._balances(shop)
        self.stdout.write(self.style.SUCCESS(
            f"Seeded {shop.slug}: {members:,} members, {purchases:,} purchases "
            f"({earned:,} with points) in {time.monotonic() - started:.1f} s."
        ))

    # --- The shop --------------------------------------------------------------------------

    def _shop(self, slug: str) -> Shop:
        shop = Shop.objects.select_for_update().filter(slug=slug).first()
        if shop is not None:
            has_members = Membership.objects.filter(shop=shop).exists()
            if has_members or Purchase.objects.filter(shop=shop).exists():
                raise CommandError(
                    f"The shop {slug!r} has members or purchases already; seed_demo fills an "
                    f"empty shop only. Choose another --shop."
                )
            return shop
        owner_email = f"owner@{slug}.example"
        owner = User.objects.filter(email=owner_email).first() or User.objects.create_user(
            email=owner_email, password=None, name="Bench Owner"
        )
        shop = services.shop_create(
            owner=owner, name=slug.replace("-", " ").title(), slug=slug, currency="EUR",
            language="nl", time_zone="Europe/Amsterdam", email=f"hallo@{slug}.example",
        )
        # The demo bakery's rules: 10 points a euro, 300 more from 25 euros.
        services.program_rules_update(
            shop=shop, by=owner, points_per_unit=10,
            steps=[{"min_amount": "25.00", "points": 300}], steps_replace_rate=False,
        )
        return shop

    # --- Members ---------------------------------------------------------------------------

    def _members(self, shop: Shop, count: int) -> tuple[list[int], list[float]]:
        """Create ``count`` members, oldest first. Returns their ids and join times (epoch
        seconds), both in join order."""
        rng = self.rng
        now = self.now.timestamp()
        joined = sorted(now - rng.random() * JOIN_WINDOW_DAYS * DAY for _ in range(count))
        phones = rng.sample(range(10_000_000, 100_000_000), count)  # +316 and 8 digits
        cards: set[str] = set()
        ids: list[int] = []
        progress = Progress("members", count, self.stderr, self.show_progress)
        for start in range(0, count, self.batch):
            rows = []
            for index in range(start, min(start + self.batch, count)):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                at = dt.datetime.fromtimestamp(joined[index], tz=dt.UTC)
                has_email, has_phone = rng.random() < 0.7, rng.random() < 0.85
                if not has_email and not has_phone:
                    has_phone = True
                consent = rng.random() < 0.45
                rows.append(Membership(
                    shop=shop, card_number=self._card(cards), name=f"{first} {last}",
                    email=(f"{first}.{last}".lower().replace(" ", "") + f".{index}@example.com"
                           if has_email else ""),
                    phone=f"+316{phones[index]}" if has_phone else "",
                    birthday=dt.date(rng.randint(1945, 2008), rng.randint(1, 12),
                                     rng.randint(1, 28)) if rng.random() < 0.6 else None,
                    language=Language.NL if rng.random() < 0.85 else Language.EN,
                    marketing_consent=consent, marketing_consent_at=at if consent else None,
                    source=rng.choice((MembershipSource.COUNTER, MembershipSource.COUNTER,
                                       MembershipSource.PUBLIC_PAGE, MembershipSource.IMPORT)),
                    joined_at=at,
                ))
            self._cards_free(rows, cards)
            created = Membership.objects.bulk_create(rows)
            ids.extend(bulk.pks(Membership, created))
            progress.advance(len(rows))
        progress.finish()
        return ids, joined

    def _card(self, cards: set[str]) -> str:
        from members.services import card_number_new

        while True:
            card = card_number_new()
            if card not in cards:
                cards.add(card)
                return card

    def _cards_free(self, rows: list[Membership], cards: set[str]) -> None:
        """Draw again for card numbers another shop holds already (card numbers are unique
        across shops; a collision is rare but certain at scale)."""
        taken = set(Membership.objects.filter(
            card_number__in=[row.card_number for row in rows]
        ).values_list("card_number", flat=True))
        for row in rows:
            if row.card_number in taken:
                row.card_number = self._card(cards)

    # --- Purchases -------------------------------------------------------------------------

    def _purchases(self, shop: Shop, rules: ProgramRules, member_ids: list[int],
                   joined: list[float], count: int) -> int:
        """``count`` purchases over the last year in time order; ~85% with a card of a member
        who had joined by then. Returns how many earned points."""
        rng = self.rng
        now = self.now.timestamp()
        times = sorted(now - rng.random() * PURCHASE_WINDOW_DAYS * DAY for _ in range(count))
        pending = dt.timedelta(days=rules.pending_days)
        points_by_cents: dict[int, int] = {}
        earned_total = 0
        progress = Progress("purchases", count, self.stderr, self.show_progress)
        for start in range(0, count, self.batch):
            purchases = []
            for index in range(start, min(start + self.batch, count)):
                at_ts = times[index]
                eligible = bisect.bisect_right(joined, at_ts)
                member_id = None
                if eligible and rng.random() < SHARE_WITH_CARD:
                    member_id = member_ids[int(rng.random() * eligible)]
                cents = rng.randint(200, 8_000)
                amount = Decimal(cents).scaleb(-2)
                points = 0
                if member_id is not None:
                    points = points_by_cents.get(cents)
                    if points is None:
                        points = points_by_cents[cents] = points_for_amount(rules=rules,
                                                                            amount=amount)
                at = dt.datetime.fromtimestamp(at_ts, tz=dt.UTC)
                purchases.append(Purchase(
                    shop_id=shop.pk, membership_id=member_id, amount=amount,
                    currency=shop.currency, reference=f"S-{index + 1:07d}", rules_id=rules.pk,
                    points_earned=points, points_available_at=at + pending, created_at=at,
                ))
            earned_total += bulk.purchases_write(purchases)
            progress.advance(len(purchases))
        progress.finish()
        return earned_total

    def _balances(self, shop: Shop) -> None:
        """Each member's cached balance is the sum of their ledger entries."""
        started = time.monotonic()
        bulk.balances_from_ledger(shop)
        if self.show_progress:
            self.stderr.write(f"balances   set in {time.monotonic() - started:.1f} s",
                              style_func=lambda s: s)
