"""The member's charity pages in the portal: choosing a charity (bad input refused in our
words, nothing changed), "My impact" equal to the ledger and saying who funded what, the
printable yearly summary, and giving points with a confirm step."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Sum
from django.urls import reverse

from charity import services
from charity.models import CharityChoice, Donation
from loyalty import services as loyalty_services
from loyalty.models import LedgerEntry, Membership, Shop
from tests.factories import MembershipFactory, OwnerFactory, ShopFactory, UserFactory
from tests.helpers import text

from .conftest import VALID_90_KONTO, VALID_RSIN, charity_add, program_set

pytestmark = pytest.mark.django_db

NOVEMBER = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
DECEMBER = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def charities(shop):
    hope = charity_add(shop, "Voedselbank Noord", description="Eten voor wie het nodig heeft",
                       registration_kind="anbi", registration_number=VALID_RSIN,
                       website="https://voedselbank.example")
    trees = charity_add(shop, "Bomen voor later", registration_kind="se90",
                        registration_number=VALID_90_KONTO)
    return hope, trees


@pytest.fixture
def program(shop, charities):
    return program_set(shop, points_per_unit=100)


def buy(shop, card, amount, **kwargs):
    shop = Shop.objects.get(pk=shop.pk)
    return loyalty_services.purchase_record(shop=shop, amount=amount, membership_id=card.pk,
                                            **kwargs)


def points_give(shop, member, points):
    """Spendable points on the card (an owner's correction is spendable at once)."""
    owner = OwnerFactory(shop=shop).user
    loyalty_services.points_adjust(shop=shop, membership_id=member.pk, points=points,
                                   reason="test", by=owner)


# --- Choosing a charity --------------------------------------------------------------------------


def test_the_page_lists_the_active_charities_with_their_registration(member_client, shop,
                                                                     charities, program):
    hope, trees = charities
    charity_add(shop, "Gesloten fonds", active=False)
    page = text(member_client.get(reverse("portal_charity", args=[shop.slug])))
    assert "Voedselbank Noord" in page and "Bomen voor later" in page
    assert "Gesloten fonds" not in page
    assert f"ANBI, RSIN {VALID_RSIN}" in page and f"90-konto {VALID_90_KONTO}" in page
    assert "https://voedselbank.example" in page
    # No choice yet: the shop's default applies, and the page says so.
    assert "the shop's choice: <strong>Voedselbank Noord</strong>" in page
    assert "stays with the charity you had chosen then" in page


def test_until_a_member_chooses_an_even_split_is_said_when_the_shop_prefers_it(
        member_client, shop, charities):
    program_set(shop, split="even")
    page = text(member_client.get(reverse("portal_charity", args=[shop.slug])))
    assert "shared evenly between the charities below" in page


def test_a_member_chooses_a_charity_and_past_donations_keep_theirs(member_client, shop, member,
                                                                   charities, program):
    hope, trees = charities
    first = buy(shop, member, "50.00")
    response = member_client.post(reverse("portal_charity", args=[shop.slug]),
                                  {"charity": str(trees.pk)})
    assert response.status_code == 302
    choice = CharityChoice.objects.get(membership=member)
    assert choice.charity == trees and choice.source == "portal"
    second = buy(shop, member, "50.00")
    assert Donation.objects.get(purchase=first).charity == hope
    assert Donation.objects.get(purchase=second).charity == trees
    page = text(member_client.get(response["Location"]))
    assert "From now on your donations go to Bomen voor later." in page
    assert "Your donations go to <strong>Bomen voor later</strong>" in page
    assert re.search(rf'value="{trees.pk}"\s+checked', page)


@pytest.mark.parametrize("which, message", [
    ("inactive", "Gesloten fonds takes no donations at the moment."),
    ("other shop", "No such charity at this shop."),
    ("unknown", "No such charity at this shop."),
    ("not a number", "Choose a charity."),
    ("missing", "Choose a charity."),
])
def test_a_bad_choice_is_refused_in_our_words_and_changes_nothing(member_client, shop, member,
                                                                  charities, program, which,
                                                                  message):
    hope, _trees = charities
    services.membership_charity_choose(membership=member, charity_id=hope.pk)
    closed = charity_add(shop, "Gesloten fonds", active=False)
    elsewhere = charity_add(ShopFactory(), "Ander goed doel")
    value = {"inactive": str(closed.pk), "other shop": str(elsewhere.pk), "unknown": "999999",
             "not a number": "abc", "missing": None}[which]
    response = member_client.post(reverse("portal_charity", args=[shop.slug]),
                                  {} if value is None else {"charity": value})
    assert response.status_code == 400
    assert message in text(response)
    assert "Ander goed doel" not in text(response)
    assert list(CharityChoice.objects.values_list("charity_id", flat=True)) == [hope.pk]


def test_without_the_program_there_is_nothing_to_choose(member_client, shop, member, charities):
    hope, _trees = charities
    url = reverse("portal_charity", args=[shop.slug])
    assert "no charity program at the moment" in text(member_client.get(url))
    response = member_client.post(url, {"charity": str(hope.pk)})
    assert response.status_code == 400
    assert "no charity program at the moment" in text(response)
    assert not CharityChoice.objects.exists()


def test_a_member_of_another_shop_cannot_choose_this_shops_charity(client, shop, charities,
                                                                   program):
    hope, _trees = charities
    other = ShopFactory(slug="kaas-zuid")
    charity_add(other, "Eigen doel")
    program_set(other)
    theirs = MembershipFactory(shop=other, user=UserFactory())
    client.force_login(theirs.user)
    # This shop's URL: not their card (404); their own shop's URL with this shop's charity:
    # refused in words, nothing chosen.
    assert client.post(reverse("portal_charity", args=[shop.slug]),
                       {"charity": str(hope.pk)}).status_code == 404
    response = client.post(reverse("portal_charity", args=[other.slug]),
                           {"charity": str(hope.pk)})
    assert response.status_code == 400 and "No such charity at this shop." in text(response)
    assert "Voedselbank Noord" not in text(response)
    assert not CharityChoice.objects.exists()


@pytest.mark.parametrize("name", ["portal_charity", "portal_impact", "portal_points_give"])
def test_the_pages_are_the_members_own(client, shop, member, program, name):
    other = ShopFactory(slug="kaas-west")
    outsider = MembershipFactory(shop=other, user=UserFactory()).user
    owner = OwnerFactory(shop=shop).user
    url = reverse(name, args=[shop.slug])
    assert client.get(url).status_code == 302  # anonymous: sign in first
    for user in (outsider, owner):
        client.force_login(user)
        assert client.get(url).status_code == 404
        assert client.post(url, {"points": "100"}).status_code == 404
    assert not Donation.objects.exists()


# --- My impact -----------------------------------------------------------------------------------


def test_my_impact_equals_the_ledger_and_says_who_funded_what(member_client, shop, member,
                                                              charities, program):
    hope, trees = charities
    Membership.objects.filter(pk=member.pk).update(language="nl")
    with time_machine.travel(NOVEMBER):
        purchase = buy(shop, member, "40.00", extras={"round_up": True})  # 0.80, no round-up
        buy(shop, member, "27.40", extras={"round_up": True})  # 0.55 and a round-up of 0.60
        loyalty_services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount="20.00")
    with time_machine.travel(DECEMBER):
        services.membership_charity_choose(membership=member, charity_id=trees.pk)
        points_give(shop, member, 300)
        services.points_donate(shop=shop, membership_id=member.pk, points=300)
        page = text(member_client.get(reverse("portal_impact", args=[shop.slug])))
    ledger = {row["charity"]: row["total"] for row in Donation.objects.filter(
        membership=member).values("charity").annotate(total=Sum("amount"))}
    assert ledger == {hope.pk: Decimal("1.55"), trees.pk: Decimal("3.00")}
    # nl: one number format (comma, the euro sign before it) everywhere on the page.
    assert "Samen gaven we <strong>€\u00a04,55</strong>" in page
    assert "€\u00a01,55" in page and "€\u00a03,00" in page
    assert not re.search(r"€\s?\d+\.\d\d", page)
    assert "€\u00a00,40 teruggenomen na een retour" in page  # half the 0.80 share
    assert "€\u00a00,60" in page  # the round-up, shown apart
    assert "je eigen geld" in page and "gegeven door de winkel" in page
    assert "nov 2026" in page.lower() and "dec 2026" in page.lower()
    assert reverse("portal_impact_year", args=[shop.slug, 2026]) in page
    assert "Je donaties gaan naar <strong>Bomen voor later</strong>." in page  # from now on


