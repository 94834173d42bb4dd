"""The member's levels: the current level, the progress in the member's terms (the shop's
currency, the language's number format), what each level gives, "You reached Zilver!"."""

from __future__ import annotations

import pytest
from django.urls import reverse

from loyalty.models import Membership
from loyalty.services import purchase_record
from tests.helpers import text

from .conftest import levels_set, reached

pytestmark = pytest.mark.django_db


def test_the_levels_page_shows_level_progress_and_perks(member_client, levels, member):
    purchase_record(shop=levels, amount="62.00", membership_id=member.pk)  # 620: Zilver
    page = member_client.get(reverse("portal_levels", args=[levels.slug]),
                             headers={"accept-language": "en"})
    body = text(page)
    assert page.status_code == 200
    assert reached("Zilver", levels, language=member.language) in body
    assert "380 points more to Goud" in body
    assert 'value="24"' in body  # (620 - 500) / (1000 - 500)
    assert "Free delivery" in body and "A coffee on your birthday" in body
    assert "×1.25 points on every purchase" in body


def test_the_card_shows_the_level_and_the_progress_in_money(member_client, shop, member):
    levels_set(shop, measure="amount", tiers=[
        {"name": "Zilver", "threshold": "50.00"}, {"name": "Goud", "threshold": "1500.00"}])
    purchase_record(shop=shop, amount="57.50", membership_id=member.pk)
    Membership.objects.filter(pk=member.pk).update(language="nl")
    card = member_client.get(reverse("portal:card", args=[shop.slug]))
    body = text(card)
    assert "Zilver" in body
    # The member's language is Dutch: € 1.442,50 (thousands with a point, cents with a comma).
    assert "€\xa01.442,50" in body
    assert reverse("portal_levels", args=[shop.slug]) in body


def test_without_levels_the_card_shows_none(member_client, shop, member):
    card = member_client.get(reverse("portal:card", args=[shop.slug]))
    assert 'id="level"' not in text(card)
    page = member_client.get(reverse("portal_levels", args=[shop.slug]))
    assert page.status_code == 200
    assert 'id="levels"' not in text(page)


def test_the_portal_says_what_keeps_the_level(member_client, shop, member):
    import datetime as dt
    import zoneinfo

    import time_machine

    ams = zoneinfo.ZoneInfo("Europe/Amsterdam")
    with time_machine.travel(dt.datetime(2026, 1, 2, 9, tzinfo=ams), tick=False):
        levels_set(shop, period="year")
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=ams), tick=False):
        purchase_record(shop=shop, amount="60.00", membership_id=member.pk)  # Zilver
        page = text(member_client.get(reverse("portal_levels", args=[shop.slug])))
        assert "Your level holds until at least 1 January 2028." in page
    with time_machine.travel(dt.datetime(2027, 6, 1, 12, tzinfo=ams), tick=False):
        purchase_record(shop=shop, amount="10.00", membership_id=member.pk)  # 100 + 25
        member_client.force_login(member.user)  # a year on: the session has expired
        page = text(member_client.get(reverse("portal_levels", args=[shop.slug])))
        assert ("Your level ends on 1 January 2028 unless you earn 375 points more."
                in page)
        assert reached("Zilver", shop, language=member.language) not in page  # a year ago
