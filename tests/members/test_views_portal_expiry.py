"""The portal tells a member what expires when ("120 points expire on 1 March", the day in the
shop's time zone, in the member's language and number format) and shows expired points in the
history in words; the counter shows the soonest batch too."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
import time_machine

from loyalty import services
from tests.factories import MembershipFactory, ShopFactory, UserFactory
from tests.helpers import signed_in, text
from tests.members.test_views_portal_points import card_url, entry_texts

pytestmark = pytest.mark.django_db
AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")


def expiring(content: str) -> list[str]:
    block = re.search(r'<ul class="expiring small" id="expiring">(.*?)</ul>', content, re.S)
    if block is None:
        return []
    return [" ".join(item.split()) for item in re.findall(r"<li>(.*?)</li>", block.group(1),
                                                           re.S)]


def page(member, url, when) -> str:
    """The page as the member sees it at ``when`` (signed in then: a session does not last
    for ever)."""
    with time_machine.travel(when, tick=False):
        client = signed_in(member.user)
        client.cookies["django_language"] = "en"
        return text(client.get(url))


def earn(shop, member, amount, when):
    with time_machine.travel(when, tick=False):
        services.purchase_record(shop=shop, amount=amount, membership_id=member.pk)


@pytest.fixture
def rules_12_months(shop):
    with time_machine.travel(dt.datetime(2025, 1, 1, 12, tzinfo=AMS), tick=False):
        services.program_rules_update(shop=shop, by=None, points_per_unit=10,
                                      expiry_policy="earned", expiry_months=12)


def test_the_card_says_what_expires_when(member_client, shop, member, rules_12_months):
    member_client.cookies["django_language"] = "en"
    earn(shop, member, "12.00", dt.datetime(2026, 3, 1, 10, tzinfo=AMS))
    earn(shop, member, "125.00", dt.datetime(2026, 3, 20, 10, tzinfo=AMS))
    content = page(member, card_url(shop), dt.datetime(2027, 1, 10, 12, tzinfo=AMS))
    assert expiring(content) == ["120 points expire on 1 March",
                                 "1,250 points expire on 20 March"]


def test_in_dutch_with_dutch_numbers_and_next_years_date(member_client, shop, member,
                                                         rules_12_months):
    member.language = "nl"
    member.save()
    earn(shop, member, "125.00", dt.datetime(2026, 3, 20, 10, tzinfo=AMS))
    with time_machine.travel(dt.datetime(2026, 4, 1, 12, tzinfo=AMS), tick=False):
        content = text(signed_in(member.user).get(card_url(shop)))
    # The texts are translated after merging (locale/); the number and the date are Dutch.
    [line] = expiring(content)
    assert "1.250" in line and "20 maart 2027" in line


def test_the_day_is_the_shops_not_the_servers(db):
    shop = ShopFactory(slug="auckland", time_zone="Pacific/Auckland")
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False):
        services.program_rules_update(shop=shop, by=None, points_per_unit=10,
                                      expiry_policy="earned", expiry_months=1)
    user = UserFactory(email="kiri@example.com")
    member = MembershipFactory(shop=shop, user=user, email=user.email, language="en")
    # 20:00 UTC on 10 March is 11 March in Auckland: the points go on 11 April there.
    earn(shop, member, "10.00", dt.datetime(2026, 3, 10, 20, tzinfo=dt.UTC))
    client = signed_in(user)
    client.cookies["django_language"] = "en"
    with time_machine.travel(dt.datetime(2026, 3, 11, tzinfo=dt.UTC), tick=False):
        assert expiring(text(client.get(card_url(shop)))) == ["100 points expire on 11 April"]


def test_inactivity_terms_say_a_purchase_keeps_them(member_client, shop, member):
    member_client.cookies["django_language"] = "en"
    with time_machine.travel(dt.datetime(2026, 1, 1, 12, tzinfo=AMS), tick=False):
        services.program_rules_update(shop=shop, by=None, points_per_unit=10,
                                      expiry_policy="inactive", expiry_months=3)
    earn(shop, member, "10.00", dt.datetime(2026, 1, 10, 10, tzinfo=AMS))
    with time_machine.travel(dt.datetime(2026, 2, 1, 12, tzinfo=AMS), tick=False):
        content = text(member_client.get(card_url(shop)))
    assert expiring(content) == [
        "100 points expire on 10 April unless you buy something before then"]


def test_nothing_said_without_expiry_and_after_it(member_client, shop, member, rules_12_months):
    member_client.cookies["django_language"] = "en"
    earn(shop, member, "10.00", dt.datetime(2026, 3, 1, 10, tzinfo=AMS))
    with time_machine.travel(dt.datetime(2027, 3, 1, 0, 30, tzinfo=AMS), tick=False):
        services.points_expire()
    content = page(member, card_url(shop), dt.datetime(2027, 3, 1, 0, 31, tzinfo=AMS))
    assert expiring(content) == []
    assert entry_texts(content)[0] == "Points expired"
    assert "-100 points" in content


def test_the_counter_shows_the_soonest_batch(staff_user, shop, member, rules_12_months):
    earn(shop, member, "12.00", dt.datetime(2026, 3, 1, 10, tzinfo=AMS))
    earn(shop, member, "5.00", dt.datetime(2026, 5, 1, 10, tzinfo=AMS))
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=AMS), tick=False):
        client = signed_in(staff_user)
        client.cookies["django_language"] = "en"
        content = text(client.get(f"/counter/{shop.slug}/members/{member.card_number}/"))
    lines = [" ".join(t.split()) for t in
             re.findall(r'<div class="small muted expiring">(.*?)</div>', content, re.S)]
    assert lines == ["120 points expire on 1 March 2027"]