def test_my_impact_is_only_my_own(member_client, shop, member, charities, program):
    neighbour = MembershipFactory(shop=shop, name="Buurvrouw")
    buy(shop, neighbour, "100.00")
    page = text(member_client.get(reverse("portal_impact", args=[shop.slug])))
    assert "Nothing given yet." in page and "€2.00" not in page and "Buurvrouw" not in page
    assert "the shop's choice: <strong>Voedselbank Noord</strong>" in page


def test_the_monthly_cap_shows_only_what_was_given(member_client, shop, member, charities):
    program_set(shop, rule_kind="per_purchase", rule_value="3.00", monthly_cap="5.00")
    for _n in range(3):
        buy(shop, member, "10.00")
    page = text(member_client.get(reverse("portal_impact", args=[shop.slug])))
    assert Donation.objects.aggregate(total=Sum("amount"))["total"] == Decimal("5.00")
    assert "Together we gave <strong>€5.00</strong>" in page


def test_instead_of_points_the_page_says_purchases_earn_donations(member_client, shop,
                                                                  charities):
    program_set(shop, mode="instead")
    page = text(member_client.get(reverse("portal_impact", args=[shop.slug])))
    assert "earn donations instead of points" in page
    page = text(member_client.get(reverse("portal_charity", args=[shop.slug])))
    assert "earn donations instead of points" in page


