"""The charity panel of the owner's page of a member (settings.TROUW_DASHBOARD_MEMBER_PANELS):
whom the member gives to, what they gave, their gifts of points (which the owner takes back
from here) and their choices."""

from __future__ import annotations

import datetime as dt
import re

import time_machine
from django.urls import reverse

from charity import services
from charity.models import ChoiceSource, Donation
from loyalty import services as loyalty_services
from loyalty.models import Membership, Shop
from tests.factories import MembershipFactory, ShopFactory
from tests.helpers import text

from .conftest import VALID_RSIN, charity_add, program_set

NOVEMBER = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def panel(client, shop, card):
    return client.get(reverse("charity_member_panel", args=[shop.slug, card.card_number]))


def test_the_member_page_loads_the_charity_panel(owner_client, shop):
    card = MembershipFactory(shop=shop)
    page = owner_client.get(reverse("dashboard:member", args=[shop.slug, card.card_number]))
    assert reverse("charity_member_panel", args=[shop.slug, card.card_number]) in text(page)


def test_the_panel_says_whom_the_member_gives_to_and_what_they_gave(owner_client, shop):
    food = charity_add(shop, "Voedselbank", registration_kind="anbi",
                       registration_number=VALID_RSIN)
    trees = charity_add(shop, "Bomen")
    program_set(shop, points_per_unit=100)
    card = MembershipFactory(shop=shop)
    loyalty_services.points_credit(shop=shop, membership_id=card.pk, points=500,
                                   kind="adjust", note="start")
    before = text(panel(owner_client, shop, card))
    assert "until the customer picks one" in before and "Nothing given yet." in before
    with time_machine.travel(NOVEMBER, tick=False):
        loyalty_services.purchase_record(shop=Shop.objects.get(pk=shop.pk), amount="49.50",
                                         membership_id=card.pk, extras={"round_up": True})
        services.membership_charity_choose(membership=card, charity_id=trees.pk,
                                           source=ChoiceSource.COUNTER)
        services.points_donate(shop=shop, membership_id=card.pk, points=200)
    page = text(panel(owner_client, shop, card))
    assert "Gives to <strong>Bomen</strong> (the customer's choice)." in page
    # The purchase before the choice gave to the default; the points after it to the choice.
    cells = re.sub(r' data-label="[^"]*"', "", page)  # each value's column name, for phones
    assert ("<tr><td>Voedselbank</td><td>€0.99</td><td>€0.50</td><td>€0.00</td>"
            "<td><strong>€1.49</strong></td></tr>") in cells
    assert ("<tr><td>Bomen</td><td>€0.00</td><td>€0.00</td><td>€2.00</td>"
            "<td><strong>€2.00</strong></td></tr>") in cells
    assert "Bomen · At the counter" in page
    assert "Points given by the member" in page and "Take back" in page
    assert food.pk != trees.pk


def test_the_owner_takes_back_a_gift_of_points_from_the_member_page(owner_client, shop):
    charity_add(shop, "Voedselbank", registration_kind="anbi", registration_number=VALID_RSIN)
    program_set(shop, points_per_unit=100)
    card = MembershipFactory(shop=shop)
    loyalty_services.points_credit(shop=shop, membership_id=card.pk, points=500,
                                   kind="adjust", note="start")
    [gift] = services.points_donate(shop=shop, membership_id=card.pk, points=200)
    assert Membership.objects.get(pk=card.pk).points_balance == 300
    response = owner_client.post(
        reverse("charity_points_gift_reverse", args=[shop.slug, gift.pk]),
        {"reason": "by mistake", "back": "member"})
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:member",
                                           args=[shop.slug, card.card_number])
    assert Membership.objects.get(pk=card.pk).points_balance == 500
    assert Donation.objects.filter(reverses=gift).count() == 1
    assert "taken back" in text(panel(owner_client, shop, card))


def test_the_panel_is_empty_for_a_shop_without_the_program(owner_client, shop):
    card = MembershipFactory(shop=shop)
    page = text(panel(owner_client, shop, card))
    assert 'id="member-charity" hidden' in page and "Gives to" not in page


def test_another_shops_member_and_staff_are_refused(owner_client, shop, client, staff_user):
    other = MembershipFactory(shop=ShopFactory())
    assert panel(owner_client, shop, other).status_code == 404
    client.force_login(staff_user)
    assert panel(client, shop, MembershipFactory(shop=shop)).status_code in {403, 404}
