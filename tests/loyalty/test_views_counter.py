"""The counter (loyalty/views/counter.py): staff find a customer fast and open their card."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from django.test import Client
from django.utils.html import escape
from pytest_django.asserts import assertRedirects

from loyalty import services
from loyalty.models import EntryKind, StaffMember
from tests.factories import MembershipFactory, OwnerFactory, ShopFactory, StaffMemberFactory
from tests.helpers import text

pytestmark = pytest.mark.django_db


@pytest.fixture
def screen_url(shop):
    return f"/counter/{shop.slug}/"


@pytest.fixture
def customers(shop, member, other_shop):
    """Sanne (the ``member`` fixture) with a Dutch mobile number, Piet, and a look-alike at
    another shop."""
    member.phone = "+31612345678"
    member.save(update_fields=["phone"])
    return {
        "sanne": member,
        "piet": MembershipFactory(shop=shop, name="Piet Jansen", email="piet@example.com",
                                  phone="+31698765432"),
        "elsewhere": MembershipFactory(shop=other_shop, name="Sanne Zuid",
                                       email="sanne@zuid.example", phone="+46612345678"),
    }


def search(client, url, query, **extra):
    return client.get(url, {"q": query, **extra})


# --- /counter/ -------------------------------------------------------------------------------


def test_index_redirects_to_the_only_shop(staff_client, shop):
    assertRedirects(staff_client.get("/counter/"), f"/counter/{shop.slug}/")


def test_index_lists_several_shops(staff_user, shop, other_shop, client):
    StaffMemberFactory(shop=other_shop, user=staff_user)
    client.force_login(staff_user)
    response = client.get("/counter/")
    assert response.status_code == 200
    content = text(response)
    for s in (shop, other_shop):
        assert escape(s.name) in content
        assert f'href="/counter/{s.slug}/"' in content


def test_index_counts_owned_shops_too(owner, other_shop, shop, client):
    OwnerFactory(shop=other_shop, user=owner)
    client.force_login(owner)
    response = client.get("/counter/")
    assert response.status_code == 200
    assert f'href="/counter/{other_shop.slug}/"' in text(response)


def test_index_without_shops_explains(member_client):
    response = member_client.get("/counter/")
    assert response.status_code == 200
    assert "You are not on the team of any shop yet." in text(response)


def test_index_leaves_out_a_shop_where_staff_is_deactivated(staff_user, shop, other_shop,
                                                           client):
    StaffMemberFactory(shop=other_shop, user=staff_user)
    StaffMember.objects.filter(shop=shop, user=staff_user).update(is_active=False)
    client.force_login(staff_user)
    assertRedirects(client.get("/counter/"), f"/counter/{other_shop.slug}/")


def test_index_needs_sign_in(client):
    response = client.get("/counter/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/counter/"


# --- the screen --------------------------------------------------------------------------------


def test_screen_shows_the_search_box(staff_client, screen_url, shop):
    response = staff_client.get(screen_url)
    assert response.status_code == 200
    content = text(response)
    assert 'id="counter-q"' in content
    assert "data-autofocus" in content
    assert 'name="go" value="1"' in content
    assert 'id="results"' in content
    assert escape(shop.name) in content


def test_owners_use_the_counter_too(owner_client, screen_url):
    assert owner_client.get(screen_url).status_code == 200


@pytest.mark.parametrize("query", [
    "Sanne",
    "sanne vis",
    "06 1234 5678",
    "0612345678",
    "+31 6 1234 5678",
    "0031612345678",
    "member@example",
])
def test_search_finds_sanne(staff_client, screen_url, customers, query):
    response = search(staff_client, screen_url, query)
    assert response.status_code == 200
    content = text(response)
    assert "Sanne Visser" in content
    assert "Piet Jansen" not in content
    assert "Sanne Zuid" not in content
    assert f'/counter/bakkerij-noord/members/{customers["sanne"].card_number}/' in content


def test_search_by_card_number_with_spaces(staff_client, screen_url, customers):
    piet = customers["piet"]
    response = search(staff_client, screen_url, piet.card_number_display)
    content = text(response)
    assert "Piet Jansen" in content
    assert "Sanne Visser" not in content
    assert piet.card_number_display in content


def test_search_by_full_email(staff_client, screen_url, customers):
    content = text(search(staff_client, screen_url, "piet@example.com"))
    assert "Piet Jansen" in content
    assert "Sanne Visser" not in content


def test_scanner_enter_opens_the_member(staff_client, screen_url, customers, shop):
    piet = customers["piet"]
    response = search(staff_client, screen_url, piet.card_number, go="1")
    assertRedirects(response, f"/counter/{shop.slug}/members/{piet.card_number}/")


def test_scanner_enter_with_spaces_opens_the_member(staff_client, screen_url, customers, shop):
    piet = customers["piet"]
    response = search(staff_client, screen_url, f" {piet.card_number_display} ", go="1")
    assertRedirects(response, f"/counter/{shop.slug}/members/{piet.card_number}/")


def test_enter_on_a_single_match_opens_it(staff_client, screen_url, customers, shop):
    response = search(staff_client, screen_url, "piet", go="1")
    assert response.status_code == 302
    assert response["Location"] == f"/counter/{shop.slug}/members/{customers['piet'].card_number}/"


def test_enter_on_several_matches_lists_them(staff_client, screen_url, customers, shop):
    MembershipFactory(shop=shop, name="Sanne de Boer")
    response = search(staff_client, screen_url, "sanne", go="1")
    assert response.status_code == 200
    content = text(response)
    assert "Sanne Visser" in content
    assert "Sanne de Boer" in content


def test_without_go_a_card_number_only_lists(staff_client, screen_url, customers):
    response = search(staff_client, screen_url, customers["piet"].card_number)
    assert response.status_code == 200
    assert "Piet Jansen" in text(response)


def test_another_shops_card_is_not_found(staff_client, screen_url, customers):
    theirs = customers["elsewhere"].card_number
    response = search(staff_client, screen_url, theirs, go="1")
    assert response.status_code == 200
    content = text(response)
    assert "Sanne Zuid" not in content
    assert "No member found for" in content


def test_no_match_says_so(staff_client, screen_url, customers):
    response = search(staff_client, screen_url, "Zzyzx")
    assert response.status_code == 200
    assert escape("No member found for “Zzyzx”.") in text(response)


def test_the_query_is_escaped(staff_client, screen_url, customers):
    content = text(search(staff_client, screen_url, "<script>alert(1)</script>"))
    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content


def test_many_matches_are_capped_with_a_hint(staff_client, screen_url, shop):
    for n in range(10):
        MembershipFactory(shop=shop, name=f"Jansen {n:02d}")
    content = text(search(staff_client, screen_url, "jansen"))
    assert content.count('class="result"') == 8
    assert "More members match: type a little more." in content


def test_htmx_search_returns_only_the_results(staff_client, screen_url, customers):
    response = staff_client.get(screen_url, {"q": "piet"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    content = text(response)
    assert "<html" not in content
    assert 'id="counter-q"' not in content
    assert content.lstrip().startswith('<div id="results"')
    assert "Piet Jansen" in content
    assert "HX-Request" in response["Vary"]


def test_htmx_search_without_match(staff_client, screen_url, customers):
    response = staff_client.get(screen_url, {"q": "Zzyzx"}, headers={"HX-Request": "true"})
    content = text(response)
    assert "<html" not in content
    assert "No member found for" in content


# --- a member's page -------------------------------------------------------------------------


def test_member_page_shows_name_card_and_balance(staff_client, shop, customers, owner):
    piet = customers["piet"]
    services.points_credit(shop=shop, membership_id=piet.pk, points=42,
                           kind=EntryKind.ADJUSTMENT, note="test", actor_user=owner)
    response = staff_client.get(f"/counter/{shop.slug}/members/{piet.card_number}/")
    assert response.status_code == 200
    content = text(response)
    assert "Piet Jansen" in content
    assert piet.card_number_display in content
    assert re.search(r'class="balance"[^>]*>\s*42\s*<', content)
    assert "Sanne" not in content


def test_member_of_another_shop_is_404(staff_client, shop, customers):
    theirs = customers["elsewhere"].card_number
    assert staff_client.get(f"/counter/{shop.slug}/members/{theirs}/").status_code == 404


def test_unknown_card_is_404(staff_client, shop, customers):
    assert staff_client.get(f"/counter/{shop.slug}/members/1234567890123/").status_code == 404


def test_card_number_as_printed_in_the_url_opens_the_member(staff_client, shop, customers):
    display = quote(customers["piet"].card_number_display)
    response = staff_client.get(f"/counter/{shop.slug}/members/{display}/")
    assert response.status_code == 200
    assert "Piet Jansen" in text(response)


# --- who may use the counter -----------------------------------------------------------------


def test_a_customer_gets_404(member_client, shop, customers):
    piet = customers["piet"]
    assert member_client.get(f"/counter/{shop.slug}/").status_code == 404
    assert member_client.get(f"/counter/{shop.slug}/", {"q": "piet"}).status_code == 404
    assert member_client.get(f"/counter/{shop.slug}/members/{piet.card_number}/").status_code == 404


def test_staff_of_another_shop_gets_404(other_shop, shop, customers):
    client = Client()
    client.force_login(StaffMemberFactory(shop=other_shop).user)
    piet = customers["piet"]
    assert client.get(f"/counter/{shop.slug}/").status_code == 404
    assert client.get(f"/counter/{shop.slug}/members/{piet.card_number}/").status_code == 404


def test_deactivated_staff_gets_404(staff_client, staff_user, shop, customers):
    StaffMember.objects.filter(shop=shop, user=staff_user).update(is_active=False)
    piet = customers["piet"]
    assert staff_client.get(f"/counter/{shop.slug}/").status_code == 404
    assert staff_client.get(f"/counter/{shop.slug}/members/{piet.card_number}/").status_code == 404


def test_unknown_shop_is_404(staff_client):
    assert staff_client.get("/counter/no-such-shop/").status_code == 404


def test_anonymous_is_sent_to_sign_in(client, shop, customers):
    piet = customers["piet"]
    for url in (f"/counter/{shop.slug}/", f"/counter/{shop.slug}/members/{piet.card_number}/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={quote(url)}"


def test_another_shop_with_the_same_name_stays_apart(staff_client, shop):
    twin = ShopFactory(name=shop.name, slug="bakkerij-noord-2")
    MembershipFactory(shop=twin, name="Twin Lid")
    content = text(search(staff_client, f"/counter/{shop.slug}/", "twin"))
    assert "Twin Lid" not in content
