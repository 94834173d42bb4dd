"""Create an API key for a shop's till or webshop and print it (it is shown only this once)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from loyalty import services
from loyalty.models import ApiKeyScope, Shop


class Command(BaseCommand):
    help = "Create an API key; prints the key."

    def add_arguments(self, parser):
        parser.add_argument("--shop", required=True, help="the shop's slug")
        parser.add_argument("--name", required=True, help="e.g. till-1")
        parser.add_argument("--scope", default=ApiKeyScope.TILL, help="till (default) or manage")

    def handle(self, *args, **options):
        shop = Shop.objects.filter(slug=options["shop"]).first()
        if shop is None:
            raise CommandError(f"No shop with the slug {options['shop']!r}.")
        try:
            _api_key, raw_key = services.api_key_create(
                shop=shop, name=options["name"], scope=options["scope"]
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(raw_key)
