"""load_demo: the demo shops of `make run`."""

from __future__ import annotations

from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command

from demo.management.commands import load_demo
from loyalty.models import Membership, Shop, StaffMember, StaffRole, User


def _demo_counts():
    return {
        "shops": Shop.objects.count(),
        "users": User.objects.count(),
        "staff": StaffMember.objects.count(),
        "members": Membership.objects.count(),
        "addresses": EmailAddress.objects.count(),
    }


@pytest.mark.django_db
class TestLoadDemo:
    def test_creates_the_demo_shop_its_people_and_members(self):
        out = StringIO()
        call_command("load_demo", stdout=out)

        shop = Shop.objects.get(slug=load_demo.DEMO_SLUG)
        assert (shop.currency, shop.language) == ("EUR", "nl")
        roles = dict(StaffMember.objects.filter(shop=shop).values_list("user__email", "role"))
        assert roles == {load_demo.OWNER_EMAIL: StaffRole.OWNER,
                         load_demo.STAFF_EMAIL: StaffRole.STAFF}
        for email in (load_demo.OWNER_EMAIL, load_demo.STAFF_EMAIL, load_demo.MEMBER_EMAIL):
            user = User.objects.get(email=email)
            assert user.check_password(load_demo.DEMO_PASSWORD), email
            assert EmailAddress.objects.filter(user=user, email=email, verified=True).exists()
        sanne = Membership.objects.get(shop=shop, user__email=load_demo.MEMBER_EMAIL)
        assert sanne.email == load_demo.MEMBER_EMAIL
        # 36 demo customers plus Sanne, the member with a login.
        assert Membership.objects.filter(shop=shop).count() == 37
        assert Membership.objects.filter(shop=shop, user__isnull=True).count() == 36
        assert _demo_counts() == {
            "shops": 1, "users": 3, "staff": 2, "members": 37, "addresses": 3}
        assert f"/s/{load_demo.DEMO_SLUG}/" in out.getvalue()
        assert load_demo.DEMO_PASSWORD in out.getvalue()

    def test_running_it_twice_creates_nothing_new(self):
        call_command("load_demo", stdout=StringIO())
        first = _demo_counts()
        cards = set(Membership.objects.values_list("card_number", flat=True))

        call_command("load_demo", stdout=StringIO())

        assert _demo_counts() == first
        assert set(Membership.objects.values_list("card_number", flat=True)) == cards

    def test_the_number_of_members_can_be_chosen(self):
        call_command("load_demo", "--members", "5", stdout=StringIO())
        assert Membership.objects.count() == 6
        call_command("load_demo", "--members", "8", stdout=StringIO())
        assert Membership.objects.count() == 9
