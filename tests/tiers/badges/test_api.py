"""The API: a purchase that earns a badge says so in its answer's ``news`` (documented in the
OpenAPI schema); a replay of the same request answers the same bytes and awards nothing; a
refund through the API within the pending window takes the badge back."""

from __future__ import annotations

import json

import pytest

from loyalty import services
from loyalty.models import EntryKind, LedgerEntry
from tests.factories import MembershipFactory
from tests.tiers.badges.conftest import make_badge
from tiers.badges.models import BadgeAward

pytestmark = pytest.mark.django_db


def post(client, raw, path, body, key):
    return client.post(path, data=json.dumps(body), content_type="application/json",
                       headers={"Authorization": f"Api-Key {raw}", "Idempotency-Key": key})


@pytest.fixture
def till(badge_shop):
    return services.api_key_create(shop=badge_shop, name="till-1")[1]


def test_the_purchase_answer_tells_the_badge_and_a_replay_awards_nothing(client, badge_shop,
                                                                         badge_member, till):
    make_badge(badge_shop, "first_purchase", name="First visit", bonus_points=25)
    body = {"member": badge_member.card_number, "amount": "10.00"}
    first = post(client, till, "/api/v1/purchases/", body, "k-1")
    assert first.status_code == 201, first.content
    answer = first.json()
    assert answer["news"] == [{"kind": "badge", "text": "New badge: First visit"}]
    assert answer["points_earned"] == 100 and answer["balance"] == 125
    replay = post(client, till, "/api/v1/purchases/", body, "k-1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.content == first.content
    assert BadgeAward.objects.count() == 1
    assert LedgerEntry.objects.filter(kind=EntryKind.BADGE).count() == 1
    later = post(client, till, "/api/v1/purchases/", body, "k-2")
    assert later.json()["news"] == [] and later.json()["balance"] == 225


def test_the_answer_is_in_the_shops_language(client, badge_shop, badge_member, till):
    make_badge(badge_shop, "first_purchase", name="Eerste bezoek")
    response = client.post(
        "/api/v1/purchases/", data=json.dumps({"member": badge_member.card_number,
                                               "amount": "10.00"}),
        content_type="application/json", headers={
            "Authorization": f"Api-Key {till}", "Idempotency-Key": "k-nl",
            "Accept-Language": "nl"})
    assert response.status_code == 201
    news = response.json()["news"]
    assert [item["kind"] for item in news] == ["badge"]
    assert "Eerste bezoek" in news[0]["text"]


def test_a_refund_through_the_api_takes_the_badge_back(client, badge_shop, badge_member, till):
    make_badge(badge_shop, "first_purchase", name="First visit", bonus_points=25)
    purchase = post(client, till, "/api/v1/purchases/",
                    {"member": badge_member.card_number, "amount": "10.00"}, "k-1").json()
    refund = post(client, till, f"/api/v1/purchases/{purchase['id']}/refunds/",
                  {"amount": "10.00"}, "k-r")
    assert refund.status_code == 201, refund.content
    assert refund.json()["balance"] == 0
    assert not BadgeAward.objects.filter(revoked_at__isnull=True).exists()


def test_a_sale_without_a_card_has_no_news(client, badge_shop, till):
    make_badge(badge_shop, "first_purchase")
    response = post(client, till, "/api/v1/purchases/", {"member": None, "amount": "10.00"},
                    "k-none")
    assert response.status_code == 201 and response.json()["news"] == []


def test_a_key_of_another_shop_earns_no_badge_of_this_one(client, badge_shop, other_shop):
    make_badge(badge_shop, "first_purchase", name="Ours")
    theirs = MembershipFactory(shop=other_shop)
    raw = services.api_key_create(shop=other_shop, name="till-2")[1]
    response = post(client, raw, "/api/v1/purchases/",
                    {"member": theirs.card_number, "amount": "10.00"}, "k-other")
    assert response.status_code == 201 and response.json()["news"] == []
    assert BadgeAward.objects.count() == 0


def test_the_schema_documents_the_badge_news(client):
    schema = client.get("/api/schema/", headers={"Accept": "application/json"})
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "`badge`" in text and "New badge:" in text


def test_an_earn_that_awards_a_badge_never_reads_the_static_files_manifest(
        client, badge_shop, badge_member, till, settings, tmp_path):
    """Production serves static files from a manifest; a till's earn has no page, so a badge's
    icon must not make it ask for one (session 8's bench found every such earn answering 500
    where the manifest was missing). The counter's page resolves the icon itself."""
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}}
    settings.STATIC_ROOT = str(tmp_path)  # no manifest here: any static() lookup raises
    settings.DEBUG = False
    make_badge(badge_shop, "first_purchase", name="First visit", bonus_points=25)
    response = post(client, till, "/api/v1/purchases/",
                    {"member": badge_member.card_number, "amount": "10.00"}, "k-manifest")
    assert response.status_code == 201, response.content
    assert response.json()["news"] == [{"kind": "badge", "text": "New badge: First visit"}]
