"""A birthday gift per level: the birthday job gives a member on a level that level's own points
(on SQLite in a few statements, on PostgreSQL in the one CTE statement — run this file with
DATABASE_URL for that path), a level without its own points falls back to the shop's, and the
e-mail, the history line and the pages say the amount the member really gets."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loyalty import emails, selectors
from loyalty import services as loyalty_services
from loyalty.models import BirthdayGift, EntryKind, LedgerEntry, Membership, OutboxMessage
from loyalty.services import birthdays, purchase_record
from tests.factories import MembershipFactory, UserFactory
from tests.helpers import signed_in, text
from tiers import selectors as tier_selectors

from .conftest import levels_set

pytestmark = pytest.mark.django_db

UTC = dt.UTC
BORN = dt.date(1990, 6, 15)
PURCHASES_AT = dt.datetime(2026, 6, 1, 12, tzinfo=UTC)
GIFT_AT = dt.datetime(2026, 6, 15, 12, tzinfo=UTC)  # 14:00 in Amsterdam, the day itself

# Brons without its own gift (the shop's 250), Zilver 500, Goud 1,000.
TIERS = [
    {"name": "Brons", "colour": "#cd7f32", "threshold": "100", "multiplier": "1.00",
     "birthday_points": ""},
    {"name": "Zilver", "colour": "#c0c0c0", "threshold": "500", "multiplier": "1.25",
     "birthday_points": "500"},
    {"name": "Goud", "colour": "#ffd700", "threshold": "1000", "multiplier": "1.50",
     "birthday_points": "1000"},
]


def _gift_rules(shop, points=250):
    return loyalty_services.program_rules_update(
        shop=shop, by=None, birthday_points=points, birthday_window="day",
        birthday_days_before=0)


def _cards(shop, amounts: dict[str, str | None], tiers=TIERS) -> dict[str, Membership]:
    """Cards with a birthday today and the purchases that place them (10 points a euro), then
    the levels switched on (members placed by their history)."""
    cards = {}
    with time_machine.travel(PURCHASES_AT, tick=False):
        for label, amount in amounts.items():
            card = MembershipFactory(shop=shop, birthday=BORN, marketing_consent=True,
                                     name=label)
            if amount:
                purchase_record(shop=shop, amount=amount, membership_id=card.pk)
            cards[label] = card
        levels_set(shop, period="lifetime", tiers=tiers)
    for card in cards.values():
        card.refresh_from_db()
    return cards


def _give(shop, **kwargs):
    with time_machine.travel(GIFT_AT, tick=False):
        shop.refresh_from_db()
        return loyalty_services.birthday_gifts_give(shop=shop, **kwargs)


@pytest.fixture
def four(shop):
    _gift_rules(shop)
    return _cards(shop, {"none": None, "brons": "15.00", "zilver": "60.00", "goud": "110.00"})


def test_each_level_gets_its_own_birthday_points_and_no_level_the_shops(shop, four):
    assert {label: card.level_name for label, card in four.items()} == {
        "none": "", "brons": "Brons", "zilver": "Zilver", "goud": "Goud"}
    before = {label: card.points_balance for label, card in four.items()}

    run = _give(shop)

    expected = {"none": 250, "brons": 250, "zilver": 500, "goud": 1000}
    assert run.given == 4 and run.points == sum(expected.values())
    for label, card in four.items():
        card.refresh_from_db()
        gift = BirthdayGift.objects.get(membership=card)
        assert gift.points == expected[label], label
        assert gift.entry.kind == EntryKind.BIRTHDAY and gift.entry.points == expected[label]
        assert card.points_balance == before[label] + expected[label]
        message = OutboxMessage.objects.get(membership=card, kind="birthday")
        assert message.context["points"] == expected[label]
    assert selectors.ledger_mismatches() == []


def test_twice_run_is_once_given_with_levels(shop, four):
    _give(shop)
    again = _give(shop)
    assert again.given == 0
    assert BirthdayGift.objects.count() == 4
    assert LedgerEntry.objects.filter(kind=EntryKind.BIRTHDAY).count() == 4


def test_the_email_and_the_history_say_the_levels_amount(shop, four):
    _give(shop)
    goud = four["goud"]
    message = OutboxMessage.objects.get(membership=goud, kind="birthday")
    email = emails.birthday(message)
    assert "1,000" in email.text and "1,000" in email.html
    assert "250" not in email.text

    goud.user = UserFactory(email="goud@example.com")
    goud.save(update_fields=["user"])
    with time_machine.travel(GIFT_AT, tick=False):
        card = signed_in(goud.user).get(reverse("portal:card", args=[shop.slug]),
                                        headers={"accept-language": "en"})
    assert card.status_code == 200
    assert "+1,000 points" in text(card) and "Birthday gift" in text(card)


def test_the_highest_level_without_its_own_points_falls_back_to_the_shops(shop):
    """Only Zilver has its own points: Goud's rank lies beyond them (on PostgreSQL past the
    array's end) and gets the shop's 250, as Brons and a card without a level do."""
    _gift_rules(shop, points=250)
    tiers = [TIERS[0], TIERS[1], dict(TIERS[2], birthday_points="")]
    cards = _cards(shop, {"none": None, "brons": "15.00", "zilver": "60.00", "goud": "110.00"},
                   tiers=tiers)
    assert cards["goud"].level_rank == 3
    _give(shop)
    gifts = dict(BirthdayGift.objects.values_list("membership_id", "points"))
    assert gifts == {cards["none"].pk: 250, cards["brons"].pk: 250, cards["zilver"].pk: 500,
                     cards["goud"].pk: 250}


def test_a_level_of_zero_gives_no_points_and_without_a_voucher_no_gift(shop):
    _gift_rules(shop, points=250)
    tiers = [dict(TIERS[0], birthday_points="0"), TIERS[1]]
    cards = _cards(shop, {"none": None, "brons": "15.00", "zilver": "60.00"}, tiers=tiers)
    run = _give(shop)
    assert run.given == 2
    gifts = dict(BirthdayGift.objects.values_list("membership_id", "points"))
    assert gifts == {cards["none"].pk: 250, cards["zilver"].pk: 500}
    # Brons got nothing: no gift row, no entry and no e-mail (it may get one if a level or
    # the shop's points change before next year).
    assert not OutboxMessage.objects.filter(membership=cards["brons"]).exists()


def test_a_shop_without_birthday_points_gives_only_the_levels_that_have_them(shop):
    _gift_rules(shop, points=0)
    cards = _cards(shop, {"none": None, "brons": "15.00", "zilver": "60.00"})
    run = _give(shop)
    assert run.given == 1 and run.points == 500
    assert list(BirthdayGift.objects.values_list("membership_id", "points")) == [
        (cards["zilver"].pk, 500)]


def test_levels_switched_off_give_everyone_the_shops_points(shop, four):
    levels_set(shop, period="lifetime", tiers=TIERS, enabled=False)
    tier_selectors.program_forget_all()
    _give(shop)
    assert set(BirthdayGift.objects.values_list("points", flat=True)) == {250}


def test_the_cap_holds_for_a_levels_points(shop, four):
    from loyalty.points import MAX_BALANCE

    goud = four["goud"]
    loyalty_services.points_credit(shop=shop, membership_id=goud.pk,
                                   points=MAX_BALANCE - goud.points_balance - 300,
                                   kind=EntryKind.ADJUSTMENT)
    _give(shop)
    goud.refresh_from_db()
    assert goud.points_balance == MAX_BALANCE
    assert BirthdayGift.objects.get(membership=goud).points == 300
    assert selectors.ledger_mismatches() == []


def test_a_batch_costs_the_same_statements_with_levels(shop, four, other_shop):
    """The levels' points are read once per run, not per batch: a batch's statements are as
    many as in a shop without levels (one on PostgreSQL)."""
    _gift_rules(other_shop)
    plain = [MembershipFactory(shop=other_shop, birthday=BORN, marketing_consent=True)
             for _ in range(4)]
    by_level = birthdays.birthday_points_by_level(shop=shop)
    assert by_level == {2: 500, 3: 1000}

    def statements(the_shop, cards, levels):
        rules = loyalty_services.program_rules_current(shop=the_shop)
        run = birthdays.BirthdayRun(shop_id=the_shop.pk, local_date=GIFT_AT.date())
        with time_machine.travel(GIFT_AT, tick=False), \
                CaptureQueriesContext(connection) as queries:
            birthdays._batch_give(shop=the_shop, rules=rules, by_level=levels,
                                  batch=[(c.pk, dt.date(2026, 6, 15)) for c in cards],
                                  now=GIFT_AT, run=run)
        assert run.given == len(cards)
        return [q["sql"] for q in queries.captured_queries
                if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT"))]

    with_levels = statements(shop, list(four.values()), by_level)
    without = statements(other_shop, plain, {})
    assert len(with_levels) == len(without)
    if connection.vendor == "postgresql":
        # The sequence's name, the one CTE statement, the outbox's rows.
        assert sum(1 for sql in with_levels if sql.lstrip().startswith("WITH")) == 1


def test_the_levels_points_need_the_shops_levels_on(shop, four):
    shop.levels_enabled = False  # as loaded with the shop: no query then
    with CaptureQueriesContext(connection) as queries:
        assert birthdays.birthday_points_by_level(shop=shop) == {}
    assert len(queries) == 0


# --- the words ------------------------------------------------------------------------------


def test_the_words_of_each_levels_gift(shop, four):
    assert loyalty_services.birthday_gift_words(shop=shop) == "250 points"
    assert loyalty_services.birthday_gift_words(shop=shop, level_rank=3) == "1,000 points"
    assert loyalty_services.birthday_gift_words(shop=shop, level_rank=1) == "250 points"
    assert loyalty_services.birthday_gift_by_level_lines(shop=shop) == [
        "Zilver: 500 points on their birthday", "Goud: 1,000 points on their birthday"]


def test_the_owners_birthday_page_lists_the_levels_gifts(shop, four, owner_client):
    page = owner_client.get(reverse("dashboard:birthday", args=[shop.slug]),
                            headers={"accept-language": "en"})
    body = text(page)
    assert "Members get 250 points on their birthday, from 06:00." in body
    assert "Goud: 1,000 points on their birthday" in body
    assert "Brons:" not in body  # Brons gives the shop's usual gift


def test_a_shop_with_only_level_gifts_does_not_say_no_gift(shop):
    _gift_rules(shop, points=0)
    _cards(shop, {"zilver": "60.00"})
    assert loyalty_services.birthday_gift_sentence(shop=shop) == (
        "Members get their level's birthday points on their birthday, from 06:00.")


def _member_at(shop, card, email):
    card.user = UserFactory(email=email)
    card.save(update_fields=["user"])
    return signed_in(card.user)


def test_the_portal_says_the_members_own_gift(shop, four):
    goud = _member_at(shop, four["goud"], "goud@example.com")
    none = _member_at(shop, four["none"], "none@example.com")
    for client, words in ((goud, "1,000 points"), (none, "250 points")):
        birthday = text(client.get(reverse("portal:birthday", args=[shop.slug]),
                                   headers={"accept-language": "en"}))
        assert f"gives you {words}." in birthday
        how = text(client.get(reverse("portal:how_it_works", args=[shop.slug]),
                              headers={"accept-language": "en"}))
        assert f"On your birthday: {words}." in how


def test_the_portal_levels_page_lists_each_levels_birthday_gift(shop, four):
    client = _member_at(shop, four["brons"], "brons@example.com")
    body = text(client.get(reverse("portal_levels", args=[shop.slug]),
                           headers={"accept-language": "en"}))
    assert "Goud" in body and "1,000 points on your birthday" in body
    assert "500 points on your birthday" in body
    assert body.count("on your birthday") == 2  # Brons has the shop's usual gift


def test_a_member_whose_level_alone_gives_a_gift_is_told_when_it_starts(shop):
    """The shop gives no birthday points, Zilver does: a Zilver member entering a birthday
    too close now hears that it counts from next year; a member without a level hears
    nothing (there is no gift to promise)."""
    _gift_rules(shop, points=0)
    cards = _cards(shop, {"none": None, "zilver": "60.00"})
    for label, told in (("zilver", True), ("none", False)):
        client = _member_at(shop, cards[label], f"{label}@example.com")
        with time_machine.travel(dt.datetime(2026, 6, 1, 10, tzinfo=UTC), tick=False):
            response = client.post(reverse("portal:birthday", args=[shop.slug]),
                                   {"birthday": "1990-06-10"}, follow=True,
                                   headers={"accept-language": "en"})
        assert response.status_code == 200
        assert ("Your birthday gift starts next year" in text(response)) is told, label
