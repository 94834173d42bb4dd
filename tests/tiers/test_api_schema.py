"""The OpenAPI schema (/api/schema/) documents what levels and badges add to the API, read as
served: a purchase's news item names its kinds (``level_up``, ``badge``), the member's body has
its ``level`` with the ``progress`` to the next one; and real answers that carry them validate
against it strictly (tests/test_openapi_schema.py's machinery: no property the schema does not
name)."""

from __future__ import annotations

import json

import pytest

from loyalty.services import api_key_create
from tests.factories import MembershipFactory
from tests.test_openapi_schema import assert_matches
from tests.tiers.badges.conftest import make_badge
from tiers.badges.models import BadgeAward
from tiers.models import LevelChange

from .conftest import levels_set, reached

pytestmark = pytest.mark.django_db


@pytest.fixture
def served(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def resolve(schema, node: dict) -> dict:
    """A schema object with its ``$ref`` (or a nullable ``allOf`` of one) followed."""
    while True:
        if "$ref" in node:
            node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        elif len(node.get("allOf", ())) == 1:
            node = node["allOf"][0]
        else:
            return node


def _body(schema, path: str, method: str, status: str) -> dict:
    return resolve(schema, schema["paths"][path][method]["responses"][status]["content"][
        "application/json"]["schema"])


def test_the_purchase_answers_news_documents_both_kinds(served):
    answer = _body(served, "/api/v1/purchases/", "post", "201")
    news = answer["properties"]["news"]
    assert news["type"] == "array"
    item = resolve(served, news["items"])
    assert set(item["required"]) == {"kind", "text"}
    kind = resolve(served, item["properties"]["kind"])
    assert {"level_up", "badge"} <= set(kind["enum"])
    assert item["properties"]["text"]["type"] == "string"
    assert "level" in answer["properties"] and "level" in answer["required"]


def test_the_members_body_documents_the_level_and_its_progress(served):
    for path, status in (("/api/v1/members/{card_number}/", "200"),
                         ("/api/v1/members/", "201")):
        member = _body(served, path, "get" if status == "200" else "post", status)
        assert "level" in member["required"]
        level_property = member["properties"]["level"]
        assert level_property.get("nullable") is True  # null in a shop without levels
        level = resolve(served, level_property)
        assert set(level["properties"]) == {"name", "colour", "multiplier", "progress"}
        assert set(level["required"]) == {"name", "colour", "multiplier", "progress"}
        assert level["properties"]["progress"].get("nullable") is True  # at the top level
        progress = resolve(served, level["properties"]["progress"])
        assert set(progress["properties"]) == {"next_level", "left", "percent"}
        assert progress["properties"]["percent"]["type"] == "integer"
        assert (progress["properties"]["percent"]["minimum"],
                progress["properties"]["percent"]["maximum"]) == (0, 100)


def first_earn(client, shop, amount: str):
    """A new member's first purchase through the API: (the member, the till's headers, the
    answer)."""
    member = MembershipFactory(shop=shop)
    headers = {"Authorization": f"Api-Key {api_key_create(shop=shop, name='till')[1]}"}
    response = client.post("/api/v1/purchases/", data=json.dumps(
        {"member": member.card_number, "amount": amount}), content_type="application/json",
        headers={**headers, "Idempotency-Key": f"schema-{member.pk}"})
    assert response.status_code == 201, response.content
    return member, headers, response


def test_a_purchase_that_raises_the_level_and_earns_a_badge_matches_the_schema(client, served,
                                                                              shop):
    levels_set(shop)  # Brons 100, Zilver 500, Goud 1000 points earned
    make_badge(shop, "first_purchase", name="Eerste bezoek", bonus_points=25)
    member, headers, response = first_earn(client, shop, "62.00")
    body = response.json()
    assert sorted(item["kind"] for item in body["news"]) == ["badge", "level_up"]
    assert {"kind": "level_up", "text": reached("Zilver", shop)} in body["news"]
    assert body["level"] == "Zilver"
    assert LevelChange.objects.filter(membership=member).count() == 1
    assert BadgeAward.objects.filter(membership=member).count() == 1
    assert_matches(served, "post", "/api/v1/purchases/", response)

    # The member's body with its level and progress (not null) matches too.
    member_response = client.get(f"/api/v1/members/{member.card_number}/", headers=headers)
    assert member_response.json()["level"]["name"] == "Zilver"
    assert member_response.json()["level"]["progress"]["next_level"] == "Goud"
    assert_matches(served, "get", "/api/v1/members/{card_number}/", member_response)


def test_a_member_at_the_top_level_matches_the_schema(client, served, levels):
    member, headers, response = first_earn(client, levels, "150.00")
    assert response.json()["level"] == "Goud"
    assert_matches(served, "post", "/api/v1/purchases/", response)
    member_response = client.get(f"/api/v1/members/{member.card_number}/", headers=headers)
    assert member_response.json()["level"]["progress"] is None
    assert_matches(served, "get", "/api/v1/members/{card_number}/", member_response)
