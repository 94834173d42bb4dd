"""The portal's points (members/views/portal.py): balance, its money value, pending points, the
history in plain words, and the "How it works" page in the member's language."""

from __future__ import annotations

import re
import zoneinfo

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from loyalty import services
from loyalty.models import EntryKind, PointLot
from tests.factories import MembershipFactory, UserFactory
from tests.helpers import signed_in, text

pytestmark = pytest.mark.django_db


def card_url(shop) -> str:
    return f"/portal/{shop.slug}/"


def how_url(shop) -> str:
    return f"/portal/{shop.slug}/how-it-works/"


def entry_texts(content: str) -> list[str]:
    """The plain-words text of each history entry on a page, in order."""
    return [re.sub(r"[ \t\r\n]+", " ", t).strip() for t in
            re.findall(r'<span class="entry-text">(.*?)</span>', content, re.S)]


def credit(shop, membership, points, note, owner, customer_note=""):
    return services.points_credit(shop=shop, membership_id=membership.pk, points=points,
                                  kind=EntryKind.ADJUSTMENT, note=note,
                                  customer_note=customer_note, actor_user=owner)


# --- balance and its value -------------------------------------------------------------------


def test_card_shows_balance_and_its_money_value(member_client, shop, member, owner):
    credit(shop, member, 1000, "opening balance", owner)
    response = member_client.get(card_url(shop))
    assert response.status_code == 200
    content = text(response)
    assert re.search(r'<div class="points">\s*1,000\s*</div>', content)
    assert "points · worth €10.00" in content  # 100 points = €1, the default
    assert "pending" not in content


def test_the_money_value_follows_the_shops_point_value(member_client, shop, member, owner):
    services.program_rules_update(shop=shop, by=owner, points_per_currency_value=50)
    credit(shop, member, 1000, "opening balance", owner)
    content = text(member_client.get(card_url(shop)))
    assert "worth €20.00" in content


def test_one_point_is_singular(member_client, shop, member, owner):
    credit(shop, member, 1, "test", owner)
    content = text(member_client.get(card_url(shop)))
    assert re.search(r'<div class="points">\s*1\s*</div>\s*<div>point · worth €0.01</div>', content)


def test_pending_points_are_shown_with_the_date_they_become_spendable(member_client, shop,
                                                                      member, owner):
    services.program_rules_update(shop=shop, by=owner, pending_days=14)
    credit(shop, member, 100, "opening balance", owner)  # a credit is spendable at once
    services.purchase_record(shop=shop, amount="27.50", membership_id=member.pk)
    lot = PointLot.objects.get(membership=member, entry__kind=EntryKind.EARN)
    spendable_from = lot.available_at.astimezone(zoneinfo.ZoneInfo(shop.time_zone))

    content = text(member_client.get(card_url(shop)))
    assert re.search(r'<div class="points">\s*370\s*</div>', content)
    expected = f"270 of them pending; spendable from {spendable_from.day} " \
               f"{spendable_from.strftime('%B')}"
    assert expected in content


# --- the history -----------------------------------------------------------------------------


def test_history_in_plain_words(member_client, shop, member, owner):
    services.program_rules_update(shop=shop, by=owner, signup_bonus=50)
    services.signup_bonus_award(membership=member)
    purchase = services.purchase_record(shop=shop, amount="27.50", membership_id=member.pk)
    services.purchase_refund(shop=shop, purchase_id=purchase.pk, amount="10.00",
                             reason="returned a cake")
    credit(shop, member, 25, "sorry for the wait", owner)

    content = text(member_client.get(card_url(shop)))
    assert entry_texts(content) == [
        "Adjustment by the shop",  # the shop's internal reason is never shown to the member
        "Refund of €10.00",
        "Purchase of €27.50 at Bakkerij Noord",
        "Welcome bonus",
    ]
    points = re.findall(r'<span class="entry-points (plus|minus)">([^<]*)</span>', content)
    # 270 × 10.00 / 27.50 = 98.18…: 98 points go back.
    assert points == [("plus", "+25 points"), ("minus", "-98 points"), ("plus", "+270 points"),
                      ("plus", "+50 points")]
    assert re.search(r'<div class="points">\s*247\s*</div>', content)