def test_the_card_links_to_my_impact(member_client, shop, program):
    page = text(member_client.get(reverse("portal:card", args=[shop.slug])))
    assert reverse("portal_impact", args=[shop.slug]) in page


# --- The yearly summary --------------------------------------------------------------------------


def test_the_yearly_summary_is_printable_and_holds_that_year_only(member_client, shop, member,
                                                                  charities, program):
    with time_machine.travel(dt.datetime(2025, 12, 30, 12, 0, tzinfo=dt.UTC)):
        buy(shop, member, "100.00")  # 2.00 in 2025
    with time_machine.travel(NOVEMBER):
        buy(shop, member, "50.00", extras={"round_up": True})
        buy(shop, member, "9.50", extras={"round_up": True})  # 0.19 and 0.50
    response = member_client.get(reverse("portal_impact_year", args=[shop.slug, 2026]))
    page = text(response)
    assert response.status_code == 200
    assert 'media="print"' in page and "impact-print.css" in page and "print-sheet" in page
    assert "My impact in 2026" in page and member.name in page
    total = Donation.objects.filter(membership=member, month__year=2026).aggregate(
        total=Sum("amount"))["total"]
    assert total == Decimal("1.69")
    assert "Given in total: <strong>€1.69</strong>" in page
    assert "Your round-ups: €0.50, your own money" in page
    assert "€2.00" not in page  # 2025's purchase
    earlier = text(member_client.get(reverse("portal_impact_year", args=[shop.slug, 2025])))
    assert "Given in total: <strong>€2.00</strong>" in earlier
    empty = text(member_client.get(reverse("portal_impact_year", args=[shop.slug, 2024])))
    assert "Nothing was given in 2024." in empty


