"""load_demo: the two demo shops of `make run`, with a year of history that reconciles, loaded
once (a second run adds nothing).

The demo is loaded once for this module (it takes seconds), in a transaction rolled back at the
end; each test runs inside it, in its own savepoint."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections import Counter
from decimal import Decimal
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from demo import bakery, kafe
from demo.management.commands import load_demo
from demo.people import DEMO_PASSWORD
from loyalty import selectors
from loyalty.models import (
    EntryKind,
    LedgerEntry,
    Membership,
    PointLot,
    ProgramKind,
    ProgramRules,
    Purchase,
    Refund,
    Shop,
    StaffMember,
    StaffRole,
    User,
)
from rewards.models import Reward, RewardKind, Voucher, VoucherStatus

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
MODELS = (Shop, User, EmailAddress, StaffMember, Membership, ProgramRules, Purchase, Refund,
          LedgerEntry, PointLot, Reward, Voucher)


@pytest.fixture(scope="module")
def demo_loaded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        now = timezone.now()
        out = _load()
        yield now, out
        transaction.set_rollback(True)


@pytest.fixture
def demo(demo_loaded, db):
    return demo_loaded


def _load() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def _local(moments, shop: Shop) -> list[dt.datetime]:
    zone = zoneinfo.ZoneInfo(shop.time_zone)
    return [moment.astimezone(zone) for moment in moments]


def test_the_demo_loads_once_reconciles_and_prints_its_logins(demo):
    _now, out = demo

    assert "Bakkerij De Gouden Korst: members 200" in out
    assert "Kafé Kanelbullen: members 60" in out
    for text in (DEMO_PASSWORD, bakery.OWNER_EMAIL, bakery.STAFF_EMAIL, bakery.MEMBER_EMAIL,
                 kafe.OWNER_EMAIL, kafe.MEMBER_EMAIL, f"/s/{bakery.SLUG}/", f"/s/{kafe.SLUG}/"):
        assert text in out
    reconciled = StringIO()
    call_command("reconcile_ledger", stdout=reconciled)  # raises on any mismatch
    assert "All 260 memberships reconcile." in reconciled.getvalue()
    first = _counts()

    again = _load()

    assert _counts() == first
    assert "Bakkerij De Gouden Korst: there already, left as it is." in again
    assert "Kafé Kanelbullen: there already, left as it is." in again


def test_the_bakery_looks_lived_in(demo):
    now, _out = demo
    shop = Shop.objects.get(slug=load_demo.DEMO_SLUG)

    assert (shop.name, shop.currency, shop.language, shop.country) == (
        "Bakkerij De Gouden Korst", "EUR", "nl", "NL")
    assert now - shop.created_at > dt.timedelta(days=365)
    roles = dict(StaffMember.objects.filter(shop=shop).values_list("user__email", "role"))
    assert roles == {bakery.OWNER_EMAIL: StaffRole.OWNER, bakery.STAFF_EMAIL: StaffRole.STAFF}
    for email in (bakery.OWNER_EMAIL, bakery.STAFF_EMAIL, bakery.MEMBER_EMAIL):
        user = User.objects.get(email=email)
        assert user.check_password(DEMO_PASSWORD), email
        assert EmailAddress.objects.filter(user=user, email=email, verified=True).exists()

    # About 200 members who joined over the past 12 months, phones in E.164, some birthdays.
    members = Membership.objects.filter(shop=shop)
    assert members.count() == 200
    joined = _local(members.values_list("joined_at", flat=True), shop)
    assert now - min(joined) < dt.timedelta(days=366) and max(joined) < now
    assert len({(moment.year, moment.month) for moment in joined}) >= 12
    phones = [phone for phone in members.values_list("phone", flat=True) if phone]
    assert len(phones) > 150 and all(E164.match(phone) for phone in phones)
    assert 0.4 < members.filter(birthday__isnull=False).count() / 200 < 0.8
    sanne = members.get(user__email=bakery.MEMBER_EMAIL)
    assert (sanne.name, sanne.phone, sanne.email) == (
        "Sanne Visser", "+31612345601", bakery.MEMBER_EMAIL)

    # Purchases in every month, in a bakery's week: closed on Sunday, busiest on Saturday,
    # the morning's peak.
    purchases = Purchase.objects.filter(shop=shop)
    assert purchases.count() > 3000
    moments = _local(purchases.values_list("created_at", flat=True), shop)
    assert len({(moment.year, moment.month) for moment in moments}) >= 12
    days = Counter(moment.weekday() for moment in moments)
    assert days[6] == 0
    assert days.most_common(1)[0][0] == 5
    hours = Counter(moment.hour for moment in moments)
    assert hours.most_common(1)[0][0] in (8, 9)
    assert min(hours) >= 7 and max(hours) <= 17
    assert purchases.filter(membership__isnull=True).count() > 300  # sales without a card
    assert purchases.filter(api_key__isnull=False).exists()  # the till
    assert purchases.filter(recorded_by__email=bakery.STAFF_EMAIL).exists()
    # The rules changed once on the way: earlier purchases keep their version.
    assert purchases.values("rules").distinct().count() == 2
    assert purchases.filter(amount__gte=25, rules__steps=[]).exists()

    # A catalogue of 4–6 rewards of several kinds, one with stock.
    rewards = Reward.objects.filter(shop=shop)
    assert 4 <= rewards.count() <= 6
    assert set(rewards.values_list("kind", flat=True)) == set(RewardKind.values)
    limited = rewards.get(stock_total__isnull=False)
    assert 0 < limited.stock_claimed <= limited.stock_total

    # Vouchers claimed, used, expired and cancelled; some open now, Sanne's among them.
    statuses = Counter(Voucher.objects.filter(shop=shop).values_list("status", flat=True))
    assert statuses[VoucherStatus.USED] > 50
    assert statuses[VoucherStatus.EXPIRED] > 0 and statuses[VoucherStatus.CANCELLED] > 0
    assert statuses[VoucherStatus.OPEN] >= 3
    assert not Voucher.objects.filter(status=VoucherStatus.OPEN, expires_at__lte=now).exists()
    assert Voucher.objects.filter(membership=sanne, status=VoucherStatus.OPEN).exists()
    kinds = set(LedgerEntry.objects.filter(shop=shop).values_list("kind", flat=True))
    assert {EntryKind.EARN, EntryKind.SIGNUP_BONUS, EntryKind.REDEMPTION, EntryKind.REVERSAL,
            EntryKind.ADJUSTMENT} <= kinds
    assert Refund.objects.filter(purchase__shop=shop).count() == 3  # undone at the counter
    assert selectors.ledger_mismatches(shop=shop) == []


def test_the_swedish_cafe_has_a_stamp_card_with_full_and_half_full_cards(demo):
    shop = Shop.objects.get(slug=kafe.SLUG)

    assert (shop.currency, shop.language, shop.country, shop.time_zone) == (
        "SEK", "sv", "SE", "Europe/Stockholm")
    assert StaffMember.objects.get(shop=shop).user.email == kafe.OWNER_EMAIL
    assert User.objects.get(email=kafe.OWNER_EMAIL).check_password(DEMO_PASSWORD)
    rules = selectors.program_rules_in_force(shop=shop)
    assert (rules.program, rules.stamps_per_card, rules.stamp_reward, rules.points_per_unit,
            rules.steps, rules.steps_replace_rate) == (
        ProgramKind.STAMPS, 10, "en gratis kaffe", 0,
        [{"min_amount": "35.00", "points": 1}], True)
    assert rules.is_stamp_card and rules.stamp_minimum == Decimal("35.00")

    purchases = Purchase.objects.filter(shop=shop, membership__isnull=False)
    assert not purchases.filter(amount__lt=35, points_earned__gt=0).exists()
    assert not purchases.filter(amount__gte=35).exclude(points_earned=1).exists()
    assert purchases.filter(amount__lt=35).exists()  # a filter coffee earns no stamp
    days = Counter(moment.weekday() for moment in _local(
        purchases.values_list("created_at", flat=True), shop))
    assert days[6] > 0  # open on Sunday

    def stamps(name):
        membership = Membership.objects.get(shop=shop, name=name)
        return selectors.membership_points_summary(membership=membership)["stamps"]

    astrid = stamps("Astrid Lindqvist")
    assert (astrid["full_cards"], astrid["filled"]) == (1, 10)  # a full card shows full
    assert Membership.objects.get(shop=shop, name="Astrid Lindqvist").user.email == (
        kafe.MEMBER_EMAIL)
    assert stamps("Erik Johansson")["filled"] == 5
    # Full cards handed out over the months, as the free coffee.
    assert Voucher.objects.filter(shop=shop, status=VoucherStatus.USED).count() > 10
    phones = [p for p in Membership.objects.filter(shop=shop).values_list("phone", flat=True)
              if p]
    assert phones and all(phone.startswith("+46") and E164.match(phone) for phone in phones)
    assert selectors.ledger_mismatches(shop=shop) == []


def test_both_shops_run_a_charity_program_that_reconciles(demo, client):
    from charity import selectors as charity_selectors
    from charity import services as charity_services
    from charity.models import Charity, CharityChoice, Donation, DonationKind

    for module, kind, clean, count in ((bakery, "anbi", charity_services.rsin_clean, 3),
                                       (kafe, "se90", charity_services.se90_clean, 2)):
        shop = Shop.objects.get(slug=module.SLUG)
        assert shop.charity_enabled and shop.earns_points  # beside points (or stamps)
        charities = list(Charity.objects.filter(shop=shop).order_by("pk"))
        assert len(charities) == count
        assert [c.is_default for c in charities] == [True] + [False] * (count - 1)
        for charity in charities:  # each registration passes the services' own check
            assert charity.registration_kind == kind
            assert clean(charity.registration_number) == charity.registration_number
        donations = Donation.objects.filter(shop=shop)
        kinds = set(donations.values_list("kind", flat=True))
        assert {DonationKind.SHOP_SHARE, DonationKind.ROUND_UP} <= kinds
        assert set(donations.values_list("currency", flat=True)) == {shop.currency}
        # Every purchase's gift came through the purchase (the ledger's own effect).
        assert not donations.filter(kind__in=[DonationKind.SHOP_SHARE, DonationKind.ROUND_UP],
                                    purchase__isnull=True).exists()
        assert CharityChoice.objects.filter(membership__shop=shop).count() >= 5
        featured = Membership.objects.get(shop=shop, email=module.MEMBER_EMAIL)
        picked = charity_selectors.membership_charity_choice(membership=featured)
        assert picked.charity == charities[1]
        assert donations.filter(membership=featured, charity=charities[1]).exists()
        assert charity_selectors.donations_reconcile(shop=shop) == []
        # The public impact page shows the totals, no personal data.
        page = client.get(f"/s/{shop.slug}/impact/").content.decode()
        assert charities[0].name in page and featured.name not in page
    sanne = Membership.objects.get(email=bakery.MEMBER_EMAIL)
    assert Donation.objects.filter(membership=sanne, kind=DonationKind.POINTS).exists()
    # Astrid's coffees were under the stamp minimum: her full card is as the tour shows it.
    astrid = Membership.objects.get(email=kafe.MEMBER_EMAIL)
    assert Purchase.objects.filter(membership=astrid, amount__lt=35).exists()
    out = StringIO()
    call_command("reconcile_donations", stdout=out)
    assert "statements match the donation ledger" in out.getvalue()
    call_command("reconcile_ledger", stdout=StringIO())  # raises on any mismatch
