"""The earn's query budget with the charity program: a shop without it pays no query (its
``Shop.charity_enabled`` comes with the shop the API key loads), a shop with it a few, whatever
the number of its charities; and the API key's cached shop learns at once that the program was
switched on."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from charity import services as charity_services
from charity.models import CharityProgram, Donation
from loyalty import services
from tests.conftest import require_service
from tests.factories import MembershipFactory, ShopFactory, StaffMemberFactory

from .conftest import charity_add, program_set

pytestmark = pytest.mark.django_db

CHARITY_TABLE = re.compile(r'(FROM|INTO|JOIN|UPDATE) "charity_')


def new_shop():
    shop = ShopFactory()
    services.program_rules_current(shop=shop)
    shop.refresh_from_db()
    return shop


def shop_with_charities(size: int, **program):
    """A new shop with ``size`` charities and the program on."""
    shop = new_shop()
    for n in range(size):
        charity_add(shop, f"Cause {n}")
    program_set(shop, **program)
    return shop


def api_earn(client, raw, member, key, **body):
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            "/api/v1/purchases/",
            data=json.dumps({"member": member.card_number, "amount": "10.00", **body}),
            content_type="application/json",
            headers={"Authorization": f"Api-Key {raw}", "Idempotency-Key": key})
    assert response.status_code == 201, response.content
    return [q["sql"] for q in captured.captured_queries]


def test_a_shop_without_the_program_pays_no_query_even_with_charities(client):
    plain = new_shop()
    with_charities = new_shop()
    for n in range(3):
        charity_add(with_charities, f"Cause {n}")  # charities, but the program is off
    queries = {}
    for name, shop in (("plain", plain), ("charities", with_charities)):
        raw = services.api_key_create(shop=shop, name="till")[1]
        queries[name] = api_earn(client, raw, MembershipFactory(shop=shop), f"q-{name}")
    assert [q for q in queries["charities"] if CHARITY_TABLE.search(q)] == []
    assert len(queries["charities"]) == len(queries["plain"])
    assert not Donation.objects.exists()


@pytest.mark.parametrize("cap", [None, "1000.00"])
def test_with_the_program_on_the_earn_pays_the_same_few_queries_whatever_the_charities(
        client, cap):
    plain = new_shop()
    raw = services.api_key_create(shop=plain, name="till")[1]
    api_earn(client, raw, MembershipFactory(shop=plain), "q-plain-first")
    baseline = api_earn(client, raw, MembershipFactory(shop=plain), "q-plain")  # key kept
    counts = []
    for size in (1, 12):
        shop = shop_with_charities(size, monthly_cap=cap)
        raw = services.api_key_create(shop=shop, name="till")[1]
        api_earn(client, raw, MembershipFactory(shop=shop), f"q-{size}-first")
        queries = api_earn(client, raw, MembershipFactory(shop=shop), f"q-{size}")
        counts.append(len(queries))
        assert Donation.objects.filter(shop=shop).count() == 2
    # On PostgreSQL without a cap, one statement (the program's shared lock, the member's
    # choice and the insert: charity.services._share_in_one). Otherwise the program's row
    # with the member's choice, then the insert: the shop's charities are kept per process.
    # With a cap, the cap's lock (PostgreSQL) and the month's sum as well.
    postgresql = connection.vendor == "postgresql"
    extra = (1 if postgresql else 2) if cap is None else 3 + postgresql
    assert counts == [len(baseline) + extra] * 2, counts


def test_a_change_of_the_charities_reaches_the_next_purchase_at_once(client):
    shop = new_shop()
    first = charity_add(shop, "Eerste")
    program_set(shop)
    raw = services.api_key_create(shop=shop, name="till")[1]
    member = MembershipFactory(shop=shop)
    api_earn(client, raw, member, "c-1")
    second = charity_add(shop, "Tweede")
    charity_services.program_configure(shop=shop, data=charity_services.program_input_clean(
        enabled=True, mode="beside", rule_kind="percent", rule_value="10",
        default_charity_id=second.pk))
    charity_services.charity_update(shop=shop, charity_id=first.pk, name="Eerste",
                                    active=False)
    api_earn(client, raw, member, "c-2")
    given = list(Donation.objects.filter(shop=shop).order_by("pk")
                 .values_list("charity__name", flat=True))
    assert given == ["Eerste", "Tweede"]


def test_switching_the_program_on_reaches_a_key_whose_shop_is_cached(client):
    shop = new_shop()
    charity_add(shop, "Hope")
    raw = services.api_key_create(shop=shop, name="till")[1]
    member = MembershipFactory(shop=shop)
    api_earn(client, raw, member, "q-before")
    assert not Donation.objects.exists()
    program_set(shop)
    api_earn(client, raw, member, "q-after")
    assert Donation.objects.count() == 1


def test_a_round_up_keeps_the_earn_at_the_same_few_queries_whatever_the_charities(client):
    counts = []
    for size in (1, 12):
        shop = shop_with_charities(size, monthly_cap="1000.00")
        raw = services.api_key_create(shop=shop, name="till")[1]
        member = MembershipFactory(shop=shop)
        api_earn(client, raw, member, f"r-warm-{size}")  # the key is cached from now on
        plain = api_earn(client, raw, member, f"r-plain-{size}")
        rounded = api_earn(client, raw, member, f"r-{size}", amount="10.40", round_up=True)
        # The round-up's lines go in the same insert as the shop's share.
        assert len(rounded) == len(plain)
        counts.append(len(rounded))
        assert Donation.objects.filter(shop=shop, kind="round_up").count() == 1
    assert counts[0] == counts[1], counts


def test_the_counters_earn_with_a_round_up_costs_the_same_whatever_the_charities(client):
    counts = []
    for size in (1, 12):
        shop = shop_with_charities(size, monthly_cap="1000.00")
        staff = StaffMemberFactory(shop=shop).user
        client.force_login(staff)
        member = MembershipFactory(shop=shop)
        url = f"/counter/{shop.slug}/members/{member.card_number}/earn/"
        with CaptureQueriesContext(connection) as captured:
            response = client.post(url, {"amount": "10.40", "token": f"{size:032x}",
                                         "round_up": "on"}, headers={"HX-Request": "true"})
        assert response.status_code == 200, response.content
        counts.append(len(captured.captured_queries))
        assert Donation.objects.filter(shop=shop, kind="round_up").count() == 1
    assert counts[0] == counts[1], counts


@pytest.mark.postgres
def test_a_program_changed_by_another_process_is_given_by_at_once(client):
    """The one-statement share is decided by the program this process keeps; when another
    process changed it (its ``updated_at`` moved, the kept copy not forgotten here), the
    statement inserts nothing and the purchase gives by the new program, the long way."""
    require_service(connection.vendor == "postgresql",
                    "PostgreSQL (DATABASE_URL), for the one-statement share")

    shop = shop_with_charities(1, rule_value="1")
    raw = services.api_key_create(shop=shop, name="till")[1]
    member = MembershipFactory(shop=shop)
    api_earn(client, raw, member, "s-0")  # the program and its charities are kept from now
    first = api_earn(client, raw, member, "s-1")
    assert len([q for q in first if CHARITY_TABLE.search(q)]) == 1
    CharityProgram.objects.filter(shop=shop).update(rule_value=10, updated_at=timezone.now())
    second = api_earn(client, raw, member, "s-2")
    assert len([q for q in second if CHARITY_TABLE.search(q)]) >= 2  # the long way
    amounts = list(Donation.objects.filter(shop=shop).order_by("pk")
                   .values_list("amount", flat=True))
    assert [str(a) for a in amounts] == ["0.10", "0.10", "1.00"]
    third = api_earn(client, raw, member, "s-3")  # the new version is kept now
    assert len([q for q in third if CHARITY_TABLE.search(q)]) == 1
    assert Donation.objects.filter(shop=shop).count() == 4