def test_one_point_in_the_history_is_singular(member_client, shop, member, owner):
    credit(shop, member, 1, "a point", owner)

    content = text(member_client.get(card_url(shop)))

    assert re.findall(r'<span class="entry-points plus">([^<]*)</span>', content) == ["+1 point"]


def test_the_counter_and_the_dashboard_keep_the_short_lines(staff_client, shop, member):
    services.purchase_record(shop=shop, amount="27.50", membership_id=member.pk)

    content = text(staff_client.get(f"/counter/{shop.slug}/members/{member.card_number}/"))

    assert entry_texts(content) == ["Purchase of €27.50"]
    assert re.findall(r'<span class="entry-points plus">([^<]*)</span>', content) == ["+270"]


def test_history_is_paginated_by_15(member_client, shop, member, owner):
    for n in range(1, 21):
        credit(shop, member, n, "internal", owner, customer_note=f"note-{n:02d}")

    first = text(member_client.get(card_url(shop)))
    assert entry_texts(first) == [f"note-{n:02d}" for n in range(20, 5, -1)]
    assert "Page 1 of 2" in first
    assert 'href="?page=2"' in first
    assert "Newer" not in first

    second = member_client.get(card_url(shop), {"page": 2})
    assert second.status_code == 200
    content = text(second)
    assert entry_texts(content) == [f"note-{n:02d}" for n in range(5, 0, -1)]
    assert "Page 2 of 2" in content
    assert 'href="?page=1"' in content
    assert 'href="?page=3"' not in content


@pytest.mark.parametrize("page", ["99", "abc", "-1"])
def test_an_odd_page_number_still_shows_a_page(member_client, shop, member, owner, page):
    for n in range(1, 21):
        credit(shop, member, n, f"note-{n:02d}", owner)
    response = member_client.get(card_url(shop), {"page": page})
    assert response.status_code == 200
    assert len(entry_texts(text(response))) in (15, 5)


def test_exactly_15_entries_is_one_page(member_client, shop, member, owner):
    for n in range(1, 16):
        credit(shop, member, n, f"note-{n:02d}", owner)
    content = text(member_client.get(card_url(shop)))
    assert len(entry_texts(content)) == 15
    assert "Page 1 of" not in content
    assert 'class="pagination"' not in content


def test_another_members_entries_never_appear(member_client, shop, other_shop, member, owner):
    neighbour = MembershipFactory(shop=shop, name="Piet Jansen")
    services.purchase_record(shop=shop, amount="99.00", membership_id=neighbour.pk)
    credit(shop, neighbour, 5, "secret-neighbour", owner, customer_note="secret-neighbour")
    # The same login at another shop: that card's entries stay on that card.
    elsewhere = MembershipFactory(shop=other_shop, user=member.user, email=member.email)
    services.purchase_record(shop=other_shop, amount="88.00", membership_id=elsewhere.pk)
    for n in range(1, 21):
        credit(shop, member, n, "internal", owner, customer_note=f"note-{n:02d}")

    for page in ("1", "2"):
        content = text(member_client.get(card_url(shop), {"page": page}))
        assert "€99.00" not in content
        assert "€88.00" not in content
        assert "secret-neighbour" not in content
        assert all(t.startswith("note-") for t in entry_texts(content))
    assert "Page 1 of 2" in text(member_client.get(card_url(shop)))

    other_card = text(member_client.get(card_url(other_shop)))
    assert entry_texts(other_card) == [f"Purchase of €88.00 at {other_shop.name}"]


def test_a_new_member_sees_an_empty_history(member_client, shop):
    content = text(member_client.get(card_url(shop)))
    assert "Nothing yet. Your points appear here after your first purchase." in content
    assert entry_texts(content) == []


# --- How it works ----------------------------------------------------------------------------


@pytest.fixture
def rules(shop, owner):
    return services.program_rules_update(
        shop=shop, by=owner, points_per_unit=10, steps=[{"min_amount": "20.00", "points": 300}],
        steps_replace_rate=True, signup_bonus=50, pending_days=14, points_per_currency_value=100)


def example_rows(content: str) -> list[tuple[str, str]]:
    table = re.search(r'<table class="examples">(.*?)</table>', content, re.S)
    assert table, "no examples table"
    return re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td></tr>", table.group(1))


