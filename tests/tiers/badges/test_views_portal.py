"""The member's Achievements: earned badges with their dates, locked ones with progress in the
member's terms, challenges on now with a countdown, hidden ones only once earned, and the points
over time as an inline SVG drawn on the server."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from loyalty import services
from tests.factories import MembershipFactory, UserFactory
from tests.helpers import text
from tests.tiers.badges.conftest import buy, local, make_badge

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_with_login(badge_shop):
    user = UserFactory()
    return MembershipFactory(shop=badge_shop, user=user)


def page(client, member, at=None) -> str:
    client.force_login(member.user)
    if at is None:
        response = client.get(f"/portal/{member.shop.slug}/achievements/")
    else:
        with time_machine.travel(at, tick=False):
            response = client.get(f"/portal/{member.shop.slug}/achievements/")
    assert response.status_code == 200
    return text(response)


def test_earned_locked_and_challenges(client, badge_shop, member_with_login):
    make_badge(badge_shop, "first_purchase", name="First visit")
    make_badge(badge_shop, "visits", name="Regular", count=10)
    make_badge(badge_shop, "spend_total", name="Big spender", amount="100.00")
    make_badge(badge_shop, "spend_within", name="March challenge", amount="50.00", days=31,
               starts_on=dt.date(2026, 3, 1))
    make_badge(badge_shop, "spend_within", name="Secret", amount="5.00", days=31,
               starts_on=dt.date(2026, 3, 1), hidden=True)
    make_badge(badge_shop, "referrals", name="Ambassador", count=3)
    for day in range(1, 8):  # 7 visits before March, 70.00
        buy(badge_shop, member_with_login, "10.00", at=local(2026, 2, day, 10))
    html = page(client, member_with_login, at=local(2026, 3, 20, 10))
    assert "First visit" in html and "Earned on 1 February 2026" in html
    assert "7 of 10 visits" in html
    assert "€70.00 of €100.00" in html
    assert "March challenge" in html and "12 days left" in html  # 20 March → 1 April
    assert "€0.00 of €50.00" in html
    assert "Secret" not in html  # hidden until earned
    assert "Ambassador" not in html  # not earnable until referrals exist
    assert "<script" not in html.split("<main", 1)[-1].split("</main>")[0]


def test_a_hidden_challenge_shows_once_earned(client, badge_shop, member_with_login):
    make_badge(badge_shop, "spend_within", name="Secret", amount="5.00", days=31,
               starts_on=dt.date(2026, 3, 1), hidden=True)
    buy(badge_shop, member_with_login, "10.00", at=local(2026, 3, 2, 10))
    html = page(client, member_with_login, at=local(2026, 3, 3, 10))
    assert "Secret" in html and "Earned on 2 March 2026" in html


def test_a_challenge_that_ended_or_not_started_is_not_on(client, badge_shop,
                                                        member_with_login):
    make_badge(badge_shop, "spend_within", name="Over", amount="50.00", days=10,
               starts_on=dt.date(2026, 3, 1))
    make_badge(badge_shop, "spend_within", name="Coming", amount="50.00", days=10,
               starts_on=dt.date(2026, 4, 1))
    html = page(client, member_with_login, at=local(2026, 3, 11, 0, 0))  # day 11: over
    assert "Over" not in html and "Coming" not in html
    html = page(client, member_with_login, at=local(2026, 3, 10, 23, 59))
    assert "Over" in html and "1 day left" in html


def test_a_badge_switched_off_shows_only_if_earned(client, badge_shop, member_with_login):
    from tiers.badges.services import badge_set_active

    earned = make_badge(badge_shop, "first_purchase", name="First visit")
    locked = make_badge(badge_shop, "visits", name="Regular", count=10)
    buy(badge_shop, member_with_login)
    for badge in (earned, locked):
        badge_set_active(shop=badge_shop, badge_id=badge.pk, active=False)
    html = page(client, member_with_login)
    assert "First visit" in html and "Regular" not in html


def test_the_points_chart_is_inline_svg(client, badge_shop, member_with_login):
    buy(badge_shop, member_with_login, "10.00", at=local(2026, 1, 5, 10))
    buy(badge_shop, member_with_login, "20.00", at=local(2026, 2, 5, 10))
    services.points_credit(shop=badge_shop, membership_id=member_with_login.pk, points=5,
                           kind="bonus")
    html = page(client, member_with_login)
    assert '<svg class="points-chart"' in html and "<polyline" in html
    assert "Your points since 5 Jan 2026: 305 now, at most 305." in html
    assert "chart.js" not in html.lower() and "cdn" not in html.lower()


def test_no_history_no_chart_and_a_friendly_line(client, badge_shop, member_with_login):
    html = page(client, member_with_login)
    assert "<polyline" not in html
    assert "No badges yet" in html


def test_the_card_page_links_the_achievements_once_the_shop_has_a_badge(client, badge_shop,
                                                                         member_with_login):
    client.force_login(member_with_login.user)
    link = f"/portal/{badge_shop.slug}/achievements/"
    assert link not in text(client.get(f"/portal/{badge_shop.slug}/"))  # no badges: no link
    make_badge(badge_shop, "first_purchase", name="First visit")
    assert link in text(client.get(f"/portal/{badge_shop.slug}/"))


def test_another_members_badges_never_show(client, badge_shop, member_with_login):
    other = MembershipFactory(shop=badge_shop)
    make_badge(badge_shop, "first_purchase", name="First visit")
    buy(badge_shop, other)
    html = page(client, member_with_login)
    assert "Earned on" not in html


def test_a_member_of_another_shop_gets_a_404(client, badge_shop, other_shop):
    stranger = MembershipFactory(shop=other_shop, user=UserFactory())
    client.force_login(stranger.user)
    assert client.get(f"/portal/{badge_shop.slug}/achievements/").status_code == 404


def test_the_chart_rises_and_falls_with_the_balance(badge_shop, member_with_login):
    from tiers.badges.selectors import points_chart

    buy(badge_shop, member_with_login, "10.00", at=local(2026, 1, 5, 10))
    services.program_rules_update(shop=badge_shop, by=None, points_per_unit=10,
                                  pending_days=0)
    badge_shop.refresh_from_db()
    buy(badge_shop, member_with_login, "10.00", at=local(2026, 1, 6, 10))
    with time_machine.travel(local(2026, 1, 7, 10), tick=False):
        services.points_spend(shop=badge_shop, membership_id=member_with_login.pk, points=50)
        chart = points_chart(membership=member_with_login)
    assert chart["top"] == 200 and chart["balance"] == 150
    ys = [float(pair.split(",")[1]) for pair in chart["points"].split()]
    assert min(ys) == chart["top_y"] and ys[-1] > min(ys)  # at 150 now, below the top
