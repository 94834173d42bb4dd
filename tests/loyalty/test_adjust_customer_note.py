"""A point adjustment has an internal reason (the shop's staff see it) and an optional note for
the customer; the member's portal shows only the note, or "Adjustment by the shop", never the
reason."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from pytest_django.asserts import assertRedirects

from loyalty import services
from loyalty.models import LedgerEntry
from tests.helpers import signed_in, text

pytestmark = pytest.mark.django_db

SECRET = "Klant was boos, zonder bon"


def member_url(shop, member) -> str:
    return f"/dashboard/{shop.slug}/members/{member.card_number}/"


def portal_url(shop) -> str:
    return f"/portal/{shop.slug}/"


def test_the_form_asks_for_both(owner_client, shop, member):
    page = text(owner_client.get(member_url(shop, member)))
    assert 'name="reason"' in page
    assert 'name="customer_note"' in page
    assert "The customer never sees it." in page
    assert "they read “Adjustment by the shop”" in page


def test_an_adjustment_with_a_note_for_the_customer(owner_client, shop, member, owner):
    response = owner_client.post(member_url(shop, member), {
        "points": "50", "reason": SECRET, "customer_note": "Sorry for the wait!"})
    assertRedirects(response, member_url(shop, member), fetch_redirect_response=False)
    entry = LedgerEntry.objects.get(membership=member)
    assert (entry.points, entry.note, entry.customer_note) == (50, SECRET, "Sorry for the wait!")

    staff_page = text(owner_client.get(member_url(shop, member)))
    assert f"Adjustment: {SECRET}" in staff_page
    assert "the customer reads “Sorry for the wait!”" in staff_page

    portal = text(signed_in(member.user).get(portal_url(shop)))
    assert "Sorry for the wait!" in portal
    assert SECRET not in portal


def test_without_a_note_the_customer_reads_adjustment_by_the_shop(member_client, shop, member,
                                                                  owner):
    services.points_adjust(shop=shop, membership_id=member.pk, points=80, reason=SECRET,
                           by=owner)
    services.points_adjust(shop=shop, membership_id=member.pk, points=-30,
                           reason="Dubbel geboekt", by=owner)

    response = member_client.get(portal_url(shop))

    assert response.status_code == 200
    portal = text(response)
    assert portal.count("Adjustment by the shop") == 2
    assert SECRET not in portal
    assert "Dubbel geboekt" not in portal


def test_the_portals_history_page_never_shows_the_reason_either(member_client, shop, member,
                                                                owner):
    for n in range(20):  # more than one page of history
        services.points_adjust(shop=shop, membership_id=member.pk, points=1,
                               reason=f"{SECRET} {n}", by=owner)
    for page in (1, 2):
        content = text(member_client.get(portal_url(shop), {"page": page}))
        assert "Adjustment by the shop" in content
        assert SECRET not in content


def test_the_service_keeps_the_note_apart_from_the_reason(shop, member, owner):
    entry = services.points_adjust(shop=shop, membership_id=member.pk, points=5,
                                   reason="  Oude kaart  ", customer_note="  Welkom terug  ",
                                   by=owner)
    assert (entry.note, entry.customer_note) == ("Oude kaart", "Welkom terug")


def test_a_note_too_long_is_refused_and_changes_nothing(shop, member, owner):
    with pytest.raises(ValidationError) as caught:
        services.points_adjust(shop=shop, membership_id=member.pk, points=5, reason="x",
                               customer_note="x" * 201, by=owner)
    assert caught.value.message_dict == {
        "customer_note": ["Keep the note for the customer to 200 characters."]}
    assert not LedgerEntry.objects.exists()


def test_the_form_refuses_a_note_too_long(owner_client, shop, member):
    response = owner_client.post(member_url(shop, member), {
        "points": "5", "reason": "x", "customer_note": "x" * 151})
    assert response.status_code == 400
    assert 'id="id_customer_note_error"' in text(response)
    assert not LedgerEntry.objects.exists()
