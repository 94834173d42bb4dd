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


# --- The member changes their birthday on the portal ----------------------------------------


@pytest.fixture
def portal_member(client, bakery):
    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory()
    member = MembershipFactory(shop=bakery, user=user, email=user.email, language="en",
                               birthday=dt.date(1990, 3, 17),
                               birthday_set_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    client.force_login(user)
    return member


def birthday_url(shop):
    return reverse("portal:birthday", args=[shop.slug])


def test_the_card_links_to_the_birthday_page(client, bakery, portal_member):
    content = client.get(reverse("portal:card", args=[bakery.slug])).content.decode()
    assert birthday_url(bakery) in content
    page = client.get(birthday_url(bakery)).content.decode()
    assert "On your birthday Bakkerij Zon gives you 250 points." in page
    assert 'value="1990-03-17"' in page
    client.cookies["django_language"] = "nl"  # a date input reads ISO only, in every language
    assert 'value="1990-03-17"' in client.get(birthday_url(bakery)).content.decode()


def test_changing_the_birthday_far_ahead_counts_this_year(client, bakery, portal_member):
    with time_machine.travel(NOON, tick=False):  # 1 June
        response = client.post(birthday_url(bakery), {"birthday": "1990-09-01"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:card", args=[bakery.slug])
    content = response.content.decode()
    assert "Your birthday is saved." in content
    assert "starts next year" not in content
    portal_member.refresh_from_db()
    assert portal_member.birthday == dt.date(1990, 9, 1)
    assert portal_member.birthday_set_at == NOON


def test_changing_it_to_a_day_too_close_is_told_and_counts_from_next_year(client, bakery,
                                                                         portal_member):
    with time_machine.travel(NOON, tick=False):  # 1 June; 10 June is 9 days away
        content = client.post(birthday_url(bakery), {"birthday": "1990-06-10"},
                              follow=True).content.decode()
    assert "Your birthday gift starts next year" in content
    assert 'message-warning' in content
    with time_machine.travel(dt.datetime(2026, 6, 10, 10, tzinfo=dt.UTC), tick=False):
        bakery.refresh_from_db()
        assert loyalty_services.birthday_gifts_give(shop=bakery).given == 0
    with time_machine.travel(dt.datetime(2027, 6, 10, 10, tzinfo=dt.UTC), tick=False):
        bakery.refresh_from_db()
        assert loyalty_services.birthday_gifts_give(shop=bakery).given == 1


def test_changing_it_after_a_gift_earns_no_second_gift_within_365_days(client, bakery,
                                                                      portal_member):
    with time_machine.travel(dt.datetime(2026, 3, 17, 10, tzinfo=dt.UTC), tick=False):
        bakery.refresh_from_db()
        assert loyalty_services.birthday_gifts_give(shop=bakery).given == 1
        client.post(birthday_url(bakery), {"birthday": "1990-08-01"})  # far enough ahead
    with time_machine.travel(dt.datetime(2026, 8, 1, 10, tzinfo=dt.UTC), tick=False):
        bakery.refresh_from_db()
        assert loyalty_services.birthday_gifts_give(shop=bakery).given == 0
    with time_machine.travel(dt.datetime(2027, 8, 1, 10, tzinfo=dt.UTC), tick=False):
        bakery.refresh_from_db()
        assert loyalty_services.birthday_gifts_give(shop=bakery).given == 1
    portal_member.refresh_from_db()
    assert portal_member.points_balance == 500


def test_removing_the_birthday(client, bakery, portal_member):
    content = client.post(birthday_url(bakery), {"birthday": ""}, follow=True).content.decode()
    assert "Your birthday is removed." in content
    portal_member.refresh_from_db()
    assert (portal_member.birthday, portal_member.birthday_set_at) == (None, None)


def test_saving_the_same_birthday_changes_nothing(client, bakery, portal_member):
    before = portal_member.birthday_set_at
    client.post(birthday_url(bakery), {"birthday": "1990-03-17"})
    portal_member.refresh_from_db()
    assert portal_member.birthday_set_at == before  # the notice clock does not restart


@pytest.mark.parametrize(("value", "message"), [
    ("2999-01-01", "The birthday cannot be in the future."),
    ("1850-01-01", "Enter a birthday after 1900."),
    ("17-03-1990x", "Enter a valid date."),
])
def test_a_bad_birthday_is_refused_and_nothing_changes(client, bakery, portal_member, value,
                                                       message):
    response = client.post(birthday_url(bakery), {"birthday": value})
    assert response.status_code == 200
    assert message in response.content.decode()
    portal_member.refresh_from_db()
    assert portal_member.birthday == dt.date(1990, 3, 17)


def test_the_birthday_page_is_the_members_own(client, bakery, portal_member):
    other = ShopFactory(slug="elders")
    assert client.get(birthday_url(other)).status_code == 404
    client.logout()
    assert client.get(birthday_url(bakery)).status_code == 302  # to the sign-in page
