"""The member portal (members/views/portal.py): a customer's cards on their phone."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from django.utils.html import escape
from pytest_django.asserts import assertRedirects

from loyalty import services
from loyalty.models import EntryKind
from tests.factories import MembershipFactory, ShopFactory, UserFactory
from tests.helpers import signed_in, text

pytestmark = pytest.mark.django_db


# --- /portal/ --------------------------------------------------------------------------------


def test_index_with_one_card_redirects_to_it(member_client, shop):
    assertRedirects(member_client.get("/portal/"), f"/portal/{shop.slug}/")


def test_index_lists_several_cards(member, shop, other_shop):
    MembershipFactory(shop=other_shop, user=member.user, email=member.email)
    response = signed_in(member.user).get("/portal/")
    assert response.status_code == 200
    content = text(response)
    for s in (shop, other_shop):
        assert escape(s.name) in content
        assert f'href="/portal/{s.slug}/"' in content


def test_index_counts_one_point_and_many_points(member, shop, other_shop):
    elsewhere = MembershipFactory(shop=other_shop, user=member.user, email=member.email)
    services.points_credit(shop=shop, membership_id=member.pk, points=1,
                           kind=EntryKind.ADJUSTMENT)
    services.points_credit(shop=other_shop, membership_id=elsewhere.pk, points=1500,
                           kind=EntryKind.ADJUSTMENT)

    content = text(signed_in(member.user).get("/portal/"))

    assert '<div class="points">1</div><div>point</div>' in content
    assert '<div class="points">1,500</div><div>points</div>' in content


def test_index_shows_only_the_users_own_cards(member, shop, other_shop):
    MembershipFactory(shop=other_shop, user=member.user, email=member.email)
    stranger_shop = ShopFactory(name="Viswinkel West")
    MembershipFactory(shop=stranger_shop, user=UserFactory())
    content = text(signed_in(member.user).get("/portal/"))
    assert "Viswinkel West" not in content


def test_index_without_cards_shows_an_empty_state(client):
    client.force_login(UserFactory())
    response = client.get("/portal/")
    assert response.status_code == 200
    assert "You have no loyalty cards yet." in text(response)


def test_a_card_without_a_login_does_not_appear(client, shop):
    user = UserFactory(email="kees@example.com")
    MembershipFactory(shop=shop, user=None, email="kees@example.com")  # enrolled at the counter
    client.force_login(user)
    response = client.get("/portal/")
    assert response.status_code == 200
    assert "You have no loyalty cards yet." in text(response)


def test_index_needs_sign_in(client):
    response = client.get("/portal/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/portal/"


# --- a card ----------------------------------------------------------------------------------


def test_card_shows_name_number_points_and_qr_code(member_client, member, shop, owner):
    services.points_credit(shop=shop, membership_id=member.pk, points=150,
                           kind=EntryKind.ADJUSTMENT, note="welcome", actor_user=owner)

    response = member_client.get(f"/portal/{shop.slug}/")

    assert response.status_code == 200
    content = text(response)
    assert "Sanne Visser" in content
    grouped = member.card_number_display
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d", grouped)
    assert grouped in content
    assert re.search(r'class="points"[^>]*>\s*150\s*<', content)
    svg = re.search(r"<svg\b[^>]*>.*?</svg>", content, re.S)
    assert svg, "no inline SVG QR code"
    assert 'class="card-qr"' in svg.group(0)
    assert "<img" not in content.split('class="qr-box"')[1].split("</div>")[0]


def test_card_of_a_new_member_shows_zero_points(member_client, shop):
    content = text(member_client.get(f"/portal/{shop.slug}/"))
    assert re.search(r'class="points"[^>]*>\s*0\s*<', content)


def test_card_at_a_shop_where_the_user_is_no_member_is_404(member_client, other_shop):
    MembershipFactory(shop=other_shop, name="Someone Else")  # the shop has members, not this one
    response = member_client.get(f"/portal/{other_shop.slug}/")
    assert response.status_code == 404
    assert "Someone Else" not in text(response)


def test_card_at_an_unknown_shop_is_404(member_client):
    assert member_client.get("/portal/no-such-shop/").status_code == 404


def test_an_owner_without_a_card_gets_404(owner_client, shop, member):
    response = owner_client.get(f"/portal/{shop.slug}/")
    assert response.status_code == 404
    assert member.card_number_display not in text(response)


def test_another_users_card_is_never_shown(shop, member):
    other = UserFactory()
    MembershipFactory(shop=ShopFactory(), user=other)
    response = signed_in(other).get(f"/portal/{shop.slug}/")
    assert response.status_code == 404
    assert "Sanne Visser" not in text(response)


def test_card_needs_sign_in(client, shop, member):
    url = f"/portal/{shop.slug}/"
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={quote(url)}"


def test_history_names_the_reward_and_the_points_returned(member_client, member, shop, owner):
    from rewards import services as rewards_services
    from rewards.models import RewardKind

    services.points_credit(shop=shop, membership_id=member.pk, points=500,
                           kind=EntryKind.BONUS, actor_user=owner)
    reward = rewards_services.reward_create(
        shop=shop, name="Free cappuccino", kind=RewardKind.FREE_PRODUCT,
        product_name="Cappuccino", points_cost=300)
    voucher = rewards_services.voucher_claim(shop=shop, membership_id=member.pk,
                                             reward_id=reward.pk)
    rewards_services.voucher_cancel(shop=shop, voucher_id=voucher.pk, by=owner)

    content = text(member_client.get(f"/portal/{shop.slug}/"))

    entries = re.findall(r'class="entry-text">\s*(.*?)\s*</span>', content, re.S)
    assert entries[:2] == ["Points returned: Free cappuccino", "Free cappuccino"]
    assert "Correction" not in content
