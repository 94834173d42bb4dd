"""Run the expiry night now: expire the lots whose terms have run out (all shops, or one)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from loyalty import services
from loyalty.models import Shop


class Command(BaseCommand):
    help = ("Expire points whose terms have run out, as each shop's local day says; safe to run "
            "again (points expire once).")

    def add_arguments(self, parser):
        parser.add_argument("--shop", help="the shop's slug (default: every shop)")
        parser.add_argument("--remind", action="store_true",
                            help="also write the reminders 30 and 7 days before")

    def handle(self, *args, **options):
        shop_ids = None
        if options["shop"]:
            shop = Shop.objects.filter(slug=options["shop"]).first()
            if shop is None:
                raise CommandError(f"No shop with the slug {options['shop']!r}.")
            shop_ids = [shop.pk]
        rows = services.points_expire(shop_ids=shop_ids)
        self.stdout.write(
            f"Expired {sum(r['points'] for r in rows)} points in {sum(r['lots'] for r in rows)} "
            f"lots on {sum(r['cards'] for r in rows)} cards ({len(rows)} shops).")
        if options["remind"]:
            reminded = services.points_expiring_remind(shop_ids=shop_ids)
            self.stdout.write(f"Wrote {sum(r['reminders'] for r in reminded)} reminders.")
