"""Check the donation ledger: closed statements = the sums of their month's lines (the count:
its gifts), every line of a closed month in a statement of its charity and month and none
written after the close, no gift taken back more than it gave, every line in its shop's
currency."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from charity import selectors
from charity.models import Statement
from loyalty.models import Shop


class Command(BaseCommand):
    help = "Compare the charities' statements with the donation ledger; exit 1 on any mismatch."

    def add_arguments(self, parser):
        parser.add_argument("--shop", help="the shop's slug (default: every shop)")

    def handle(self, *args, **options):
        shop = None
        if options["shop"]:
            shop = Shop.objects.filter(slug=options["shop"]).first()
            if shop is None:
                raise CommandError(f"No shop with the slug {options['shop']!r}.")
        statements = Statement.objects.filter(shop=shop) if shop else Statement.objects.all()
        checked = statements.count()
        problems = selectors.donations_reconcile(shop=shop)
        for problem in problems:
            self.stdout.write(f"MISMATCH {problem}")
        if problems:
            raise CommandError(f"{len(problems)} problem(s) in the donation ledger.")
        self.stdout.write(self.style.SUCCESS(
            f"All {checked} statements match the donation ledger."))