def test_a_year_out_of_range_is_not_found(member_client, shop, program):
    assert member_client.get(reverse("portal_impact_year", args=[shop.slug, 1999])
                             ).status_code == 404


# --- Giving points -------------------------------------------------------------------------------


def test_giving_points_is_confirmed_first_then_given_and_the_balance_is_current(
        member_client, shop, member, charities, program):
    hope, _trees = charities
    points_give(shop, member, 250)
    impact_url = reverse("portal_impact", args=[shop.slug])
    page = text(member_client.get(impact_url))
    assert "For every 100 points you give, Bakkerij Noord donates €1.00." in page
    assert "You have 250 points to give." in page
    url = reverse("portal_points_give", args=[shop.slug])
    confirm = member_client.get(url, {"points": "200"})
    assert confirm.status_code == 200
    assert "Give 200 points = €2.00 to Voedselbank Noord" in text(confirm)
    assert "You cannot undo this yourself" in text(confirm)
    assert not Donation.objects.exists()  # the confirm step writes nothing
    token = re.search(r'name="token" value="(\w+)"', text(confirm)).group(1)
    response = member_client.post(url, {"points": "200", "token": token})
    assert response.status_code == 302 and response["Location"] == impact_url
    again = member_client.post(url, {"points": "200", "token": token})  # a second click
    assert again.status_code == 302 and again["Location"] == impact_url
    gift = Donation.objects.get()
    assert (gift.kind, gift.amount, gift.charity) == ("points", Decimal("2.00"), hope)
    assert Membership.objects.get(pk=member.pk).points_balance == 50
    page = text(member_client.get(impact_url))
    assert "your 200 points became a donation to Voedselbank Noord" in page
    assert "You have 50 points to give." in page
    assert "Together we gave <strong>€2.00</strong>" in page


@pytest.mark.parametrize("points, message", [
    ("0", "Enter a whole number of points above zero."),
    ("-5", "Enter a whole number of points above zero."),
    ("1.5", "Enter a whole number of points above zero."),
    ("", "Enter a whole number of points above zero."),
    ("400", "Not enough points: 250 can be spent, 400 asked."),
    ("0000", "Enter a whole number of points above zero."),
])
def test_bad_points_are_refused_in_our_words_and_nothing_is_given(member_client, shop, member,
                                                                  charities, program, points,
                                                                  message):
    points_give(shop, member, 250)
    entries = LedgerEntry.objects.count()
    url = reverse("portal_points_give", args=[shop.slug])
    for response in (member_client.get(url, {"points": points}),
                     member_client.post(url, {"points": points, "token": "t1"})):
        assert response.status_code == 400
        assert message in text(response)
    assert not Donation.objects.exists() and LedgerEntry.objects.count() == entries
    assert Membership.objects.get(pk=member.pk).points_balance == 250


def test_too_few_points_to_be_worth_a_cent_are_refused(member_client, shop, member, charities):
    program_set(shop, points_per_unit=1000)
    points_give(shop, member, 50)
    response = member_client.post(reverse("portal_points_give", args=[shop.slug]),
                                  {"points": "4", "token": "t2"})
    assert response.status_code == 400
    assert "Give at least 5 points: fewer are worth nothing." in text(response)
    assert not Donation.objects.exists()


def test_a_shop_without_a_points_rate_takes_no_points(member_client, shop, member, charities):
    program_set(shop)  # no rate
    points_give(shop, member, 250)
    page = text(member_client.get(reverse("portal_impact", args=[shop.slug])))
    assert "Give your points" not in page
    response = member_client.post(reverse("portal_points_give", args=[shop.slug]),
                                  {"points": "100", "token": "t3"})
    assert response.status_code == 400
    assert "This shop does not take points as donations." in text(response)
    assert not Donation.objects.exists()
    assert Membership.objects.get(pk=member.pk).points_balance == 250
