"""The one-click unsubscribe page: GET shows one button, POST (the member's, or the mail
program's RFC 8058 one-click POST without a CSRF token) withdraws marketing consent once and
records it; a bad or tampered token gets a clear page and changes nothing."""

from __future__ import annotations

import pytest
from django.core import signing
from django.test import Client

from loyalty.models import ConsentChange, ConsentSource, Membership
from loyalty.services import membership_marketing_consent_set, unsubscribe_token
from tests.factories import MembershipFactory
from tests.helpers import text

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscriber(shop):
    membership = MembershipFactory(shop=shop, email="s@example.com", language="nl")
    membership_marketing_consent_set(membership=membership, consent=True,
                                     source=ConsentSource.ENROLMENT)
    return membership


def _url(membership):
    return f"/unsubscribe/{unsubscribe_token(membership_id=membership.pk)}/"


def _page(response) -> str:
    """The page's own part (the site's header has buttons of its own)."""
    body = response.content.decode()
    return body[body.index('class="portal-page'):body.index("</main>")]


def _consent(membership):
    return Membership.objects.get(pk=membership.pk).marketing_consent


class TestPage:
    def test_get_shows_one_button_in_the_shop_look_and_changes_nothing(self, client, subscriber):
        response = client.get(_url(subscriber))
        assert response.status_code == 200
        assert _page(response).count("<button") == 1
        body = response.content.decode()
        assert "Bakkerij Noord" in body and "shop-themed" in body
        assert _consent(subscriber) is True
        assert response["X-Robots-Tag"] == "noindex"

    def test_in_the_members_language(self, client, subscriber):
        response = client.get(_url(subscriber))
        assert response.status_code == 200
        assert '<html lang="nl"' in response.content.decode()

    def test_post_unsubscribes_and_records_the_change_with_its_time(self, client, subscriber):
        response = client.post(_url(subscriber))
        assert response.status_code == 200
        assert _consent(subscriber) is False
        change = ConsentChange.objects.filter(membership=subscriber).first()
        assert (change.marketing, change.source) == (False, ConsentSource.UNSUBSCRIBE)
        assert change.at is not None
        assert "<button" not in _page(response)

    def test_the_mail_programs_one_click_post_needs_no_csrf_token(self, subscriber):
        strict = Client(enforce_csrf_checks=True)
        response = strict.post(_url(subscriber), data="List-Unsubscribe=One-Click",
                               content_type="application/x-www-form-urlencoded")
        assert response.status_code == 200
        assert _consent(subscriber) is False

    def test_a_second_post_changes_and_records_nothing(self, client, subscriber):
        client.post(_url(subscriber))
        client.post(_url(subscriber))
        changes = ConsentChange.objects.filter(membership=subscriber, marketing=False)
        assert changes.count() == 1
        assert _consent(subscriber) is False

    def test_get_after_unsubscribing_says_there_is_nothing_to_do(self, client, subscriber):
        client.post(_url(subscriber))
        response = client.get(_url(subscriber))
        assert response.status_code == 200
        assert "<button" not in _page(response)

    @pytest.mark.parametrize("token", [
        "nonsense",
        "eyJtIjoxfQ:1abc:forged",
    ])
    def test_a_bad_token_gets_a_clear_page_and_changes_nothing(self, client, subscriber, token):
        response = client.post(f"/unsubscribe/{token}/")
        assert response.status_code == 400
        assert "This link does not work" in text(response)
        assert _consent(subscriber) is True

    def test_a_tampered_token_changes_nothing(self, client, subscriber, shop):
        other = MembershipFactory(shop=shop, email="o@example.com", marketing_consent=True)
        token = unsubscribe_token(membership_id=subscriber.pk)
        payload, rest = token.split(":", 1)
        forged = signing.dumps({"m": other.pk}, salt="trouw.unsubscribe", compress=True)
        tampered = forged.split(":", 1)[0] + ":" + rest
        response = client.post(f"/unsubscribe/{tampered}/")
        assert response.status_code == 400
        assert _consent(other) is True and _consent(subscriber) is True

    def test_a_token_signed_for_another_purpose_is_refused(self, client, subscriber):
        token = signing.dumps({"m": subscriber.pk}, salt="trouw.staff-invitation")
        assert client.post(f"/unsubscribe/{token}/").status_code == 400
        assert _consent(subscriber) is True

    def test_a_token_of_a_card_that_is_gone(self, client, shop):
        membership = MembershipFactory(shop=shop)
        url = _url(membership)
        Membership.objects.filter(pk=membership.pk).delete()
        assert client.get(url).status_code == 400

    def test_other_methods_are_refused(self, client, subscriber):
        assert client.put(_url(subscriber)).status_code == 405
        assert _consent(subscriber) is True


class TestConsentService:
    def test_records_each_change_and_nothing_for_no_change(self, shop):
        membership = MembershipFactory(shop=shop)
        assert membership_marketing_consent_set(membership=membership, consent=True,
                                                source=ConsentSource.PORTAL) is True
        assert membership_marketing_consent_set(membership=membership, consent=True,
                                                source=ConsentSource.PORTAL) is False
        stored = Membership.objects.get(pk=membership.pk)
        assert stored.marketing_consent is True and stored.marketing_consent_at is not None
        assert membership_marketing_consent_set(membership=membership, consent=False,
                                                source=ConsentSource.OWNER) is True
        stored.refresh_from_db()
        assert stored.marketing_consent is False and stored.marketing_consent_at is None
        assert list(ConsentChange.objects.filter(membership=membership).order_by("pk")
                    .values_list("marketing", "source")) == [
            (True, ConsentSource.PORTAL), (False, ConsentSource.OWNER)]

    def test_an_unknown_source_is_refused(self, shop):
        membership = MembershipFactory(shop=shop)
        with pytest.raises(ValueError, match="consent source"):
            membership_marketing_consent_set(membership=membership, consent=True, source="x")
        assert not ConsentChange.objects.exists()
