"""Scripted set-up for operators: create a shop with its owner."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from loyalty import services
from loyalty.models import User


class Command(BaseCommand):
    help = "Create a shop and its owner; prints the shop's slug."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", required=True)
        parser.add_argument("--currency", required=True, help="EUR or SEK")
        parser.add_argument("--language", default="en", help="en, nl or sv")
        parser.add_argument("--timezone", default="Europe/Amsterdam")
        parser.add_argument("--owner-email", required=True)

    def handle(self, *args, **options):
        email = options["owner_email"].strip().lower()
        try:
            with transaction.atomic():
                owner = User.objects.filter(email__iexact=email).first()
                created_owner = owner is None
                if created_owner:
                    try:
                        validate_email(email)
                    except ValidationError:
                        raise ValidationError(
                            {"owner_email": ["Enter a valid e-mail address."]}
                        ) from None
                    owner = User.objects.create_user(email=email, password=None)
                shop = services.shop_create(
                    owner=owner, name=options["name"], slug=options["slug"],
                    currency=options["currency"].upper(), language=options["language"],
                    time_zone=options["timezone"],
                )
        except ValidationError as exc:
            lines = []
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    lines += [f"{field}: {message}" for message in errors]
            else:
                lines = exc.messages
            raise CommandError("; ".join(lines)) from None
        if created_owner:
            self.stderr.write(
                f"Created the owner login {email} without a password: they set one with "
                "'Forgot password' on the sign-in page."
            )
        self.stdout.write(shop.slug)
