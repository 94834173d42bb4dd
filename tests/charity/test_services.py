"""The charity program's rules, through the services: registrations, the owner's settings
(bad input changes nothing), the shop's share (rounding half up per currency, the monthly cap
crossed mid-purchase), the round-up, attribution, refunds before and after a month's close,
the counter's undo, points given, and a retried purchase."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from charity import selectors, services
from charity.models import (
    Charity,
    CharityChoice,
    CharityProgram,
    Donation,
    DonationKind,
    FundedBy,
    Statement,
)
from loyalty import services as loyalty_services
from loyalty.models import EntryKind, LedgerEntry, Membership, Purchase, Shop
from tests.factories import MembershipFactory, ShopFactory

from .conftest import VALID_90_KONTO, VALID_RSIN, charity_add, program_set

pytestmark = pytest.mark.django_db

NOVEMBER = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
DECEMBER = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
JANUARY = dt.datetime(2027, 1, 5, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def setup(db):
    shop = ShopFactory(currency="EUR")
    hope = charity_add(shop, "Hope", registration_kind="anbi", registration_number=VALID_RSIN)
    trees = charity_add(shop, "Trees")
    card = MembershipFactory(shop=shop)
    program_set(shop)
    return shop, hope, trees, card


def buy(shop, card, amount, **kwargs):
    shop = Shop.objects.get(pk=shop.pk)  # as the earn loads it: charity_enabled with it
    return loyalty_services.purchase_record(shop=shop, amount=amount,
                                            membership_id=card.pk if card else None, **kwargs)


def lines(**filters):
    return sorted((d.charity.name, d.kind, d.amount)
                  for d in Donation.objects.filter(**filters).select_related("charity"))


# --- Registrations and charities ---------------------------------------------------------------


@pytest.mark.parametrize("number", ["111222334", "12345678", "abcdefghi"])
def test_an_rsin_failing_the_eleven_test_or_the_format_is_refused(db, number):
    shop = ShopFactory()
    with pytest.raises(ValidationError) as exc:
        charity_add(shop, "Hope", registration_kind="anbi", registration_number=number)
    assert "registration_number" in exc.value.message_dict
    assert not Charity.objects.exists()


def test_a_valid_rsin_and_90_konto_are_kept_normalised(db):
    shop = ShopFactory()
    dutch = charity_add(shop, "Hope", registration_kind="anbi",
                        registration_number="1112.22.333")
    swedish = charity_add(shop, "Hopp", registration_kind="se90",
                          registration_number="90 00 50-6")
    assert dutch.registration_number == VALID_RSIN
    assert swedish.registration_number == VALID_90_KONTO


@pytest.mark.parametrize("number", ["900050-5", "800050-6", "90005"])
def test_a_90_konto_of_the_wrong_form_or_check_digit_is_refused(db, number):
    with pytest.raises(ValidationError) as exc:
        charity_add(ShopFactory(), "Hopp", registration_kind="se90", registration_number=number)
    assert "registration_number" in exc.value.message_dict


def test_the_first_charity_is_the_default_and_a_shop_holds_twelve_at_most(db):
    shop = ShopFactory()
    for n in range(12):
        charity_add(shop, f"Cause {n}")
    assert list(Charity.objects.filter(is_default=True).values_list("name", flat=True)) == [
        "Cause 0"]
    with pytest.raises(ValidationError, match="12 charities at most"):
        charity_add(shop, "One too many")
    assert Charity.objects.count() == 12


def test_the_default_cannot_be_switched_off_and_names_are_unique(setup):
    shop, hope, _trees, _card = setup
    with pytest.raises(ValidationError, match="default"):
        services.charity_update(shop=shop, charity_id=hope.pk, name="Hope", active=False)
    with pytest.raises(ValidationError, match="of that name"):
        charity_add(shop, "Hope")
    assert Charity.objects.get(pk=hope.pk).active


# --- The owner's settings: bad input changes nothing --------------------------------------------


@pytest.mark.parametrize("value, message", [("100.01", "0 to 100"), ("-1", "below zero"),
                                            ("abc", "Enter a number")])
def test_a_percentage_out_of_range_is_refused(setup, value, message):
    shop, *_rest = setup
    with pytest.raises(ValidationError) as exc:
        program_set(shop, rule_value=value)
    assert message in " ".join(exc.value.message_dict["rule_value"])
    assert CharityProgram.objects.get(shop=shop).rule_value == Decimal("2.00")


def test_another_shops_an_unknown_or_an_inactive_charity_cannot_be_the_default(setup):
    shop, hope, trees, _card = setup
    other = charity_add(ShopFactory(), "Elsewhere")
    services.charity_update(shop=shop, charity_id=trees.pk, name="Trees", active=False)
    for charity_id, message in [(other.pk, "No such charity"), (999999, "No such charity"),
                                (trees.pk, "takes no donations")]:
        with pytest.raises(ValidationError) as exc:
            program_set(shop, rule_value="7", default_charity_id=charity_id)
        assert message in " ".join(exc.value.message_dict["default_charity"])
    assert Charity.objects.get(pk=hope.pk).is_default
    assert Charity.objects.get(pk=other.pk).is_default  # the other shop's own default
    assert not Charity.objects.get(pk=trees.pk).is_default
    assert CharityProgram.objects.get(shop=shop).rule_value == Decimal("2.00")


def test_switching_on_needs_a_charity_and_sets_the_shops_flag(db):
    shop = ShopFactory()
    with pytest.raises(ValidationError, match="Add a charity"):
        program_set(shop)
    assert not Shop.objects.get(pk=shop.pk).charity_enabled
    charity_add(shop, "Hope")
    program_set(shop)
    assert Shop.objects.get(pk=shop.pk).charity_enabled
    program_set(shop, enabled=False)
    assert not Shop.objects.get(pk=shop.pk).charity_enabled


# --- The shop's share ---------------------------------------------------------------------------


@pytest.mark.parametrize("currency, kind, value, amount, share", [
    ("EUR", "percent", "2", "10.25", "0.21"),     # 0.205 → 0.21: half up
    ("EUR", "percent", "2", "10.24", "0.20"),     # 0.2048 → 0.20
    ("SEK", "percent", "1.5", "99.00", "1.49"),   # 1.485 → 1.49 (öre, half up)
    ("SEK", "percent", "2.5", "10.10", "0.25"),   # 0.2525 → 0.25
    ("EUR", "per_unit", "0.05", "27.99", "1.35"),  # 27 whole euros × 0.05
    ("EUR", "per_purchase", "0.50", "3.00", "0.50"),
])
def test_the_shops_share_is_rounded_half_up_per_currency(db, currency, kind, value, amount,
                                                          share):
    shop = ShopFactory(currency=currency)
    charity_add(shop, "Hope")
    program_set(shop, rule_kind=kind, rule_value=value)
    card = MembershipFactory(shop=shop)
    purchase = buy(shop, card, amount)
    gift = Donation.objects.get(purchase=purchase)
    assert (gift.amount, gift.currency, gift.kind, gift.funded_by) == (
        Decimal(share), currency, DonationKind.SHOP_SHARE, FundedBy.SHOP)


def test_the_monthly_cap_gives_only_what_fits_then_nothing(setup):
    shop, *_rest, card = setup
    program_set(shop, rule_value="10", monthly_cap="15.00")
    buy(shop, card, "100.00")                  # 10.00
    crossing = buy(shop, card, "80.00")        # 8.00 asked, 5.00 fits
    over = buy(shop, card, "50.00")            # nothing fits
    assert Donation.objects.get(purchase=crossing).amount == Decimal("5.00")
    assert not Donation.objects.filter(purchase=over).exists()
    assert sum(d.amount for d in Donation.objects.all()) == Decimal("15.00")


def test_the_donation_is_payable_after_the_pending_window_and_in_the_shops_month(setup):
    shop, *_rest, card = setup
    loyalty_services.program_rules_update(shop=shop, by=None, pending_days=14)
    # 23:30 UTC on 30 November is already December in Amsterdam.
    with time_machine.travel(dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC), tick=False):
        purchase = buy(shop, card, "20.00")
    gift = Donation.objects.get(purchase=purchase)
    assert gift.payable_at == purchase.points_available_at
    assert gift.payable_at - purchase.created_at == dt.timedelta(days=14)
    assert gift.month == dt.date(2026, 12, 1)


def test_a_shop_without_the_program_gives_nothing_and_a_sale_without_card_no_share(setup):
    shop, *_rest, card = setup
    buy(shop, None, "20.00")
    assert not Donation.objects.exists()
    program_set(shop, enabled=False)
    buy(shop, card, "20.00")
    assert not Donation.objects.exists()


def test_a_retried_purchase_donates_once(setup):
    shop, *_rest, card = setup
    buy(shop, card, "20.00", idempotency_key="till-7", extras={"round_up": False})
    with pytest.raises(loyalty_services.DuplicateRequest):
        buy(shop, card, "20.00", idempotency_key="till-7")
    assert Purchase.objects.count() == 1
    assert lines() == [("Hope", "shop_share", Decimal("0.40"))]


# --- Round-up ---------------------------------------------------------------------------------


@pytest.mark.parametrize("amount, gift", [("27.40", "0.60"), ("28.00", "0.00"),
                                          ("0.01", "0.99"), ("9.99", "0.01")])
def test_roundup_amount_rounds_to_the_next_whole_unit_and_leaves_an_exact_one(amount, gift):
    assert services.roundup_amount(Decimal(amount)) == Decimal(gift)


def test_a_round_up_is_the_customers_own_and_an_exact_amount_gives_none(setup):
    shop, *_rest, card = setup
    rounded = buy(shop, card, "27.40", extras={"round_up": True})
    exact = buy(shop, card, "28.00", extras={"round_up": True})
    chosen = buy(shop, None, "5.00", extras={"donation_amount": "2.50"})
    assert lines(purchase=rounded) == [("Hope", "round_up", Decimal("0.60")),
                                       ("Hope", "shop_share", Decimal("0.55"))]
    assert lines(purchase=exact) == [("Hope", "shop_share", Decimal("0.56"))]
    assert lines(purchase=chosen) == [("Hope", "round_up", Decimal("2.50"))]
    assert Donation.objects.get(purchase=chosen).funded_by == FundedBy.CUSTOMER


@pytest.mark.parametrize("extras, code", [
    ({"donation_amount": "5.01"}, "too_large"),
    ({"donation_amount": "1.00", "donation_currency": "SEK"}, "currency"),
    ({"round_up": True, "donation_amount": "1.00"}, "invalid"),
    ({"donation_amount": "-1"}, "invalid"),
])
def test_a_bad_round_up_refuses_the_purchase_and_writes_nothing(setup, extras, code):
    shop, *_rest, card = setup
    with pytest.raises(ValidationError) as exc:
        buy(shop, card, "10.00", extras=extras)
    assert exc.value.error_dict["round_up"][0].code == code
    assert not Purchase.objects.exists() and not Donation.objects.exists()
    assert not LedgerEntry.objects.exists()
    assert Membership.objects.get(pk=card.pk).points_balance == 0


def test_a_round_up_in_a_shop_without_the_program_is_refused(setup):
    shop, *_rest, card = setup
    program_set(shop, enabled=False)
    with pytest.raises(ValidationError, match="does not take donations"):
        buy(shop, card, "10.40", extras={"round_up": True})
    assert not Purchase.objects.exists()


# --- Attribution ------------------------------------------------------------------------------


def test_each_donation_goes_to_the_charity_chosen_at_the_time_of_its_purchase(setup):
    shop, hope, trees, card = setup
    first = buy(shop, card, "10.00")                       # no choice yet: the default
    choice = services.membership_charity_choose(membership=card, charity_id=trees.pk)
    second = buy(shop, card, "10.00")
    services.membership_charity_choose(membership=card, charity_id=hope.pk)
    third = buy(shop, card, "10.00")
    assert [Donation.objects.get(purchase=p).charity for p in (first, second, third)] == [
        hope, trees, hope]
    assert Donation.objects.get(purchase=second).choice == choice
    assert CharityChoice.objects.filter(membership=card).count() == 2  # the history stays


def test_a_member_cannot_choose_another_shops_or_an_inactive_charity(setup):
    shop, _hope, trees, card = setup
    other = charity_add(ShopFactory(), "Elsewhere")
    services.charity_update(shop=shop, charity_id=trees.pk, name="Trees", active=False)
    for charity_id in (other.pk, trees.pk, "x"):
        with pytest.raises(ValidationError):
            services.membership_charity_choose(membership=card, charity_id=charity_id)
    assert not CharityChoice.objects.exists()


def test_a_chosen_charity_switched_off_later_falls_back_to_the_default(setup):
    shop, hope, trees, card = setup
    choice = services.membership_charity_choose(membership=card, charity_id=trees.pk)
    chosen = Donation.objects.get(purchase=buy(shop, card, "10.00"))
    assert (chosen.charity, chosen.choice_id) == (trees, choice.pk)
    services.charity_update(shop=shop, charity_id=trees.pk, name="Trees", active=False)
    fallen_back = Donation.objects.get(purchase=buy(shop, card, "10.00"))
    assert (fallen_back.charity, fallen_back.choice_id) == (hope, None)
    assert chosen.idempotency_key.endswith(f":shop_share:{trees.pk}")
    assert fallen_back.idempotency_key.endswith(f":shop_share:{hope.pk}")


def test_an_even_split_adds_up_to_the_share(setup):
    shop, *_rest, card = setup
    charity_add(shop, "Water")
    program_set(shop, split="even", rule_kind="per_purchase", rule_value="1.00")
    purchase = buy(shop, card, "10.00")
    assert lines(purchase=purchase) == [("Hope", "shop_share", Decimal("0.34")),
                                        ("Trees", "shop_share", Decimal("0.33")),
                                        ("Water", "shop_share", Decimal("0.33"))]


# --- Refunds and undo ---------------------------------------------------------------------------


def test_refunds_reverse_the_share_in_proportion_and_keep_the_round_up(setup):
    shop, *_rest, card = setup
    purchase = buy(shop, card, "30.00", extras={"donation_amount": "1.00"})  # share 0.60
    loyalty_services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount="10.00")
    loyalty_services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount="20.00")
    reversals = Donation.objects.filter(kind=DonationKind.REVERSAL).order_by("pk")
    assert [r.amount for r in reversals] == [Decimal("-0.20"), Decimal("-0.40")]
    assert {r.reverses.kind for r in reversals} == {DonationKind.SHOP_SHARE}
    net = {kind: sum(d.amount for d in Donation.objects.filter(purchase=purchase)
                     if (d.reverses or d).kind == kind) for kind in ("shop_share", "round_up")}
    assert net == {"shop_share": Decimal("0.00"), "round_up": Decimal("1.00")}


def test_the_counters_undo_reverses_the_round_up_too(setup, owner):
    shop, *_rest, card = setup
    purchase = buy(shop, card, "9.40", extras={"round_up": True})
    loyalty_services.purchase_undo(shop=shop, purchase_id=purchase.pk, reason="typo", by=owner)
    assert sum(d.amount for d in Donation.objects.filter(purchase=purchase)) == 0
    assert Donation.objects.filter(kind=DonationKind.REVERSAL).count() == 2


def test_a_refund_before_the_close_counts_in_the_purchases_month_after_it_in_the_next(setup):
    shop, hope, _trees, card = setup
    with time_machine.travel(NOVEMBER, tick=False):
        early = buy(shop, card, "50.00")   # 1.00
        late = buy(shop, card, "100.00")   # 2.00
        loyalty_services.purchase_refund(shop=shop, purchase_id=early.pk, amount="25.00")
    with time_machine.travel(DECEMBER, tick=False):
        [statement] = services.month_close(shop=shop, month=dt.date(2026, 11, 1))
        loyalty_services.purchase_refund(shop=shop, purchase_id=late.pk, amount="100.00")
    november = Donation.objects.filter(month=dt.date(2026, 11, 1))
    assert sorted(d.amount for d in november) == [Decimal("-0.50"), Decimal("1.00"),
                                                  Decimal("2.00")]
    # Two donations: the refund's line takes back part of one, it is not a donation.
    assert (statement.charity, statement.donations_count, statement.shop_funded,
            statement.customer_funded) == (hope, 2, Decimal("2.50"), Decimal("0.00"))
    [negative] = Donation.objects.filter(month=dt.date(2026, 12, 1))
    assert negative.amount == Decimal("-2.00") and negative.reverses.purchase == late
    # The closed statement did not move.
    assert Statement.objects.get(pk=statement.pk).shop_funded == Decimal("2.50")
    call_command("reconcile_donations")


# --- Points given ---------------------------------------------------------------------------


def test_points_given_leave_the_card_as_a_redemption_and_the_owner_can_reverse_them(setup,
                                                                                     owner):
    shop, hope, _trees, card = setup
    program_set(shop, points_per_unit=100)
    buy(shop, card, "50.00")  # 500 points
    [gift] = services.points_donate(shop=shop, membership_id=card.pk, points=250)
    assert (gift.amount, gift.kind, gift.funded_by, gift.charity) == (
        Decimal("2.50"), DonationKind.POINTS, FundedBy.SHOP, hope)
    assert gift.entry.kind == EntryKind.REDEMPTION and gift.entry.points == -250
    assert Membership.objects.get(pk=card.pk).points_balance == 250
    reversal = services.points_donation_reverse(shop=shop, donation_id=gift.pk, by=owner,
                                                reason="asked by the member")
    assert reversal.amount == Decimal("-2.50") and reversal.reverses == gift
    assert Membership.objects.get(pk=card.pk).points_balance == 500
    with pytest.raises(ValidationError, match="already"):
        services.points_donation_reverse(shop=shop, donation_id=gift.pk, by=owner)
    assert Membership.objects.get(pk=card.pk).points_balance == 500


@pytest.mark.parametrize("language, words", [
    ("nl", "Gegeven aan een goed doel: € 2,50"),
    ("sv", "Skänkt till välgörenhet: 2,50 €"),
    ("en", "Given to charity: €2.50"),
])
def test_the_history_line_of_points_given_is_in_the_shops_language(setup, language, words):
    from django.utils import translation

    shop, *_rest, card = setup
    shop.language = language
    shop.save(update_fields=["language"])
    program_set(shop, points_per_unit=100)
    buy(shop, card, "50.00")
    with translation.override("en" if language != "en" else "nl"):  # the page's language
        [gift] = services.points_donate(shop=shop, membership_id=card.pk, points=250)
    assert gift.entry.note.replace("\xa0", " ") == words


@pytest.mark.parametrize("points, message", [(600, "Not enough points"), (0, "above zero"),
                                             (1, "worth nothing")])
def test_points_beyond_the_balance_or_worth_nothing_are_refused(setup, points, message):
    shop, *_rest, card = setup
    program_set(shop, points_per_unit=1000)
    buy(shop, card, "50.00")
    before = Donation.objects.count()
    with pytest.raises(ValidationError, match=message):
        services.points_donate(shop=shop, membership_id=card.pk, points=points)
    assert Donation.objects.count() == before
    assert Membership.objects.get(pk=card.pk).points_balance == 500


def test_points_cannot_be_given_where_the_shop_takes_none(setup):
    shop, *_rest, card = setup
    buy(shop, card, "50.00")
    with pytest.raises(ValidationError, match="does not take points"):
        services.points_donate(shop=shop, membership_id=card.pk, points=100)


def test_points_given_twice_with_one_key_are_given_once_even_when_the_balance_is_spent(setup):
    shop, *_rest, card = setup
    program_set(shop, points_per_unit=100)
    buy(shop, card, "50.00")  # 500 points
    services.points_donate(shop=shop, membership_id=card.pk, points=400, idempotency_key="k1")
    with pytest.raises(loyalty_services.DuplicateRequest):  # not "Not enough points"
        services.points_donate(shop=shop, membership_id=card.pk, points=400,
                               idempotency_key="k1")
    assert Donation.objects.filter(kind=DonationKind.POINTS).count() == 1
    assert Membership.objects.get(pk=card.pk).points_balance == 100


@pytest.mark.parametrize("points, message", [
    (600, "Not enough points: 500 can be spent, 600 asked."), ("abc", "above zero"),
    (0, "above zero"), (True, "above zero"), (1, "worth nothing")])
def test_the_quote_refuses_what_the_gift_would_and_writes_nothing(setup, points, message):
    shop, *_rest, card = setup
    program_set(shop, points_per_unit=1000)
    buy(shop, card, "50.00")
    entries = LedgerEntry.objects.count()
    with pytest.raises(ValidationError, match=message):
        services.points_donation_quote(shop=shop, membership=card, points=points)
    assert LedgerEntry.objects.count() == entries and Donation.objects.count() == 1


def test_the_quote_says_what_and_to_whom(setup):
    shop, hope, _trees, card = setup
    program_set(shop, points_per_unit=100)
    buy(shop, card, "50.00")
    quote = services.points_donation_quote(shop=shop, membership=card, points=" 250 ")
    assert quote == {"points": 250, "money": Decimal("2.50"), "currency": "EUR",
                     "charities": [hope]}


# --- Months and statements -------------------------------------------------------------------


def test_months_close_in_order_once_ended_and_once(setup):
    shop, *_rest, card = setup
    with time_machine.travel(NOVEMBER - dt.timedelta(days=31), tick=False):
        buy(shop, card, "10.00")  # October
    with time_machine.travel(NOVEMBER, tick=False):
        buy(shop, card, "10.00")
        with pytest.raises(ValidationError, match="once it has ended"):
            services.month_close(shop=shop, month=dt.date(2026, 11, 1))
    with time_machine.travel(JANUARY, tick=False):
        with pytest.raises(ValidationError, match="2026-10 first"):
            services.month_close(shop=shop, month=dt.date(2026, 11, 1))
        services.month_close(shop=shop, month=dt.date(2026, 10, 1))
        with pytest.raises(ValidationError, match="closed already"):
            services.month_close(shop=shop, month=dt.date(2026, 10, 1))
        services.month_close(shop=shop, month=dt.date(2026, 11, 1))
    assert Statement.objects.count() == 2


def test_a_statement_is_marked_paid_with_a_date_and_a_reference(setup):
    shop, *_rest, card = setup
    with time_machine.travel(NOVEMBER, tick=False):
        buy(shop, card, "9.40", extras={"round_up": True})
    with time_machine.travel(DECEMBER, tick=False):
        [statement] = services.month_close(shop=shop, month=dt.date(2026, 11, 1))
        with pytest.raises(ValidationError) as exc:
            services.statement_mark_paid(shop=shop, statement_id=statement.pk,
                                         paid_on=dt.date(2026, 12, 2), reference="  ")
        assert "reference" in exc.value.message_dict
        with pytest.raises(ValidationError, match="No such statement"):
            services.statement_mark_paid(shop=ShopFactory(), statement_id=statement.pk,
                                         paid_on=dt.date(2026, 12, 2), reference="X")
        assert Statement.objects.get(pk=statement.pk).paid_on is None
        paid = services.statement_mark_paid(shop=shop, statement_id=statement.pk,
                                            paid_on=dt.date(2026, 12, 2), reference="NL-42")
    assert (paid.paid_on, paid.paid_reference) == (dt.date(2026, 12, 2), "NL-42")
    csv_text = selectors.statements_csv(shop=shop, month=dt.date(2026, 11, 1))
    assert "2026-11,Hope,Dutch ANBI (RSIN) 111222333,2,0.19,0.60,0.79,EUR," in csv_text
    assert csv_text.strip().endswith("2026-12-02,NL-42")


def test_reconcile_donations_reports_a_statement_that_differs_from_the_ledger(setup):
    shop, *_rest, card = setup
    with time_machine.travel(NOVEMBER, tick=False):
        buy(shop, card, "10.00")
    with time_machine.travel(DECEMBER, tick=False):
        [statement] = services.month_close(shop=shop, month=dt.date(2026, 11, 1))
    call_command("reconcile_donations", shop=shop.slug)
    Statement.objects.filter(pk=statement.pk).update(shop_funded=Decimal("9.99"))
    with pytest.raises(CommandError, match="1 problem"):
        call_command("reconcile_donations")


_forged = itertools.count(1)


def forge(line: Donation, **changes) -> Donation:
    """A copy of ``line`` with ``changes`` written straight into the ledger, past the services
    and their rules: an INSERT, which the append-only ledger allows on every database (its
    trigger refuses UPDATE and DELETE only). Stamped now (``created_at``)."""
    values = {field.attname: getattr(line, field.attname)
              for field in Donation._meta.concrete_fields if not field.primary_key}
    values.update(idempotency_key=f"forged-{next(_forged)}", **changes)
    return Donation.objects.create(**values)


def reconcile_fails(**options) -> str:
    """The command's output; it must exit non-zero (CommandError: exit status 1)."""
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"problem\(s\) in the donation ledger") as exc:
        call_command("reconcile_donations", stdout=out, **options)
    return f"{out.getvalue()}{exc.value}"


