"""Check every membership: cached balance = sum of ledger entries = points remaining in lots."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from loyalty import selectors
from loyalty.models import Membership, Shop


class Command(BaseCommand):
    help = "Compare cached balances with the ledger and the lots; exit 1 on any mismatch."

    def add_arguments(self, parser):
        parser.add_argument("--shop", help="the shop's slug (default: every shop)")

    def handle(self, *args, **options):
        shop = None
        if options["shop"]:
            shop = Shop.objects.filter(slug=options["shop"]).first()
            if shop is None:
                raise CommandError(f"No shop with the slug {options['shop']!r}.")
        checked = Membership.objects.filter(shop=shop).count() if shop else (
            Membership.objects.count()
        )
        mismatches = selectors.ledger_mismatches(shop=shop)
        for row in mismatches:
            self.stdout.write(
                f"MISMATCH shop={row['shop']} card={row['card_number']} "
                f"balance={row['balance']} ledger={row['ledger']} lots={row['lots']}"
            )
        if mismatches:
            raise CommandError(f"{len(mismatches)} of {checked} memberships do not reconcile.")
        self.stdout.write(self.style.SUCCESS(f"All {checked} memberships reconcile."))