def test_how_it_works_lists_rate_steps_bonus_and_examples(member_client, shop, rules):
    response = member_client.get(how_url(shop))
    assert response.status_code == 200
    content = text(response)
    assert "How you save at Bakkerij Noord" in content
    assert ("You get 10 points for every €1.00 you spend (whole amounts; cents don't "
            "count).") in content
    assert "Bigger purchases earn a fixed number of points instead:" in content
    assert "from €20.00: 300 points" in content
    assert "You get 50 points when you join." in content
    assert "New points can be used after 14 days." in content
    assert "100 points are worth €1.00." in content
    assert example_rows(content) == [
        ("€5.00", "50"), ("€12.50", "120"), ("€20.00", "300"), ("€27.50", "300")]
    assert f'href="{card_url(shop)}"' in content


def test_how_it_works_with_the_default_rules(member_client, shop):
    content = text(member_client.get(how_url(shop)))
    assert "You get 10 points for every €1.00 you spend" in content
    assert "when you join" not in content
    assert "Bigger purchases" not in content
    assert example_rows(content) == [("€5.00", "50"), ("€12.50", "120"), ("€27.50", "270")]


def _dutch(*msgids: str) -> list[str]:
    with translation.override("nl"):
        return [gettext(m) for m in msgids]


def test_how_it_works_is_in_the_members_language(shop, rules):
    user = UserFactory(email="jan@example.nl")
    MembershipFactory(shop=shop, user=user, email=user.email, language="nl")
    response = signed_in(user).get(how_url(shop))  # no language cookie, no Accept-Language
    assert response.status_code == 200
    assert response["Content-Language"] == "nl"
    content = text(response)
    assert '<html lang="nl">' in content
    english = ["How you save at %(shop)s", "Examples", "Purchase", "Points", "Sign out"]
    heading, examples, purchase, points, sign_out = dutch = _dutch(*english)
    assert all(nl != en for nl, en in zip(dutch, english, strict=True)), dutch
    assert escape(heading % {"shop": shop.name}) in content
    assert f"<h2>{escape(examples)}</h2>" in content
    assert f"<th>{escape(purchase)}</th><th>{escape(points)}</th>" in content
    assert escape(sign_out) in content
    for words in ("How you save at", ">Examples<", ">Sign out<", "when you join"):
        assert words not in content
    # Money and numbers in Dutch style.
    assert example_rows(content) == [
        ("€\u00a05,00", "50"), ("€\u00a012,50", "120"), ("€\u00a020,00", "300"),
        ("€\u00a027,50", "300")]


def test_the_card_is_in_the_members_language_too(shop, owner):
    user = UserFactory(email="jan@example.nl")
    membership = MembershipFactory(shop=shop, user=user, email=user.email, language="nl")
    credit(shop, membership, 1000, "welkom", owner)
    services.purchase_record(shop=shop, amount="27.50", membership_id=membership.pk)
    response = signed_in(user).get(card_url(shop))
    assert response["Content-Language"] == "nl"
    content = text(response)
    assert re.search(r'<div class="points">\s*1\.270\s*</div>', content)
    assert "€\u00a012,70" in content
    english = ["Your points history", "Purchase of %(amount)s at %(shop)s"]
    history, purchase_of = dutch = _dutch(*english)
    assert all(nl != en for nl, en in zip(dutch, english, strict=True)), dutch
    assert escape(history) in content
    assert entry_texts(content)[0] == purchase_of % {"amount": "€\u00a027,50",
                                                     "shop": "Bakkerij Noord"}


def test_a_chosen_language_wins_over_the_members_language(shop, rules):
    user = UserFactory(email="jan@example.nl")
    MembershipFactory(shop=shop, user=user, email=user.email, language="nl")
    client = signed_in(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(how_url(shop))
    assert response["Content-Language"] == "en"
    content = text(response)
    assert "How you save at Bakkerij Noord" in content
    assert "You get 50 points when you join." in content


def test_an_english_member_of_a_dutch_shop_reads_english(member_client, shop, rules):
    assert shop.language == "nl"  # the shop fixture is Dutch; the member chose English
    response = member_client.get(how_url(shop))
    assert response["Content-Language"] == "en"
    assert "How you save at Bakkerij Noord" in text(response)


def test_how_it_works_is_for_members_only(owner, member, shop, other_shop):
    assert signed_in(owner).get(how_url(shop)).status_code == 404  # an owner without a card
    assert signed_in(member.user).get(how_url(other_shop)).status_code == 404
    response = Client().get(how_url(shop))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