@pytest.fixture
def november_closed(setup):
    """November's gift of 0.20 to Hope (the default), its month closed on 3 December."""
    shop, hope, trees, card = setup
    with time_machine.travel(NOVEMBER, tick=False):
        buy(shop, card, "10.00")
    with time_machine.travel(DECEMBER, tick=False):
        [statement] = services.month_close(shop=shop, month=dt.date(2026, 11, 1))
    call_command("reconcile_donations", stdout=io.StringIO())  # all is well so far
    return Donation.objects.get(), statement


def test_reconcile_donations_reports_a_line_written_into_a_closed_month(setup, november_closed):
    gift, statement = november_closed
    with time_machine.travel(DECEMBER + dt.timedelta(days=1), tick=False):
        forge(gift, kind=DonationKind.ROUND_UP, funded_by=FundedBy.CUSTOMER,
              amount=Decimal("1.00"))
    output = reconcile_fails()
    assert f"MISMATCH statement {statement.pk}: 1 line(s) written after the close" in output
    # The statement no longer equals its month's lines either.
    assert (f"MISMATCH statement {statement.pk} (2026-11, charity {gift.charity_id}): holds "
            f"(1, Decimal('0.20'), Decimal('0.00')), the ledger (2, ") in output
    assert "2 problem(s)" in output


