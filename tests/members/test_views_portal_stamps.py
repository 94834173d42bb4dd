"""The portal of a shop that runs a stamp card (members/views/portal.py): the card, the list
of cards and "How it works" show stamps (7 of 10), never a points number or a money value; and
the portal pages carry the shop's colours."""

from __future__ import annotations

import re

import pytest

from loyalty.services import program_rules_current
from tests.factories import MembershipFactory, ShopFactory, UserFactory
from tests.helpers import signed_in, text
from tests.members.stamp_shops import stamp_card_start, stamps_give

pytestmark = pytest.mark.django_db


@pytest.fixture
def cafe(db):
    return ShopFactory(name="Café Kop", slug="cafe-kop", language="en", brand_color="#0f766e")


@pytest.fixture
def regular(cafe):
    """A member of the café with 7 stamps on a card of 10."""
    user = UserFactory(email="vaste.klant@example.com")
    member = MembershipFactory(shop=cafe, user=user, email=user.email, name="Vera Vast")
    stamp_card_start(cafe, stamps_per_card=10, reward="a free coffee")
    stamps_give(cafe, member, 7)
    return member


def test_the_card_shows_stamps_not_points(regular, cafe):
    content = text(signed_in(regular.user).get(f"/portal/{cafe.slug}/"))

    card = content.split('<div class="member-card"')[1].split('<div class="qr-box">')[0]
    assert "7 of 10 stamps" in card
    assert card.count('class="stamp stamped"') == 7
    assert card.count('class="stamp"') == 3
    assert 'class="points"' not in card
    assert "worth" not in card
    assert "€" not in card
    assert "Show this code at the counter to collect stamps." in content
    assert "Your stamps history" in content


def test_a_full_card_says_what_to_hand_out(regular, cafe):
    stamps_give(cafe, regular, 4)  # 11: one full card and one stamp on the next
    content = text(signed_in(regular.user).get(f"/portal/{cafe.slug}/"))
    assert "1 of 10 stamps" in content
    assert "Full card: a free coffee to hand out." in content


def test_how_it_works_shows_the_members_stamps(regular, cafe):
    response = signed_in(regular.user).get(f"/portal/{cafe.slug}/how-it-works/")
    assert response.status_code == 200
    content = text(response)
    assert "7 of 10 stamps" in content
    assert "A stamp for every purchase from €3; 10 stamps give a free coffee." in content


def test_a_points_shop_card_still_shows_points_and_money(cafe):
    program_rules_current(shop=cafe)
    user = UserFactory()
    member = MembershipFactory(shop=cafe, user=user, email=user.email)
    stamps_give(cafe, member, 250)
    content = text(signed_in(user).get(f"/portal/{cafe.slug}/"))
    assert '<div class="points">250</div>' in content
    assert "worth €2.50" in content
    assert "stamp-card" not in content


def test_the_list_of_cards_shows_stamps_for_the_stamp_shop_only(regular, cafe):
    bakery = ShopFactory(name="Bakkerij Zon", slug="bakkerij-zon")
    elsewhere = MembershipFactory(shop=bakery, user=regular.user, email=regular.email)
    stamps_give(bakery, elsewhere, 1500)

    content = text(signed_in(regular.user).get("/portal/"))

    cafe_card, bakery_card = (
        content.split(f'href="/portal/{slug}/"')[1].split("</a>")[0]
        for slug in (cafe.slug, bakery.slug))
    assert "7 of 10 stamps" in cafe_card
    assert 'class="points"' not in cafe_card
    assert '<div class="points">1,500</div>' in bakery_card
    assert "stamp" not in bakery_card
    # Each card in its shop's colours.
    assert "theme-cafe-kop" in content and "theme-bakkerij-zon" in content
    assert len(re.findall(r'<link rel="stylesheet" href="/s/[^"]+/theme\.css', content)) == 2


@pytest.mark.parametrize("path", ["", "how-it-works/"])
def test_portal_pages_carry_the_shops_colours(regular, cafe, path):
    content = text(signed_in(regular.user).get(f"/portal/{cafe.slug}/{path}"))
    assert f'<link rel="stylesheet" href="/s/{cafe.slug}/theme.css?v=' in content
    assert f'class="container shop-themed theme-{cafe.slug}"' in content


def test_the_history_counts_stamps_not_points(regular, cafe):
    content = text(signed_in(regular.user).get(f"/portal/{cafe.slug}/"))
    history = content.split("Your stamps history")[1]
    assert "+7 stamps" in history
    assert " point" not in history
