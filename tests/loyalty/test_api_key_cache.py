"""The API key's row (with its shop and rules in force) is kept in the process for a few seconds:
what a till sees when the key is revoked or the rules change, here and in another process."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty import selectors
from loyalty.models import ApiKey, Purchase
from loyalty.selectors import api_key_for_raw_key
from loyalty.services import api_key_create, api_key_revoke, program_rules_update, shop_update

pytestmark = pytest.mark.django_db


class Clock:
    """Stands in for time.monotonic in loyalty.selectors."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(selectors.time, "monotonic", fake)
    return fake


@pytest.fixture
def key(shop, owner):
    """A till's key, at a shop with rules in force (a shop's first earn makes its rules, and
    that forgets the kept rows itself)."""
    program_rules_update(shop=shop, by=owner, points_per_unit=10)
    api_key, raw = api_key_create(shop=shop, name="till-1")
    return api_key, raw


def queries(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


def earn(client, raw, card, idempotency_key, amount="10.00"):
    return client.post("/api/v1/purchases/", data=json.dumps({"member": card, "amount": amount}),
                       content_type="application/json",
                       headers={"Authorization": f"Api-Key {raw}",
                                "Idempotency-Key": idempotency_key})


def test_a_key_is_looked_up_once_while_kept(settings, key, clock):
    settings.TROUW_API_KEY_CACHE_SECONDS = 5
    api_key, raw = key

    assert queries(lambda: api_key_for_raw_key(raw)) == 1
    clock.now += 4.9
    assert queries(lambda: api_key_for_raw_key(raw)) == 0
    clock.now += 0.2  # 5.1 s after the lookup: asked again
    assert queries(lambda: api_key_for_raw_key(raw)) == 1


def test_each_call_gets_its_own_instances(key):
    api_key, raw = key
    first = api_key_for_raw_key(raw)
    first.shop.name = "Changed in memory"
    first.shop.current_rules = None

    second = api_key_for_raw_key(raw)

    assert second is not first and second.shop is not first.shop
    assert second.shop.name == api_key.shop.name
    assert second.pk == api_key.pk


def test_unknown_keys_are_not_kept(key):
    for _ in range(3):
        assert queries(lambda: api_key_for_raw_key("trw_not-a-key")) == 1
    assert list(selectors._api_key_rows) == []


def test_zero_seconds_asks_the_database_every_time(settings, key):
    settings.TROUW_API_KEY_CACHE_SECONDS = 0
    _api_key, raw = key

    assert [queries(lambda: api_key_for_raw_key(raw)) for _ in range(3)] == [1, 1, 1]


def test_the_kept_rows_are_bounded(key, monkeypatch):
    monkeypatch.setattr(selectors, "_API_KEY_ROWS_MAX", 3)
    _api_key, raw = key
    for n in range(3):
        selectors._api_key_rows[f"other-{n}"] = (float("inf"), ())

    api_key_for_raw_key(raw)

    assert list(selectors._api_key_rows) == [selectors.api_key_hash(raw)]


class TestRevoked:
    def test_revoking_here_refuses_the_key_at_once(self, client, shop, member, key):
        api_key, raw = key
        assert earn(client, raw, member.card_number, "before").status_code == 201

        api_key_revoke(shop=shop, api_key_id=api_key.pk)

        response = earn(client, raw, member.card_number, "after")
        assert response.status_code == 401
        assert Purchase.objects.filter(idempotency_key="api:after").count() == 0

    def test_revoked_in_another_process_it_works_here_until_its_seconds_are_up(
        self, settings, client, shop, owner, member, key, clock
    ):
        settings.TROUW_API_KEY_CACHE_SECONDS = 5
        api_key, raw = key
        assert earn(client, raw, member.card_number, "first").status_code == 201

        # Another process revokes it: this one's kept row does not know yet.
        ApiKey.objects.filter(pk=api_key.pk).update(revoked_at="2026-11-27T10:00:00Z")
        clock.now += 4
        assert earn(client, raw, member.card_number, "within").status_code == 201
        clock.now += 1.5
        assert earn(client, raw, member.card_number, "after").status_code == 401
        assert not Purchase.objects.filter(idempotency_key="api:after").exists()


class TestShopAndRulesChanged:
    def test_new_rules_apply_to_the_next_earn_at_once(self, client, shop, owner, member, key):
        _api_key, raw = key
        assert earn(client, raw, member.card_number, "one").json()["points_earned"] == 100

        rules = program_rules_update(shop=shop, by=owner, points_per_unit=20)

        body = earn(client, raw, member.card_number, "two").json()
        assert (body["points_earned"], body["rules_version"]) == (200, rules.version)

    def test_a_shop_change_is_seen_at_once(self, shop, key):
        _api_key, raw = key
        api_key_for_raw_key(raw)

        shop_update(shop=shop, time_zone="Europe/Stockholm")

        assert api_key_for_raw_key(raw).shop.time_zone == "Europe/Stockholm"

    def test_the_kept_rows_are_forgotten_again_when_the_change_commits(
        self, shop, owner, key, django_capture_on_commit_callbacks
    ):
        """A call between the change and its commit could keep the old row again; the commit
        forgets it."""
        _api_key, raw = key
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            program_rules_update(shop=shop, by=owner, points_per_unit=30)
            api_key_for_raw_key(raw)  # a call before the commit keeps a row
            assert selectors._api_key_rows

        for callback in callbacks:
            callback()

        assert selectors._api_key_rows == {}
