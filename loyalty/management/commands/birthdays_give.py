"""Give the birthday gifts that are due now, as the hourly task does: every shop whose clock shows
06:00 or later, or one shop. Safe to run any number of times."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from loyalty import services
from loyalty.models import Shop


class Command(BaseCommand):
    help = "Give the birthday gifts due now (every shop past 06:00 local time, or --shop)."

    def add_arguments(self, parser):
        parser.add_argument("--shop", help="the shop's slug (default: every shop)")

    def handle(self, *args, **options):
        shop_id = None
        if options["shop"]:
            shop = Shop.objects.filter(slug=options["shop"]).first()
            if shop is None:
                raise CommandError(f"No shop with the slug {options['shop']!r}.")
            shop_id = shop.pk
        runs = services.birthdays_give_all(shop_id=shop_id)
        for run in runs:
            self.stdout.write(f"shop {run.shop_id} ({run.local_date}): {run.given} gifts given, "
                              f"{run.points} points, {run.emails} e-mails, "
                              f"{run.seconds:.2f} s")
        if not runs:
            self.stdout.write("No shop is past 06:00 on its clock yet: nothing is due.")
