"""The members' side of birthday gifts: entering a birthday records when (birthday_set_at), the
member is told when it counts, the public page promises a gift only when the shop gives one,
and the portal's history names the gift."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from loyalty import services as loyalty_services
from loyalty.models import Membership
from members import selectors, services
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db
NOON = dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC)  # 12:00 in Amsterdam


@pytest.fixture
def bakery(db):
    shop = ShopFactory(name="Bakkerij Zon", slug="bakkerij-zon", language="en")
    loyalty_services.program_rules_update(shop=shop, by=None, birthday_points=250)
    return shop


def test_enrolment_records_when_the_birthday_was_set(bakery):
    with time_machine.travel(NOON, tick=False):
        with_birthday = services.member_enrol(shop=bakery, name="An", phone="0612345678",
                                              birthday=dt.date(1990, 8, 1))
        without = services.member_enrol(shop=bakery, name="Bo", phone="0612345679")
    assert with_birthday.birthday_set_at == NOON
    assert without.birthday_set_at is None


@pytest.mark.parametrize(("birthday", "told"), [
    (dt.date(1990, 6, 20), True),   # in 19 days: from next year
    (dt.date(1990, 6, 30), True),   # in 29 days
    (dt.date(1990, 7, 1), False),   # in 30 days: this year's counts
    (dt.date(1990, 5, 1), False),   # passed: the next one (next year) counts
])
def test_the_member_is_told_when_the_gift_starts(bakery, birthday, told):
    notice = selectors.birthday_notice(shop=bakery, birthday=birthday, set_at=NOON)
    assert (notice is not None) == told
    if told:
        assert notice.startswith("Your birthday gift starts next year")


def test_no_notice_without_a_gift(db):
    shop = ShopFactory()
    assert selectors.birthday_notice(shop=shop, birthday=dt.date(1990, 6, 5), set_at=NOON) is None


def test_joining_from_the_public_page_tells_it(client, bakery):
    with time_machine.travel(NOON, tick=False):
        response = client.post(f"/s/{bakery.slug}/", {
            "name": "Cas", "phone": "0612345670", "birthday": "1990-06-10"}, follow=True)
    assert "Your birthday gift starts next year" in response.content.decode()
    assert Membership.objects.get(shop=bakery).birthday_set_at == NOON


def test_the_counter_tells_it_too(client, bakery):
    from tests.factories import StaffMemberFactory, UserFactory

    user = UserFactory()
    StaffMemberFactory(shop=bakery, user=user)
    client.force_login(user)
    with time_machine.travel(NOON, tick=False):
        response = client.post(reverse("counter_enrol", args=[bakery.slug]), {
            "phone": "0612345671", "birthday": "1990-06-10"}, follow=True)
    assert "Your birthday gift starts next year" in response.content.decode()


def test_the_public_page_promises_the_gift_only_when_there_is_one(client, bakery):
    other = ShopFactory(slug="geen-cadeau")
    content = client.get(f"/s/{bakery.slug}/").content.decode()
    assert "On your birthday you get 250 points." in content
    assert "A birthday within the next 30 days counts from next year." in content
    plain = client.get(f"/s/{other.slug}/").content.decode()
    assert "on your birthday" not in plain.lower()
    loyalty_services.program_rules_update(shop=bakery, by=None, birthday_points=0)
    bakery.refresh_from_db()
    assert "on your birthday" not in client.get(f"/s/{bakery.slug}/").content.decode().lower()


def test_the_portal_history_names_the_birthday_gift(client, bakery):
    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory()
    member = MembershipFactory(shop=bakery, user=user, email=user.email,
                               birthday=dt.date(1990, 6, 15))
    with time_machine.travel(dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC), tick=False):
        bakery.refresh_from_db()
        loyalty_services.birthday_gifts_give(shop=bakery)
    client.force_login(user)
    content = client.get(reverse("portal:card", args=[bakery.slug])).content.decode()
    assert "Birthday gift" in content
    assert "+250" in content
    member.refresh_from_db()
    assert member.points_balance == 250
