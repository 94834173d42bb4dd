"""loyalty.sql: the earn's hand-written statements read and write exactly what the ORM does."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loyalty import sql
from loyalty.models import (
    ApiKey,
    IdempotentRequest,
    Membership,
    ProgramRules,
    Purchase,
    Shop,
)
from loyalty.selectors import api_key_for_raw_key
from loyalty.services import (
    api_key_create,
    api_key_revoke,
    program_rules_current,
    program_rules_update,
)
from tests.factories import MembershipFactory, ShopFactory

pytestmark = pytest.mark.django_db


def fields_of(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def load_one(model, pk):
    columns = sql.columns(model, "t")
    row = sql.fetch_one(f"SELECT {columns.sql} FROM {sql.table(model)} t WHERE t.id = %s", [pk])
    return columns.load(row)


class TestLoad:
    def test_a_membership_loads_as_the_orm_loads_it(self, shop):
        member = MembershipFactory(shop=shop, birthday=dt.date(1990, 2, 28),
                                   marketing_consent=True, marketing_consent_at=timezone.now())

        loaded = load_one(Membership, member.pk)

        assert isinstance(loaded, Membership)
        assert fields_of(loaded) == fields_of(Membership.objects.get(pk=member.pk))
        assert loaded._state.adding is False and loaded._state.db == "default"
        assert isinstance(loaded.birthday, dt.date)
        assert timezone.is_aware(loaded.joined_at)

    def test_rules_load_with_json_steps_and_money(self, shop, owner):
        rules = program_rules_update(
            shop=shop, by=owner, steps=[{"min_amount": "20.00", "points": 1000}],
            minimum_amount=Decimal("2.50"), cap_per_purchase=5000,
        )

        loaded = load_one(ProgramRules, rules.pk)

        assert fields_of(loaded) == fields_of(ProgramRules.objects.get(pk=rules.pk))
        assert loaded.steps == [{"min_amount": "20.00", "points": 1000}]
        assert loaded.minimum_amount == Decimal("2.50")

    def test_a_missing_outer_join_row_loads_as_none(self):
        columns = sql.columns(ProgramRules, "r")
        assert columns.load([None] * len(columns)) is None


class TestApiKeyLookup:
    def test_one_query_brings_the_key_its_shop_and_the_rules_in_force(self, shop, owner):
        rules = program_rules_update(shop=shop, by=owner, points_per_unit=7)
        api_key, raw = api_key_create(shop=shop, name="till-1")

        with CaptureQueriesContext(connection) as captured:
            found = api_key_for_raw_key(raw)
            assert found.shop.current_rules.points_per_unit == 7  # no further query
            assert found.shop.name == shop.name

        assert len(captured) == 1
        assert fields_of(found) == fields_of(ApiKey.objects.get(pk=api_key.pk))
        assert fields_of(found.shop) == fields_of(Shop.objects.get(pk=shop.pk))
        assert found.shop.current_rules.pk == rules.pk

    def test_a_shop_without_rules_has_none_in_force(self, shop):
        _api_key, raw = api_key_create(shop=shop, name="till-1")

        assert api_key_for_raw_key(raw).shop.current_rules is None

    def test_a_revoked_or_unknown_key_finds_nothing(self, shop):
        api_key, raw = api_key_create(shop=shop, name="till-1")
        api_key_revoke(shop=shop, api_key_id=api_key.pk)

        assert api_key_for_raw_key(raw) is None
        assert api_key_for_raw_key("not-a-key") is None


class TestInsert:
    def test_an_insert_stores_what_save_would(self, shop):
        member = MembershipFactory(shop=shop)
        before = timezone.now()

        purchase = sql.insert(Purchase(
            shop=shop, membership=member, amount=Decimal("27.50"), currency="EUR",
            rules=program_rules_current(shop=shop), reference="R-1", points_earned=270,
            points_available_at=before,
            idempotency_key="k-1",
        ))

        assert purchase.pk is not None and purchase._state.adding is False
        assert purchase.created_at >= before  # auto_now_add, as save() would set it
        stored = Purchase.objects.get(pk=purchase.pk)
        assert fields_of(stored) == fields_of(purchase)
        assert stored.amount == Decimal("27.50") and stored.refunded_amount == Decimal("0")

    def test_json_round_trips(self, shop):
        steps = [{"min_amount": "20.00", "points": 1000, "note": "Brød — €", "ok": True}]

        rules = sql.insert(ProgramRules(shop=shop, version=90, steps=steps))

        assert ProgramRules.objects.get(pk=rules.pk).steps == steps

    def test_a_row_without_an_instance_stores_what_an_instance_would(self, shop):
        member = MembershipFactory(shop=shop)
        rules = program_rules_current(shop=shop)
        values = dict(membership_id=member.pk, amount=Decimal("9.99"), currency="EUR",
                      rules_id=rules.pk, points_earned=90, points_available_at=timezone.now())
        before = timezone.now()

        by_row = sql.insert_row(Purchase, shop_id=shop.pk, idempotency_key="row", **values)
        by_instance = sql.insert(Purchase(shop=shop, idempotency_key="instance", **values))

        row, instance = (fields_of(Purchase.objects.get(pk=pk))
                         for pk in (by_row, by_instance.pk))
        assert row["created_at"] >= before  # auto_now_add, as for an instance
        assert row.pop("id") != instance.pop("id")
        assert row.pop("idempotency_key") == "row"
        instance.pop("idempotency_key")
        row.pop("created_at"), instance.pop("created_at")
        assert row == instance  # defaults (refunded amount, reference, …) included
        assert row["refunded_amount"] == Decimal("0") and row["reference"] == ""

    def test_a_row_of_json_round_trips(self, shop):
        steps = [{"min_amount": "20.00", "points": 1000}, {"note": "Brød — €", "ok": [1, None]}]

        pk = sql.insert_row(ProgramRules, shop_id=shop.pk, version=91, steps=steps)

        stored = ProgramRules.objects.get(pk=pk)
        assert stored.steps == steps
        assert stored.points_per_unit == ProgramRules._meta.get_field("points_per_unit").default

    def test_a_row_with_an_unknown_attribute_is_refused_before_any_sql(self, shop):
        with CaptureQueriesContext(connection) as captured, pytest.raises(TypeError,
                                                                          match="shop"):
            sql.row_values(IdempotentRequest, shop=shop, key="k")  # shop_id, not shop

        assert len(captured) == 0

    def test_a_constraint_is_an_integrity_error_and_the_transaction_keeps_nothing(self, shop):
        values = dict(shop=shop, key="k", operation="purchase", request_hash="0" * 64,
                      status_code=201, response={})
        sql.insert(IdempotentRequest(**values))

        with pytest.raises(IntegrityError), transaction.atomic():
            sql.insert(IdempotentRequest(**dict(values, key="other")))
            sql.insert(IdempotentRequest(**values))

        assert IdempotentRequest.objects.count() == 1


class TestCursor:
    def test_statements_are_logged_while_queries_are_captured(self, shop):
        sql.fetch_one("SELECT 1")  # the cursor is made (without logging) and kept

        with CaptureQueriesContext(connection) as captured:
            sql.fetch_one("SELECT 2")
            sql.insert(ShopFactory.build(slug="logged-shop", currency="EUR"))

        assert [q["sql"].split()[0] for q in captured.captured_queries] == ["SELECT", "INSERT"]
        assert sql.fetch_one("SELECT 3") == (3,)

    @pytest.mark.django_db(transaction=True)
    def test_a_new_connection_gets_a_new_cursor(self):
        assert sql.fetch_one("SELECT 1") == (1,)
        connection.close()

        assert sql.fetch_one("SELECT 2") == (2,)


class TestTransactions:
    def _record(self, shop):
        return IdempotentRequest(shop=shop, key="k", operation="p", request_hash="0",
                                 status_code=201, response={})

    def test_work_goes_on_after_a_savepoint_rolled_back(self, shop):
        with transaction.atomic():
            sql.insert(self._record(shop))
            with pytest.raises(IntegrityError), transaction.atomic():
                sql.insert(self._record(shop))
            assert sql.fetch_one("SELECT 1") == (1,)
        assert IdempotentRequest.objects.count() == 1

    def test_a_broken_transaction_refuses_further_statements(self, shop):
        with pytest.raises(TransactionManagementError), transaction.atomic():
            sql.insert(self._record(shop))
            with pytest.raises(IntegrityError), transaction.atomic(savepoint=False):
                sql.insert(self._record(shop))
            sql.fetch_one("SELECT 1")
        assert IdempotentRequest.objects.count() == 0


class TestInsertMany:
    def test_rows_are_inserted_in_one_statement_with_their_keys_in_order(self, shop):
        members = [MembershipFactory(shop=shop) for _ in range(3)]
        rules = program_rules_current(shop=shop)
        purchases = [Purchase(shop=shop, membership=member, amount=Decimal(f"{n}.50"),
                              currency=shop.currency, rules=rules, earn_detail={},
                              points_available_at=timezone.now())
                     for n, member in enumerate(members, start=1)]

        with CaptureQueriesContext(connection) as captured:
            sql.insert_many(purchases)

        assert len(captured) == 1
        for purchase, member in zip(purchases, members, strict=True):
            assert purchase._state.adding is False
            if connection.features.can_return_rows_from_bulk_insert:
                stored = Purchase.objects.get(pk=purchase.pk)
                assert stored.membership_id == member.pk
                assert stored.amount == purchase.amount
        assert Purchase.objects.filter(shop=shop).count() == 3

    def test_nothing_to_insert_runs_no_statement(self):
        with CaptureQueriesContext(connection) as captured:
            assert sql.insert_many([]) == []
        assert len(captured) == 0

    def test_a_refused_row_writes_none_of_them(self, shop):
        member = MembershipFactory(shop=shop)
        rules = program_rules_current(shop=shop)
        good = Purchase(shop=shop, membership=member, amount=Decimal("5.00"),
                        currency=shop.currency, rules=rules, earn_detail={},
                        points_available_at=timezone.now())
        bad = Purchase(shop=shop, membership=member, amount=Decimal("-1.00"),
                       currency=shop.currency, rules=rules, earn_detail={},
                       points_available_at=timezone.now())
        with pytest.raises(IntegrityError), transaction.atomic():
            sql.insert_many([good, bad])
        assert Purchase.objects.filter(shop=shop).count() == 0


class TestExecute:
    def test_it_answers_the_rows_changed(self, shop):
        members = [MembershipFactory(shop=shop) for _ in range(2)]
        changed = sql.execute(
            f"UPDATE {sql.table(Membership)} SET {sql.column(Membership, 'name')} = %s"
            f" WHERE {sql.column(Membership, 'shop')} = %s", ["Zelfde naam", shop.pk])
        assert changed == 2
        assert {m.name for m in Membership.objects.filter(pk__in=[m.pk for m in members])} == {
            "Zelfde naam"}
