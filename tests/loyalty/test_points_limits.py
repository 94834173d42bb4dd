"""The limits that keep every number inside the database's integer columns: a rule, an amount or
a credit that would go beyond them is refused with a message and writes nothing — on SQLite as
on PostgreSQL (where such a write would otherwise fail half-way with "integer out of range")."""

from __future__ import annotations

import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from loyalty import services
from loyalty.forms import ProgramRulesForm
from loyalty.models import EntryKind, IdempotentRequest, LedgerEntry, PointLot, Purchase
from loyalty.points import MAX_BALANCE, MAX_POINTS_PER_PURCHASE
from tests.helpers import assert_error, text

pytestmark = pytest.mark.django_db

PURCHASES = "/api/v1/purchases/"


def counts() -> dict:
    return {"purchases": Purchase.objects.count(), "entries": LedgerEntry.objects.count(),
            "lots": PointLot.objects.count(), "answers": IdempotentRequest.objects.count()}


@pytest.fixture
def post(client, shop):
    _api_key, raw = services.api_key_create(shop=shop, name="till-1")

    def post(body, key="limit-1", language="en"):
        return client.post(PURCHASES, data=json.dumps(body), content_type="application/json",
                           headers={"Authorization": f"Api-Key {raw}", "Idempotency-Key": key,
                                    "Accept-Language": language})

    return post


class TestRules:
    def test_a_cap_above_the_most_a_purchase_may_earn_is_refused(self, shop, owner):
        before = services.program_rules_current(shop=shop)

        with pytest.raises(ValidationError) as refused:
            services.program_rules_update(shop=shop, by=owner,
                                          cap_per_purchase=MAX_POINTS_PER_PURCHASE + 1)

        assert refused.value.message_dict == {"cap_per_purchase": ["At most 100,000,000 points."]}
        assert services.program_rules_current(shop=shop).pk == before.pk

    def test_the_largest_cap_is_kept_exactly(self, shop, owner):
        rules = services.program_rules_update(shop=shop, by=owner,
                                              cap_per_purchase=MAX_POINTS_PER_PURCHASE)

        rules.refresh_from_db()
        assert rules.cap_per_purchase == MAX_POINTS_PER_PURCHASE

    def test_a_step_above_the_most_a_purchase_may_earn_is_refused(self, shop, owner):
        with pytest.raises(ValidationError) as refused:
            services.program_rules_update(shop=shop, by=owner, steps=[
                {"min_amount": "20.00", "points": 1000},
                {"min_amount": "30.00", "points": MAX_POINTS_PER_PURCHASE + 1},
            ])

        assert refused.value.message_dict == {"steps": ["Step 2: at most 100,000,000 points."]}

    def test_the_rules_form_refuses_a_cap_too_large(self):
        form = ProgramRulesForm(data={
            "points_per_unit": 10, "minimum_amount": "0", "points_per_currency_value": 100,
            "signup_bonus": 0, "pending_days": 0, "cap_per_purchase": 5_000_000_000,
        })

        assert not form.is_valid()
        assert "cap_per_purchase" in form.errors


class TestPurchases:
    def test_a_purchase_that_would_earn_too_much_is_400_and_writes_nothing(self, post, shop,
                                                                           owner, member):
        services.program_rules_update(shop=shop, by=owner, points_per_unit=1_000_000)

        response = post({"member": member.card_number, "amount": "100000.00"})

        assert_error(response, 400, "invalid", "amount")
        assert "100,000,000" in response.json()["error"]["message"]
        assert counts() == {"purchases": 0, "entries": 0, "lots": 0, "answers": 0}
        member.refresh_from_db()
        assert member.points_balance == 0

    def test_the_refusal_speaks_the_callers_language(self, post, shop, owner, member):
        services.program_rules_update(shop=shop, by=owner, points_per_unit=1_000_000)

        response = post({"member": member.card_number, "amount": "100000.00"},
                        language="nl")

        message = ("This purchase would earn more than %(max)s points, the most one purchase "
                   "may earn. Set a cap or lower the rate in the earn rules.")
        with translation.override("nl"):
            dutch = translation.gettext(message) % {
                "max": services.points_display(MAX_POINTS_PER_PURCHASE)}
        assert response.status_code == 400
        assert response.json()["error"]["message"] == dutch
        assert dutch != message % {"max": "100,000,000"}  # translated, grouped the Dutch way
        assert "100.000.000" in dutch and "This purchase" not in dutch

    def test_a_purchase_up_to_the_limit_is_recorded(self, post, shop, owner, member):
        services.program_rules_update(shop=shop, by=owner, points_per_unit=1_000)

        response = post({"member": member.card_number, "amount": "100000.00"})

        assert response.status_code == 201, response.content
        assert response.json()["points_earned"] == MAX_POINTS_PER_PURCHASE

    def test_a_card_that_cannot_hold_more_is_409_and_writes_nothing(self, post, shop, owner,
                                                                    member):
        services.points_credit(shop=shop, membership_id=member.pk, points=MAX_BALANCE - 100,
                               kind=EntryKind.ADJUSTMENT, note="test", actor_user=owner)
        before = counts()

        response = post({"member": member.card_number, "amount": "27.50"})  # 270 points

        assert_error(response, 409, "conflict", "member")
        assert counts() == before
        member.refresh_from_db()
        assert member.points_balance == MAX_BALANCE - 100

    def test_a_card_can_be_filled_to_the_brim(self, post, shop, owner, member):
        services.points_credit(shop=shop, membership_id=member.pk, points=MAX_BALANCE - 270,
                               kind=EntryKind.ADJUSTMENT, note="test", actor_user=owner)

        response = post({"member": member.card_number, "amount": "27.50"})

        assert response.status_code == 201
        assert response.json()["balance"] == MAX_BALANCE


class TestCredits:
    def test_a_credit_beyond_what_a_card_holds_is_refused(self, shop, owner, member):
        with pytest.raises(ValidationError) as refused:
            services.points_credit(shop=shop, membership_id=member.pk, points=10**12,
                                   kind=EntryKind.ADJUSTMENT, note="typo", actor_user=owner)

        assert refused.value.message_dict == {
            "member": ["This card cannot hold more points (at most 2,000,000,000)."]}
        assert LedgerEntry.objects.count() == 0
        member.refresh_from_db()
        assert member.points_balance == 0

    def test_an_adjustment_beyond_what_a_card_holds_is_refused(self, shop, owner, member):
        with pytest.raises(ValidationError):
            services.points_adjust(shop=shop, membership_id=member.pk, points=MAX_BALANCE + 1,
                                   reason="typo", by=owner)

        assert LedgerEntry.objects.count() == 0


class TestCounter:
    def test_a_full_card_at_the_counter_shows_why_and_records_nothing(self, staff_client, shop,
                                                                      owner, member):
        services.points_credit(shop=shop, membership_id=member.pk, points=MAX_BALANCE - 100,
                               kind=EntryKind.ADJUSTMENT, note="test", actor_user=owner)
        page = text(staff_client.get(f"/counter/{shop.slug}/members/{member.card_number}/"))
        token = re.search(r'name="token" value="([0-9a-f]{32})"', page).group(1)
        before = counts()

        response = staff_client.post(
            f"/counter/{shop.slug}/members/{member.card_number}/earn/",
            {"amount": "27.50", "token": token})

        assert response.status_code == 400
        assert "This card cannot hold more points (at most 2,000,000,000)." in text(response)
        assert counts() == before
