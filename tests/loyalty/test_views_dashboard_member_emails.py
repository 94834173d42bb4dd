"""The member's page in the owner dashboard lists the e-mails written to the member: kind in
words, time in the shop's time zone, status (sent, waiting, failed with the reason, not sent).
Shop-scoped: another shop's owner sees none of them."""

from __future__ import annotations

import datetime as dt

import pytest

from loyalty.models import OutboxMessage, OutboxStatus
from tests.factories import MembershipFactory
from tests.helpers import signed_in, text

pytestmark = pytest.mark.django_db


def _url(shop, membership):
    return f"/dashboard/{shop.slug}/members/{membership.card_number}/"


def _write(shop, membership, kind, status, **fields):
    return OutboxMessage.objects.create(
        shop=shop, membership=membership, kind=kind, key=f"{kind}:{membership.pk}:{status}",
        to=membership.email or "x@example.com", language="en", status=status, **fields)


@pytest.fixture(autouse=True)
def _english(client):
    client.cookies["django_language"] = "en"


@pytest.fixture
def emails(shop, member):
    sent_at = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)  # 2 March 00:30 in Amsterdam
    _write(shop, member, "welcome", OutboxStatus.SENT, sent_at=sent_at)
    _write(shop, member, "voucher_issued", OutboxStatus.PENDING)
    _write(shop, member, "voucher_expiring", OutboxStatus.FAILED,
           last_error="refused: SMTPRecipientsRefused 550")
    _write(shop, member, "staff_invitation", OutboxStatus.SKIPPED,
           last_error="no-consent: no marketing consent at send time")


def test_the_owner_sees_kind_time_status_and_reason(owner_client, shop, member, emails):
    shop.time_zone = "Europe/Amsterdam"
    shop.save()
    response = owner_client.get(_url(shop, member))
    assert response.status_code == 200
    page = text(response)
    assert "E-mails" in page
    assert "Welcome" in page and "2 Mar 2026 00:30" in page
    assert "Voucher expiry reminder" in page and "Team invitation" in page
    assert "Waiting" in page
    assert "Failed" in page and "The address does not accept e-mail" in page
    assert "Not sent" in page and "no longer wants news and offers" in page
    assert "SMTPRecipientsRefused" not in page  # the owner's words, not the technical detail


def test_without_emails_the_panel_says_so(owner_client, shop, member):
    response = owner_client.get(_url(shop, member))
    assert "No e-mails to this member yet." in text(response)


def test_another_members_emails_are_not_listed(owner_client, shop, member):
    other = MembershipFactory(shop=shop, email="other@example.com")
    _write(shop, other, "welcome", OutboxStatus.SENT)
    response = owner_client.get(_url(shop, member))
    assert "No e-mails to this member yet." in text(response)


def test_another_shops_owner_cannot_see_them(shop, member, emails, other_shop, other_owner):
    client = signed_in(other_owner)
    assert client.get(_url(shop, member)).status_code in (403, 404)
    # Nor through their own shop's address with this card number.
    assert client.get(_url(other_shop, member)).status_code == 404


def test_staff_cannot_see_the_members_page(staff_client, shop, member, emails):
    assert staff_client.get(_url(shop, member)).status_code in (403, 404)


def test_the_selector_is_scoped_to_the_shop(shop, member, other_shop):
    from loyalty.selectors import membership_emails

    _write(shop, member, "welcome", OutboxStatus.SENT)
    assert len(membership_emails(shop=shop, membership=member)) == 1
    assert membership_emails(shop=other_shop, membership=member) == []
