"""The database holds the charity program's invariants, whatever the code does: it refuses
the bad row (each named constraint) and any change to a donation once written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from charity.models import Charity, CharityProgram, Donation, Statement
from loyalty import services as loyalty_services
from loyalty.models import Shop
from tests.factories import MembershipFactory, ShopFactory

from .conftest import charity_add, program_set

pytestmark = pytest.mark.django_db


def refused(make, name):
    with pytest.raises(IntegrityError) as exc, transaction.atomic():
        make()
    # PostgreSQL names the constraint; SQLite names a check's, and a unique one's columns.
    message = str(exc.value)
    assert name in message or (connection.vendor == "sqlite"
                               and message.startswith("UNIQUE constraint failed")), message


@pytest.fixture
def gift(db):
    shop = ShopFactory()
    charity_add(shop, "Hope")
    program_set(shop)
    card = MembershipFactory(shop=shop)
    purchase = loyalty_services.purchase_record(shop=Shop.objects.get(pk=shop.pk),
                                                amount="10.00", membership_id=card.pk)
    return Donation.objects.get(purchase=purchase)


def test_a_percentage_over_100_or_a_negative_value_is_refused(gift):
    programs = CharityProgram.objects.filter(pk=gift.shop.charity_program.pk)
    refused(lambda: programs.update(rule_value=Decimal("100.01")),
            "charity_program_percent_range")
    refused(lambda: programs.update(rule_kind="per_purchase", rule_value=Decimal("-1")),
            "charity_program_value_not_negative")
    refused(lambda: programs.update(monthly_cap=Decimal("0")), "charity_program_cap_positive")
    programs.update(rule_kind="per_purchase", rule_value=Decimal("150"))  # an amount may


def test_one_default_per_shop_and_an_inactive_one_is_no_default(gift):
    refused(lambda: Charity.objects.create(shop=gift.shop, name="Second", is_default=True),
            "charity_one_default_per_shop")
    refused(lambda: Charity.objects.filter(pk=gift.charity_id).update(active=False),
            "charity_default_is_active")
    refused(lambda: Charity.objects.create(shop=gift.shop, name="X", registration_kind="anbi"),
            "charity_registration_number_with_kind")


def _copy(gift, **changes):
    values = {f.attname: getattr(gift, f.attname) for f in Donation._meta.concrete_fields
              if f.attname != "id"}
    values["idempotency_key"] = f"copy-{timezone.now().timestamp()}"
    values.update(changes)
    return Donation.objects.create(**values)


def test_one_gift_of_a_kind_per_purchase_and_charity_and_signs_by_kind(gift):
    refused(lambda: _copy(gift), "donation_one_per_purchase_kind")
    refused(lambda: _copy(gift, kind="round_up", amount=Decimal("-1")), "donation_sign_by_kind")
    refused(lambda: _copy(gift, kind="reversal", amount=Decimal("-0.10")),
            "donation_sign_by_kind")  # a reversal points at what it reverses
    refused(lambda: _copy(gift, kind="round_up", purchase_id=None),
            "donation_purchase_share_has_purchase")
    refused(lambda: _copy(gift, kind="points", purchase_id=None), "donation_points_has_entry")
    refused(lambda: _copy(gift, kind="round_up", idempotency_key=gift.idempotency_key),
            "idempotency_key")


def test_a_donation_is_never_changed(gift):
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        Donation.objects.filter(pk=gift.pk).update(amount=Decimal("9.99"))
    assert Donation.objects.get(pk=gift.pk).amount == Decimal("0.20")


def test_a_statement_is_paid_with_a_reference_and_once_per_charity_and_month(gift):
    statement = Statement.objects.create(shop=gift.shop, charity=gift.charity,
                                         month=dt.date(2026, 11, 1), currency="EUR",
                                         closed_at=timezone.now(), payable_from=timezone.now())
    refused(lambda: Statement.objects.filter(pk=statement.pk).update(
        paid_on=dt.date(2026, 12, 1)), "statement_paid_has_reference")
    refused(lambda: Statement.objects.create(shop=gift.shop, charity=gift.charity,
                                             month=dt.date(2026, 11, 1), currency="EUR",
                                             closed_at=timezone.now(),
                                             payable_from=timezone.now()),
            "statement_one_per_charity_month")
