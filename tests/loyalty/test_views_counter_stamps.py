"""Stamp cards at the counter (loyalty/views/counter.py and services.stamp_card_redeem): the
panel shows "7 of 10 stamps" instead of points and money, a purchase says "+1 stamp", and a
full card is handed out after a confirmation, once."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils.html import escape
from pytest_django.asserts import assertRedirects

from loyalty import services
from loyalty.models import EntryKind, LedgerEntry, ProgramKind, ProgramRules, Shop
from tests.helpers import balance, signed_in, text

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


def stamp_card(shop, *, stamps=10, reward="a free coffee", minimum="3.00") -> ProgramRules:
    """The shop's rules become a stamp card: one stamp (a point) per purchase from ``minimum``
    (a one-step rule, as the dashboard stores it)."""
    latest = ProgramRules.objects.filter(shop=shop).order_by("-version").first()
    rules = ProgramRules.objects.create(
        shop=shop, version=(latest.version + 1) if latest else 1, program=ProgramKind.STAMPS,
        stamps_per_card=stamps, stamp_reward=reward, points_per_unit=0,
        steps=[{"min_amount": minimum, "points": 1}], steps_replace_rate=True)
    Shop.objects.filter(pk=shop.pk).update(current_rules=rules)
    shop.current_rules = rules
    return rules


def give_stamps(shop, membership, count: int) -> None:
    for n in range(count):
        services.purchase_record(shop=shop, amount="4.50", membership_id=membership.pk,
                                 idempotency_key=f"stamp:{membership.pk}:{n}")


def member_url(shop, membership) -> str:
    return f"/counter/{shop.slug}/members/{membership.card_number}/"


def stamp_url(shop, membership) -> str:
    return f"/counter/{shop.slug}/members/{membership.card_number}/stamp-card/"


def token_of(content: str) -> str:
    match = re.search(r'<input type="hidden" name="token" value="([0-9a-f]{32})"', content)
    assert match
    return match.group(1)


@pytest.fixture
def card(shop):
    return stamp_card(shop)


# --- the service --------------------------------------------------------------------------


def test_a_full_card_is_handed_out_as_one_redemption(shop, member, card, staff_user):
    give_stamps(shop, member, 12)

    entry = services.stamp_card_redeem(shop=shop, membership_id=member.pk, by=staff_user,
                                       idempotency_key="stamps:t1")

    assert (entry.kind, entry.points, entry.note) == (EntryKind.REDEMPTION, -10, "a free coffee")
    assert entry.actor_user_id == staff_user.pk
    assert balance(member) == 2


def test_a_card_that_is_not_full_is_refused_and_nothing_changes(shop, member, card, staff_user):
    give_stamps(shop, member, 9)
    with pytest.raises(ValidationError) as exc:
        services.stamp_card_redeem(shop=shop, membership_id=member.pk, by=staff_user)
    assert exc.value.messages == ["The card is not full yet: 9 of 10 stamps."]
    assert balance(member) == 9
    assert not LedgerEntry.objects.filter(kind=EntryKind.REDEMPTION).exists()


def test_a_points_program_has_no_card_to_hand_out(shop, member, staff_user, owner):
    services.points_credit(shop=shop, membership_id=member.pk, points=50,
                           kind=EntryKind.ADJUSTMENT, note="test", actor_user=owner)
    with pytest.raises(ValidationError) as exc:
        services.stamp_card_redeem(shop=shop, membership_id=member.pk, by=staff_user)
    assert exc.value.messages == ["This shop's program is not a stamp card."]
    assert balance(member) == 50


def test_the_same_token_twice_hands_out_once(shop, member, card, staff_user):
    give_stamps(shop, member, 20)
    first = services.stamp_card_redeem(shop=shop, membership_id=member.pk, by=staff_user,
                                       idempotency_key="stamps:same")
    with pytest.raises(services.DuplicateRequest) as duplicate:
        services.stamp_card_redeem(shop=shop, membership_id=member.pk, by=staff_user,
                                   idempotency_key="stamps:same")
    assert duplicate.value.existing == first
    assert balance(member) == 10


# --- the panel ----------------------------------------------------------------------------


def test_the_panel_shows_stamps_instead_of_points(staff_client, shop, member, card):
    give_stamps(shop, member, 7)
    content = text(staff_client.get(member_url(shop, member)))
    assert "7 of 10 stamps" in content
    assert 'id="balance"' not in content  # no points number ...
    assert "€0.0" not in content  # ... and no money value
    assert ">Add stamp</button>" in content
    assert escape("A stamp for every purchase from €3; 10 stamps give a free coffee.") in content
    assert "Card full" not in content


def test_a_purchase_says_plus_one_stamp(staff_client, shop, member, card):
    token = token_of(text(staff_client.get(member_url(shop, member))))
    response = staff_client.post(f"/counter/{shop.slug}/members/{member.card_number}/earn/",
                                 {"amount": "4.50", "token": token}, headers=HX)
    content = text(response)
    assert "+1 stamp for €4.50." in content
    assert "points" not in content
    assert response["HX-Trigger"] == "membership-changed"
    assert "1 of 10 stamps" in text(staff_client.get(member_url(shop, member), headers=HX))


def test_a_full_card_offers_the_hand_out(staff_client, shop, member, card):
    give_stamps(shop, member, 10)
    content = text(staff_client.get(member_url(shop, member)))
    assert "Card full: hand out a free coffee" in content
    assert f'action="{stamp_url(shop, member)}"' in content


def test_hand_out_asks_first_and_changes_nothing(staff_client, shop, member, card):
    give_stamps(shop, member, 12)
    for headers in ({}, HX):
        response = staff_client.post(stamp_url(shop, member), headers=headers)
        assert response.status_code == 200
        content = text(response)
        assert "Hand out a free coffee? 10 stamps come off the card." in content
        assert 'name="confirm" value="1"' in content
        assert f'href="{member_url(shop, member)}"' in content  # Cancel
        assert "HX-Trigger" not in response
    assert balance(member) == 12


def test_confirmed_hand_out_takes_the_stamps_once(staff_client, shop, member, card, staff_user):
    give_stamps(shop, member, 12)
    token = token_of(text(staff_client.post(stamp_url(shop, member))))
    data = {"confirm": "1", "token": token}

    first = staff_client.post(stamp_url(shop, member), data, headers=HX)
    second = staff_client.post(stamp_url(shop, member), data, headers=HX)

    for response in (first, second):
        assert response.status_code == 200
        assert response["HX-Trigger"] == "membership-changed"
        assert "Card handed out: a free coffee." in text(response)
    assert balance(member) == 2
    entry = LedgerEntry.objects.get(membership=member, kind=EntryKind.REDEMPTION)
    assert (entry.points, entry.note, entry.actor_user_id) == (-10, "a free coffee",
                                                               staff_user.pk)
    panel = text(staff_client.get(member_url(shop, member), headers=HX))
    assert "2 of 10 stamps" in panel
    assert "Card full" not in panel


def test_confirmed_hand_out_without_htmx_redirects(staff_client, shop, member, card):
    give_stamps(shop, member, 10)
    token = token_of(text(staff_client.post(stamp_url(shop, member))))
    response = staff_client.post(stamp_url(shop, member), {"confirm": "1", "token": token})
    assertRedirects(response, member_url(shop, member), fetch_redirect_response=False)
    assert balance(member) == 0


def test_hand_out_of_a_card_not_full_shows_why_and_changes_nothing(staff_client, shop, member,
                                                                   card):
    give_stamps(shop, member, 4)
    response = staff_client.post(stamp_url(shop, member), {"confirm": "1", "token": "c" * 32},
                                 headers=HX)
    assert response.status_code == 400
    assert response["HX-Retarget"] == "#panel"
    assert "The card is not full yet: 4 of 10 stamps." in text(response)
    assert balance(member) == 4


def test_hand_out_needs_post_and_is_for_staff(staff_user, other_owner, shop, member, card):
    give_stamps(shop, member, 10)
    assert signed_in(staff_user).get(stamp_url(shop, member)).status_code == 405
    for who in (member.user, other_owner):
        response = signed_in(who).post(stamp_url(shop, member), {"confirm": "1",
                                                                 "token": "d" * 32})
        assert response.status_code == 404
    response = Client().post(stamp_url(shop, member), {"confirm": "1", "token": "d" * 32})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert balance(member) == 10