def test_reconcile_donations_reports_a_gift_taken_back_more_than_it_gave(setup):
    shop, _hope, _trees, card = setup
    purchase = buy(shop, card, "10.00")  # 0.20
    loyalty_services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount="5.00")
    gift = Donation.objects.get(kind=DonationKind.SHOP_SHARE)
    assert selectors.donations_reconcile() == []  # 0.10 of 0.20 taken back: fine
    forge(gift, kind=DonationKind.REVERSAL, source="refund", amount=Decimal("-0.15"),
          reverses_id=gift.pk)
    output = reconcile_fails(shop=shop.slug)
    assert f"MISMATCH donation {gift.pk}: 0.25 taken back of 0.20" in output
    assert "1 problem(s)" in output


def test_reconcile_donations_reports_a_line_in_another_currency_than_the_shops(setup):
    shop, _hope, _trees, card = setup
    buy(shop, card, "10.00")
    gift = Donation.objects.get()
    odd = forge(gift, kind=DonationKind.ROUND_UP, funded_by=FundedBy.CUSTOMER,
                amount=Decimal("1.00"), currency="SEK")
    output = reconcile_fails()
    assert f"MISMATCH donation {odd.pk}: not in its shop's currency" in output
    assert f"donation {gift.pk}:" not in output
    assert "1 problem(s)" in output


