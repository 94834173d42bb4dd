"""Load the demo shop for `make run`: a Dutch bakery with its owner, a staff member and members.

Safe to run again: it finds what exists and adds nothing twice.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction

from demo.people import FIRST_NAMES, LAST_NAMES
from loyalty import services
from loyalty.models import (
    Membership,
    MembershipSource,
    ProgramRules,
    Purchase,
    Shop,
    StaffMember,
    StaffRole,
    User,
)

DEMO_SLUG = "bakkerij-de-gouden-korst"
DEMO_PASSWORD = "trouw-demo-2026"
OWNER_EMAIL = "anneke@goudenkorst.example"
STAFF_EMAIL = "daan@goudenkorst.example"
MEMBER_EMAIL = "sanne.visser@example.com"

class Command(BaseCommand):
    help = "Create (or find) the demo bakery and print its logins."

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=36)

    @transaction.atomic
    def handle(self, *args, **options):
        from members.services import member_enrol

        owner = self._user(OWNER_EMAIL, "Anneke de Groot")
        staff = self._user(STAFF_EMAIL, "Daan Bakker")
        shop = Shop.objects.filter(slug=DEMO_SLUG).first()
        if shop is None:
            shop = services.shop_create(
                owner=owner, name="Bakkerij De Gouden Korst", slug=DEMO_SLUG, currency="EUR",
                language="nl", time_zone="Europe/Amsterdam", email="hallo@goudenkorst.example",
                phone="+31 20 123 4567", address="Westerstraat 112, 1015 MN Amsterdam",
                website="https://goudenkorst.example",
            )
        StaffMember.objects.get_or_create(shop=shop, user=staff,
                                          defaults={"role": StaffRole.STAFF})
        if not ProgramRules.objects.filter(shop=shop).exists():
            services.program_rules_update(
                shop=shop, by=owner, points_per_unit=10, signup_bonus=50,
                steps=[{"min_amount": "25.00", "points": 300}], steps_replace_rate=False,
                points_per_currency_value=100,
            )

        member_user = self._user(MEMBER_EMAIL, "Sanne Visser")
        if not Membership.objects.filter(shop=shop, user=member_user).exists():
            member_enrol(shop=shop, user=member_user, name="Sanne Visser", email=MEMBER_EMAIL,
                         phone="+31612345601", birthday=dt.date(1991, 4, 12),
                         marketing_consent=True, language="nl")

        rng = random.Random(2026)  # the same demo members every time
        for index in range(options["members"]):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            phone = f"+3161234{5700 + index:04d}"
            if Membership.objects.filter(shop=shop, phone=phone).exists():
                continue
            email = ""
            if rng.random() < 0.7:
                email = f"{first}.{last}".lower().replace(" ", "") + f"{index}@example.com"
            member_enrol(
                shop=shop, name=f"{first} {last}", email=email, phone=phone,
                birthday=dt.date(rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28))
                if rng.random() < 0.6 else None,
                marketing_consent=rng.random() < 0.5, language="nl",
                source=rng.choice([MembershipSource.COUNTER, MembershipSource.PUBLIC_PAGE]),
            )

        if not Purchase.objects.filter(shop=shop).exists():
            self._purchases(shop, staff, rng)

        self.stdout.write(self.style.SUCCESS(f"Demo shop: {shop.name} — /s/{shop.slug}/"))
        self.stdout.write(f"  password for every demo login: {DEMO_PASSWORD}")
        self.stdout.write(f"  owner  {OWNER_EMAIL}  → http://127.0.0.1:8000/dashboard/")
        self.stdout.write(f"  staff  {STAFF_EMAIL}  → http://127.0.0.1:8000/counter/")
        self.stdout.write(f"  member {MEMBER_EMAIL}  → http://127.0.0.1:8000/portal/")

    def _purchases(self, shop: Shop, staff: User, rng: random.Random) -> None:
        """A few purchases per member, and some without a card, through the real engine."""
        baskets = [Decimal("3.45"), Decimal("4.80"), Decimal("7.25"), Decimal("12.60"),
                   Decimal("18.90"), Decimal("27.50"), Decimal("34.15")]
        receipt = 1000
        for membership in Membership.objects.filter(shop=shop).order_by("pk"):
            for _n in range(rng.randint(1, 4)):
                receipt += 1
                services.purchase_record(
                    shop=shop, amount=rng.choice(baskets), membership_id=membership.pk,
                    reference=f"R-{receipt}", recorded_by=staff,
                )
        for _n in range(10):
            receipt += 1
            services.purchase_record(shop=shop, amount=rng.choice(baskets),
                                     reference=f"R-{receipt}", recorded_by=staff)

    def _user(self, email: str, name: str) -> User:
        from allauth.account.models import EmailAddress

        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=DEMO_PASSWORD, name=name)
            EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        return user