def test_reconcile_donations_reports_a_closed_months_line_of_a_charity_without_statement(
        setup, november_closed):
    """Every line of a closed month is in a statement of its charity and month: a line for a
    charity that has no statement that month, or in a closed month without any statement, is
    reported too."""
    shop, hope, trees, _card = setup
    gift, _statement = november_closed
    with time_machine.travel(JANUARY, tick=False):
        assert services.month_close(shop=shop, month=dt.date(2026, 12, 1)) == []  # no lines
    with time_machine.travel(JANUARY + dt.timedelta(days=1), tick=False):
        forge(gift, charity_id=trees.pk)
        forge(gift, kind=DonationKind.ROUND_UP, funded_by=FundedBy.CUSTOMER,
              amount=Decimal("1.00"), month=dt.date(2026, 12, 1))
    assert Statement.objects.filter(charity=trees).count() == 0
    output = reconcile_fails(shop=shop.slug)
    assert (f"MISMATCH charity {trees.pk}: 1 line(s) of the closed month 2026-11 in no "
            f"statement") in output
    assert (f"MISMATCH charity {hope.pk}: 1 line(s) of the closed month 2026-12 in no "
            f"statement") in output
    assert "2 problem(s)" in output


def test_a_purchase_of_a_month_closed_meanwhile_counts_in_the_next(setup):
    """The purchase's clock said 30 November, but the month was closed before its donation was
    written (it waited for the program's lock): the line lands in December, not in the
    closed month."""
    shop, *_rest, card = setup
    with time_machine.travel(NOVEMBER, tick=False):
        buy(shop, card, "10.00")
    with time_machine.travel(DECEMBER, tick=False):
        services.month_close(shop=shop, month=dt.date(2026, 11, 1))
    late = Purchase.objects.first()
    late.pk, late.idempotency_key, late.created_at = None, None, NOVEMBER
    late.shop = Shop.objects.get(pk=shop.pk)
    late.extras = {}
    late.save()
    late.created_at = NOVEMBER  # auto_now_add stamped it now
    assert selectors.month_of(late.created_at, shop.time_zone) == dt.date(2026, 11, 1)
    [line] = services.purchase_donate(purchase=late)
    assert line.month == dt.date(2026, 12, 1)
    assert selectors.donations_reconcile() == []


def test_the_impact_per_member_and_per_shop_says_who_funded_what_net_of_refunds(setup):
    shop, hope, trees, card = setup
    other = MembershipFactory(shop=shop)
    with time_machine.travel(NOVEMBER, tick=False):
        mine = buy(shop, card, "30.00", extras={"donation_amount": "1.00"})   # 0.60 + 1.00
        loyalty_services.purchase_refund(shop=shop, purchase_id=mine.pk, amount="15.00")
    services.membership_charity_choose(membership=other, charity_id=trees.pk)
    buy(shop, other, "10.00")                                                 # 0.20 to Trees
    assert selectors.membership_impact(membership=card) == [
        {"charity_id": hope.pk, "name": "Hope", "shop_funded": Decimal("0.30"),
         "customer_funded": Decimal("1.00"), "total": Decimal("1.30")}]
    assert selectors.membership_impact(membership=card, year=2025) == []
    totals = {row["name"]: row["total"] for row in selectors.shop_impact(shop=shop)}
    assert totals == {"Hope": Decimal("1.30"), "Trees": Decimal("0.20")}
    november = selectors.shop_impact(shop=shop, month=dt.date(2026, 11, 1))
    assert [row["name"] for row in november] == ["Hope"]
