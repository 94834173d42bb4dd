"""Rewards at the counter (rewards/views/counter.py): looking a voucher up by its code and using
it once, the rewards part of the member panel, redeeming a reward for the member in one step,
and taking points off a purchase as money."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
import time_machine
from django.test import Client
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.http import urlencode
from pytest_django.asserts import assertRedirects

from loyalty.models import EntryKind, LedgerEntry
from loyalty.services import api_key_create, purchase_record
from rewards import services
from rewards.models import Reward, RewardKind, Voucher, VoucherStatus
from tests.factories import MembershipFactory
from tests.helpers import balance, signed_in, text

pytestmark = pytest.mark.django_db

AMSTERDAM = zoneinfo.ZoneInfo("Europe/Amsterdam")  # the shop's time zone


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def lookup_url(shop) -> str:
    return f"/counter/{shop.slug}/vouchers/"


def use_url(shop, code) -> str:
    return f"/counter/{shop.slug}/vouchers/{code}/use/"


def member_url(shop, membership) -> str:
    return f"/counter/{shop.slug}/members/{membership.card_number}/"


def panel_url(shop, membership) -> str:
    return f"/counter/{shop.slug}/members/{membership.card_number}/rewards/"


def redeem_url(shop, membership) -> str:
    return f"/counter/{shop.slug}/members/{membership.card_number}/redeem/"


def pay_url(shop, membership) -> str:
    return f"/counter/{shop.slug}/members/{membership.card_number}/pay-with-points/"


def make_reward(shop, name, points_cost, **fields) -> Reward:
    fields.setdefault("kind", RewardKind.PERK)
    return services.reward_create(shop=shop, name=name, points_cost=points_cost, **fields)


def allow_pay_with_points(shop, cap=None) -> None:
    services.reward_settings_update(shop=shop, expired_vouchers_return_points=True,
                                    pay_with_points=True, pay_with_points_cap=cap)


@pytest.fixture
def customer(shop, member):
    purchase_record(shop=shop, amount="50.00", membership_id=member.pk)  # 500 points
    assert balance(member) == 500
    return member


@pytest.fixture
def rewards(shop):
    return {
        "coffee": make_reward(shop, "Free coffee", 100, kind=RewardKind.FREE_PRODUCT,
                              product_name="Coffee"),
        "cake": make_reward(shop, "Cake of the day", 450),
        "dinner": make_reward(shop, "Dinner for two", 800, kind=RewardKind.GIFT_VOUCHER,
                              value_amount="40.00"),
        "inactive": make_reward(shop, "Old deal", 50, active=False),
    }


@pytest.fixture
def voucher(shop, customer, rewards):
    return services.voucher_claim(shop=shop, membership_id=customer.pk,
                                  reward_id=rewards["coffee"].pk, actor_user=customer.user)


def dashed(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def search_box(content: str) -> str:
    match = re.search(r'<input id="voucher-code"[^>]*>', content)
    assert match, "no voucher search box"
    return match.group(0)


# --- Looking a voucher up ---------------------------------------------------------------------


@pytest.mark.parametrize("typed", [
    lambda code: code,
    lambda code: code.lower(),
    lambda code: dashed(code).lower(),
    lambda code: f"  {dashed(code)} ",
])
def test_lookup_shows_the_reward_the_member_and_use(staff_client, shop, customer, voucher,
                                                    typed):
    response = staff_client.get(lookup_url(shop), {"code": typed(voucher.code)})

    assert response.status_code == 200
    assert response.context["voucher"] == voucher
    content = text(response)
    assert "<h1>Free coffee</h1>" in content
    assert escape(f"For {customer.name} (card {customer.card_number_display})") in content
    assert f'<p class="mono voucher-code">{dashed(voucher.code)}</p>' in content
    assert f'value="{dashed(voucher.code)}"' in search_box(content)  # as typed, in one format
    assert f'action="{use_url(shop, voucher.code)}"' in content
    assert 'type="submit" data-autofocus>Use</button>' in content  # Enter uses it
    assert "data-autofocus" not in search_box(content)
    assert "voucher-status" not in content


def test_lookup_page_without_a_code_shows_the_search_box(staff_client, shop):
    response = staff_client.get(lookup_url(shop))
    assert response.status_code == 200
    content = text(response)
    assert 'id="voucher-code"' in content
    assert 'role="alert"' not in content


def test_lookup_of_an_unknown_code_is_a_404_that_says_so(staff_client, shop, voucher):
    response = staff_client.get(lookup_url(shop), {"code": "ZZZZ-2222"})

    assert response.status_code == 404
    content = text(response)
    assert "No voucher with this code at this shop." in content
    assert 'role="alert"' in content
    assert 'id="voucher-code"' in content  # type the next one right there
    assert ">Use</button>" not in content


def test_lookup_of_a_code_of_another_shop_is_404(staff_client, shop, other_shop):
    elsewhere = MembershipFactory(shop=other_shop, name="Kees Zuid")
    purchase_record(shop=other_shop, amount="20.00", membership_id=elsewhere.pk)
    cheese = make_reward(other_shop, "Gratis kaasplankje", 100)
    theirs = services.voucher_claim(shop=other_shop, membership_id=elsewhere.pk,
                                    reward_id=cheese.pk)

    response = staff_client.get(lookup_url(shop), {"code": theirs.code})

    assert response.status_code == 404
    content = text(response)
    assert "No voucher with this code at this shop." in content
    assert "Gratis kaasplankje" not in content
    assert "Kees Zuid" not in content


def assert_warning(content: str, expected: str, kind: str) -> None:
    """A voucher that cannot be used shows as a warning that cannot be mistaken for success
    ("— do not hand out", the warning style, announced): no "Use", no success style, and the
    search box has the focus for the next scan."""
    status = re.search(r'<p class="voucher-status voucher-status-(\w+)" role="alert">(.*?)</p>',
                       content, re.S)
    assert status, "no voucher warning"
    assert (status.group(1), status.group(2)) == (kind, escape(expected))
    assert "message-success" not in content
    assert ">Use</button>" not in content
    assert "data-autofocus" in search_box(content)
    assert content.count("data-autofocus") == 1


# 13:03 UTC is 14:03 in Amsterdam (the shop's time zone) in March.
USED_MOMENT = dt.datetime(2026, 3, 3, 13, 3, tzinfo=dt.UTC)


def test_lookup_of_a_voucher_used_today_says_at_what_time_and_by_whom(staff_client, staff_user,
                                                                     shop, voucher):
    staff_user.name = "Daan"
    staff_user.save(update_fields=["name"])
    with time_machine.travel(USED_MOMENT, tick=False):
        services.voucher_use(shop=shop, code=voucher.code, actor_user=staff_user)
    with time_machine.travel(USED_MOMENT + dt.timedelta(hours=2), tick=False):
        response = staff_client.get(lookup_url(shop), {"code": voucher.code.lower()})

    assert response.status_code == 200
    content = text(response)
    assert_warning(content, "Already used today at 14:03 by Daan — do not hand out.", "used")
    assert f'value="{dashed(voucher.code)}"' in search_box(content)


def test_lookup_of_a_voucher_used_on_another_day_gives_the_date(staff_client, staff_user, shop,
                                                                voucher):
    with time_machine.travel(USED_MOMENT, tick=False):
        services.voucher_use(shop=shop, code=voucher.code, actor_user=staff_user)
    with time_machine.travel(USED_MOMENT + dt.timedelta(days=1), tick=False):
        content = text(staff_client.get(lookup_url(shop), {"code": voucher.code}))
    assert_warning(content, f"Already used on 3 March 2026 at 14:03 by {staff_user.name} — do not "
                            "hand out.", "used")


def test_lookup_of_a_voucher_used_by_a_till_names_its_api_key(staff_client, shop, voucher):
    api_key, _raw = api_key_create(shop=shop, name="till-1")
    with time_machine.travel(USED_MOMENT, tick=False):
        services.voucher_use(shop=shop, code=voucher.code, actor_api_key=api_key)
        content = text(staff_client.get(lookup_url(shop), {"code": voucher.code}))
    assert_warning(content, "Already used today at 14:03 by till-1 — do not hand out.", "used")


def test_lookup_of_a_voucher_used_by_nobody_recorded_gives_the_time(staff_client, shop,
                                                                    voucher):
    with time_machine.travel(USED_MOMENT, tick=False):
        services.voucher_use(shop=shop, code=voucher.code)
        content = text(staff_client.get(lookup_url(shop), {"code": voucher.code}))
    assert_warning(content, "Already used today at 14:03 — do not hand out.", "used")


def test_lookup_of_a_cancelled_voucher_warns(staff_client, shop, voucher, customer):
    with time_machine.travel(USED_MOMENT, tick=False):
        services.voucher_cancel(shop=shop, voucher_id=voucher.pk, by=customer.user)
    content = text(staff_client.get(lookup_url(shop), {"code": voucher.code}))
    assert_warning(content, "Cancelled on 3 March 2026 — do not hand out.", "cancelled")


def test_lookup_of_an_expired_voucher_warns(staff_client, shop, voucher):
    assert services.vouchers_expire(now=voucher.expires_at + dt.timedelta(minutes=5)) == 1
    expected = f"Expired on {timezone.localtime(voucher.expires_at, AMSTERDAM):%-d %B %Y}"
    content = text(staff_client.get(lookup_url(shop), {"code": voucher.code}))
    assert_warning(content, f"{expected} — do not hand out.", "expired")


def test_lookup_of_a_voucher_past_its_date_but_not_yet_closed_offers_no_use(staff_client, shop,
                                                                            voucher):
    """The hourly task has not run yet: the voucher is still "open" in the database."""
    Voucher.objects.filter(pk=voucher.pk).update(expires_at=voucher.created_at)
    content = text(staff_client.get(lookup_url(shop), {"code": voucher.code}))
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.OPEN
    expected = f"Expired on {timezone.localtime(voucher.expires_at, AMSTERDAM):%-d %B %Y}"
    assert_warning(content, f"{expected} — do not hand out.", "expired")


def test_lookup_status_is_in_the_staff_members_language(staff_client, staff_user, shop, voucher):
    staff_user.name = "Daan"
    staff_user.save(update_fields=["name"])
    with time_machine.travel(USED_MOMENT, tick=False):
        services.voucher_use(shop=shop, code=voucher.code, actor_user=staff_user)
    with time_machine.travel(USED_MOMENT + dt.timedelta(days=1), tick=False):
        response = staff_client.get(lookup_url(shop), {"code": voucher.code},
                                    headers={"Accept-Language": "nl"})
    with translation.override("nl"):
        expected = translation.gettext(
            "Already used on %(date)s at %(time)s by %(name)s — do not hand out.") % {
            "date": "3 maart 2026", "time": "14:03", "name": "Daan"}
    assert "3 maart 2026" in text(response)  # the date in Dutch; the sentence comes with the .po
    assert_warning(text(response), expected, "used")


# --- Using it ---------------------------------------------------------------------------------


def test_use_marks_the_voucher_used_once(staff_client, staff_user, shop, customer, voucher):
    response = staff_client.post(use_url(shop, voucher.code))

    # Success, then the empty code box for the next scan: no "already used" warning right
    # after the staff member used it.
    assertRedirects(response, lookup_url(shop), fetch_redirect_response=False)
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.USED
    assert voucher.used_at is not None
    assert voucher.used_by_id == staff_user.pk
    page = staff_client.get(response["Location"])
    assert f"Voucher used: Free coffee for {customer.name}." in messages_of(page)
    content = text(page)
    assert "do not hand out" not in content
    assert 'value=""' in search_box(content) and "data-autofocus" in search_box(content)
    assert balance(customer) == 400  # using costs nothing more: the points left at claiming
    used_at = timezone.localtime(voucher.used_at, AMSTERDAM)
    assert_warning(text(staff_client.get(lookup_url(shop), {"code": voucher.code})),
                   f"Already used today at {used_at:%H:%M} by {staff_user.name} — do not hand "
                   "out.", "used")


def test_use_again_says_it_was_used_already(staff_client, shop, customer, voucher):
    first = staff_client.post(use_url(shop, voucher.code))
    staff_client.get(first["Location"])  # shows (and uses up) the success message
    used_at = Voucher.objects.get(pk=voucher.pk).used_at

    response = staff_client.post(use_url(shop, voucher.code))

    assert response.status_code == 302
    page = staff_client.get(response["Location"])
    errors = [m for m in page.context["messages"] if m.level_tag == "error"]
    assert len(errors) == 1
    assert "used already" in str(errors[0])
    assert not any(str(m).startswith("Voucher used:") for m in page.context["messages"])
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.USED
    assert voucher.used_at == used_at
    assert balance(customer) == 400


def test_use_of_an_expired_voucher_is_refused(staff_client, shop, voucher):
    Voucher.objects.filter(pk=voucher.pk).update(expires_at=voucher.created_at)

    response = staff_client.post(use_url(shop, voucher.code))

    page = staff_client.get(response["Location"])
    assert "This voucher has expired." in messages_of(page)
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.OPEN
    assert voucher.used_at is None


def test_use_of_a_code_of_another_shop_changes_nothing(staff_client, shop, other_shop):
    elsewhere = MembershipFactory(shop=other_shop)
    purchase_record(shop=other_shop, amount="20.00", membership_id=elsewhere.pk)
    cheese = make_reward(other_shop, "Gratis kaasplankje", 100)
    theirs = services.voucher_claim(shop=other_shop, membership_id=elsewhere.pk,
                                    reward_id=cheese.pk)

    response = staff_client.post(use_url(shop, theirs.code))

    page = staff_client.get(response["Location"])
    assert page.status_code == 404
    assert "No voucher with this code at this shop." in messages_of(page)
    theirs.refresh_from_db()
    assert theirs.status == VoucherStatus.OPEN


def test_use_needs_post(staff_client, shop, voucher):
    assert staff_client.get(use_url(shop, voucher.code)).status_code == 405
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.OPEN


def test_owner_may_use_a_voucher_too(owner_client, shop, voucher):
    assert owner_client.post(use_url(shop, voucher.code)).status_code == 302
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.USED


# --- The counter's search box -----------------------------------------------------------------


@pytest.mark.parametrize("typed", [lambda code: code, lambda code: dashed(code).lower()])
def test_search_with_a_voucher_code_goes_to_the_lookup(staff_client, shop, customer, voucher,
                                                       typed):
    query = typed(voucher.code)

    response = staff_client.get(f"/counter/{shop.slug}/", {"q": query, "go": "1"})

    assertRedirects(response, lookup_url(shop) + "?" + urlencode({"code": query}),
                    fetch_redirect_response=False)
    page = staff_client.get(response["Location"])
    assert page.status_code == 200
    assert page.context["voucher"] == voucher


def test_search_with_a_voucher_code_while_typing_does_not_redirect(staff_client, shop, voucher):
    response = staff_client.get(f"/counter/{shop.slug}/", {"q": voucher.code})
    assert response.status_code == 200


def preview(client, shop, code):
    return client.get(lookup_url(shop), {"code": code, "preview": "1"},
                      headers={"HX-Request": "true"})


def test_preview_while_typing_shows_an_open_voucher(staff_client, shop, customer, voucher):
    response = preview(staff_client, shop, voucher.code.lower())

    assert response.status_code == 200
    content = text(response)
    assert "<html" not in content
    assert content.lstrip().startswith('<div class="panel code-preview voucher-preview"')
    assert "<strong>Free coffee</strong>" in content
    assert escape(f"For {customer.name} (card {customer.card_number_display})") in content
    assert "Press Enter to use it." in content
    assert f'href="{lookup_url(shop)}?code={voucher.code}"' in content
    assert "voucher-status" not in content
    assert "HX-Request" in response["Vary"]


def test_preview_of_a_used_voucher_warns(staff_client, staff_user, shop, voucher):
    staff_user.name = "Daan"
    staff_user.save(update_fields=["name"])
    with time_machine.travel(USED_MOMENT, tick=False):
        services.voucher_use(shop=shop, code=voucher.code, actor_user=staff_user)
    with time_machine.travel(USED_MOMENT + dt.timedelta(days=1), tick=False):
        content = text(preview(staff_client, shop, voucher.code))
    assert ('<p class="voucher-status voucher-status-used" role="alert">Already used on '
            '3 March 2026 at 14:03 by Daan — do not hand out.</p>') in content
    assert "voucher-closed" in content
    assert "Press Enter to use it." not in content
    assert "message-success" not in content


def test_preview_of_an_unknown_code_says_nothing_matches_with_200(staff_client, shop, voucher):
    response = preview(staff_client, shop, "ZZZZ2222")
    assert response.status_code == 200  # htmx swaps it in (it swaps no 404)
    assert escape("No member or voucher found for “ZZZZ2222”.") in text(response)


def test_preview_of_another_shops_voucher_shows_nothing_of_it(staff_client, shop, other_shop):
    elsewhere = MembershipFactory(shop=other_shop, name="Kees Zuid")
    purchase_record(shop=other_shop, amount="20.00", membership_id=elsewhere.pk)
    cheese = make_reward(other_shop, "Gratis kaasplankje", 100)
    theirs = services.voucher_claim(shop=other_shop, membership_id=elsewhere.pk,
                                    reward_id=cheese.pk)
    content = text(preview(staff_client, shop, theirs.code))
    assert "No member or voucher found" in content
    assert "Kees Zuid" not in content and "kaasplankje" not in content


def test_the_voucher_time_is_the_shops_time_zone(staff_client, staff_user, shop, voucher):
    shop.time_zone = "America/New_York"
    shop.save(update_fields=["time_zone"])
    with time_machine.travel(USED_MOMENT, tick=False):  # 13:03 UTC is 08:03 in New York
        services.voucher_use(shop=shop, code=voucher.code, actor_user=staff_user)
    with time_machine.travel(USED_MOMENT + dt.timedelta(days=1), tick=False):
        content = text(staff_client.get(lookup_url(shop), {"code": voucher.code}))
    assert_warning(content, f"Already used on 3 March 2026 at 08:03 by {staff_user.name} — do "
                   "not hand out.", "used")


# --- The member panel's rewards -------------------------------------------------------------


def test_member_page_loads_the_rewards_panel(staff_client, shop, customer):
    content = text(staff_client.get(member_url(shop, customer)))
    assert f'hx-get="{panel_url(shop, customer)}"' in content


def test_rewards_panel_offers_affordable_rewards_to_redeem(staff_client, shop, customer, rewards):
    response = staff_client.get(panel_url(shop, customer))

    assert response.status_code == 200
    content = text(response)
    assert "<html" not in content  # a fragment for htmx
    rows = {row["reward"].name: row for row in response.context["rewards"]}
    assert set(rows) == {"Free coffee", "Cake of the day", "Dinner for two"}
    assert rows["Free coffee"]["affordable"] and rows["Cake of the day"]["affordable"]
    assert not rows["Dinner for two"]["affordable"]
    assert content.count("Redeem now") == 2
    for reward in (rewards["coffee"], rewards["cake"]):
        assert f'name="reward" value="{reward.pk}"' in content
    assert f'name="reward" value="{rewards["dinner"].pk}"' not in content
    assert "300 more points needed" in content
    assert "Old deal" not in content
    assert f'action="{redeem_url(shop, customer)}"' in content
    assert pay_url(shop, customer) not in content  # the shop does not take points as money


def test_rewards_panel_lists_open_vouchers(staff_client, shop, customer, voucher):
    content = text(staff_client.get(panel_url(shop, customer)))
    assert "Open vouchers:" in content
    assert (f'<a class="mono" href="{lookup_url(shop)}?code={voucher.code}">'
            f"{dashed(voucher.code)}</a>") in content


def test_rewards_panel_says_point_for_one_and_points_for_more(staff_client, shop, customer):
    make_reward(shop, "Sticker", 1)
    make_reward(shop, "Mug", 501)
    make_reward(shop, "Bag", 502)
    content = text(staff_client.get(panel_url(shop, customer)))
    assert "· 1 point</span>" in content
    assert "· 501 points</span>" in content
    assert "— 1 more point needed" in content
    assert "— 2 more points needed" in content
    allow_pay_with_points(shop, cap=1)
    assert "(at most 1 point)" in text(staff_client.get(panel_url(shop, customer)))


def test_rewards_panel_shows_pay_with_points_when_the_shop_allows_it(staff_client, shop,
                                                                     customer):
    allow_pay_with_points(shop, cap=300)
    content = text(staff_client.get(panel_url(shop, customer)))
    assert f'action="{pay_url(shop, customer)}"' in content
    assert "at most 300" in content


def test_rewards_panel_of_a_member_of_another_shop_is_404(staff_client, shop, other_shop):
    elsewhere = MembershipFactory(shop=other_shop)
    assert staff_client.get(panel_url(shop, elsewhere)).status_code == 404


# --- Redeeming at the counter: it asks first -----------------------------------------------

HX = {"HX-Request": "true"}
TOKEN = re.compile(r'name="token" value="([0-9a-f]{32})"')


def confirm_token(response) -> str:
    match = TOKEN.search(text(response))
    assert match, "no confirmation form"
    return match.group(1)


def redeem(client, shop, membership, reward_id, **headers):
    """Redeem now, then Confirm: the two steps staff take."""
    asked = client.post(redeem_url(shop, membership), {"reward": reward_id}, headers=headers)
    assert asked.status_code == 200, text(asked)
    return client.post(redeem_url(shop, membership), {
        "reward": reward_id, "confirm": "1", "token": confirm_token(asked)}, headers=headers)


def test_redeem_now_asks_first_and_changes_nothing(staff_client, shop, customer, rewards):
    response = staff_client.post(redeem_url(shop, customer), {"reward": rewards["cake"].pk})

    assert response.status_code == 200
    content = text(response)
    assert "<html" in content  # a page of its own: works without JavaScript
    assert escape("Redeem Cake of the day for 450 points? Sanne Visser keeps 50 points.") in content
    assert 'name="confirm" value="1"' in content
    assert f'name="reward" value="{rewards["cake"].pk}"' in content
    assert f'href="{member_url(shop, customer)}"' in content  # Cancel
    assert ">Confirm</button>" in content
    assert balance(customer) == 500
    assert not Voucher.objects.exists()


def test_redeem_now_with_htmx_asks_inside_the_rewards_panel(staff_client, shop, customer,
                                                             rewards):
    response = staff_client.post(redeem_url(shop, customer), {"reward": rewards["coffee"].pk},
                                 headers=HX)
    assert response.status_code == 200
    content = text(response)
    assert "<html" not in content
    assert content.lstrip().startswith('<section id="member-rewards"')
    assert escape("Redeem Free coffee for 100 points? Sanne Visser keeps 400 points.") in content
    assert f'hx-get="{panel_url(shop, customer)}"' in content  # Cancel brings the list back
    assert "HX-Trigger" not in response
    assert balance(customer) == 500


def test_redeem_takes_the_points_and_uses_the_voucher_at_once(staff_client, staff_user, shop,
                                                              customer, rewards):
    response = redeem(staff_client, shop, customer, rewards["cake"].pk)

    assertRedirects(response, member_url(shop, customer), fetch_redirect_response=False)
    assert balance(customer) == 50
    voucher = Voucher.objects.get(membership=customer)
    assert voucher.reward == rewards["cake"]
    assert voucher.status == VoucherStatus.USED
    assert voucher.points_spent == 450
    assert voucher.claimed_by_id == staff_user.pk
    assert voucher.used_by_id == staff_user.pk
    entry = LedgerEntry.objects.get(membership=customer, kind=EntryKind.REDEMPTION)
    assert entry.points == -450
    assert entry.actor_user_id == staff_user.pk
    page = staff_client.get(response["Location"])
    assert "Cake of the day redeemed: 450 points taken off." in messages_of(page)


def test_redeem_with_htmx_says_so_out_of_band_and_every_panel_reloads(staff_client, shop,
                                                                      customer, rewards):
    response = redeem(staff_client, shop, customer, rewards["cake"].pk, **HX)

    assert response.status_code == 200
    assert response["HX-Trigger"] == "membership-changed"
    assert response["HX-Reswap"] == "none"
    content = text(response)
    assert '<div id="counter-feedback"' in content and 'hx-swap-oob="true"' in content
    assert "Cake of the day redeemed: 450 points taken off." in content
    assert balance(customer) == 50
    # The panel that reloads now shows the new balance: the cake is out of reach.
    panel = text(staff_client.get(panel_url(shop, customer), headers=HX))
    assert "400 more points needed" in panel


def test_confirm_twice_redeems_once(staff_client, shop, customer, rewards):
    asked = staff_client.post(redeem_url(shop, customer), {"reward": rewards["coffee"].pk})
    data = {"reward": rewards["coffee"].pk, "confirm": "1", "token": confirm_token(asked)}
    first = staff_client.post(redeem_url(shop, customer), data)
    second = staff_client.post(redeem_url(shop, customer), data)
    assert first.status_code == second.status_code == 302
    assert Voucher.objects.filter(membership=customer).count() == 1
    assert balance(customer) == 400


def test_redeem_a_reward_the_member_cannot_afford_is_not_even_asked(staff_client, shop,
                                                                    customer, rewards):
    response = staff_client.post(redeem_url(shop, customer), {"reward": rewards["dinner"].pk})

    assertRedirects(response, member_url(shop, customer), fetch_redirect_response=False)
    page = staff_client.get(response["Location"])
    assert "Not enough points: 500 can be spent, 800 asked." in messages_of(page)
    assert balance(customer) == 500
    assert not Voucher.objects.exists()


def test_confirming_a_reward_the_member_cannot_afford_changes_nothing(staff_client, shop,
                                                                      customer, rewards):
    response = staff_client.post(redeem_url(shop, customer), {
        "reward": rewards["dinner"].pk, "confirm": "1", "token": "a" * 32}, headers=HX)

    assert response.status_code == 400
    content = text(response)
    assert content.lstrip().startswith('<section id="member-rewards"')
    assert 'role="alert"' in content
    assert "Not enough points: 500 can be spent, 800 asked." in content
    assert "HX-Trigger" not in response
    assert balance(customer) == 500
    assert not Voucher.objects.exists()
    assert not LedgerEntry.objects.filter(kind=EntryKind.REDEMPTION).exists()


@pytest.mark.parametrize("confirm", ["", "1"])
def test_redeem_an_inactive_reward_changes_nothing(staff_client, shop, customer, rewards,
                                                   confirm):
    response = staff_client.post(redeem_url(shop, customer), {
        "reward": rewards["inactive"].pk, "confirm": confirm, "token": "b" * 32})
    page = staff_client.get(response["Location"])
    expected = ("This reward is not offered at the moment." if confirm
                else "No such reward at this shop.")  # not in the member's list at all
    assert expected in messages_of(page)
    assert balance(customer) == 500
    assert not Voucher.objects.exists()


@pytest.mark.parametrize("posted", [{}, {"reward": ""}, {"reward": "999999"},
                                    {"reward": "999999", "confirm": "1"}])
def test_redeem_without_a_known_reward_changes_nothing(staff_client, shop, customer, posted):
    response = staff_client.post(redeem_url(shop, customer), posted)
    assertRedirects(response, member_url(shop, customer), fetch_redirect_response=False)
    page = staff_client.get(response["Location"])
    assert "No such reward at this shop." in messages_of(page)
    assert balance(customer) == 500
    assert not Voucher.objects.exists()


def test_redeem_with_a_forged_reward_that_is_no_number_does_not_crash(staff_user, shop,
                                                                      customer):
    client = Client(raise_request_exception=False)
    client.force_login(staff_user)

    for confirm in ("", "1"):
        response = client.post(redeem_url(shop, customer), {"reward": "coffee",
                                                            "confirm": confirm})
        assert response.status_code in (302, 400)
    assert balance(customer) == 500
    assert not Voucher.objects.exists()


def test_redeem_a_reward_of_another_shop_changes_nothing(staff_client, shop, other_shop,
                                                         customer):
    cheese = make_reward(other_shop, "Gratis kaasplankje", 100)
    for confirm in ("", "1"):
        response = staff_client.post(redeem_url(shop, customer), {"reward": cheese.pk,
                                                                  "confirm": confirm})
        assertRedirects(response, member_url(shop, customer), fetch_redirect_response=False)
        page = staff_client.get(response["Location"])
        assert "No such reward at this shop." in messages_of(page)
    assert balance(customer) == 500
    assert not Voucher.objects.exists()


def test_redeem_needs_post(staff_client, shop, customer, rewards):
    assert staff_client.get(redeem_url(shop, customer)).status_code == 405


# --- Paying with points: it asks first too --------------------------------------------------


def pay(client, shop, membership, points, **headers):
    asked = client.post(pay_url(shop, membership), {"points": points}, headers=headers)
    assert asked.status_code == 200, text(asked)
    return client.post(pay_url(shop, membership), {
        "points": points, "confirm": "1", "token": confirm_token(asked)}, headers=headers)


def test_pay_with_points_asks_first(staff_client, shop, customer):
    allow_pay_with_points(shop, cap=300)

    response = staff_client.post(pay_url(shop, customer), {"points": "250"})

    assert response.status_code == 200
    assert escape("Take 250 points (€2.50) off the purchase? Sanne Visser keeps 250 points."
                  ) in text(response)
    assert balance(customer) == 500
    assert not LedgerEntry.objects.filter(kind=EntryKind.REDEMPTION).exists()


def test_pay_with_points_when_the_shop_allows_it(staff_client, staff_user, shop, customer):
    allow_pay_with_points(shop, cap=300)

    response = pay(staff_client, shop, customer, "250")

    assertRedirects(response, member_url(shop, customer), fetch_redirect_response=False)
    page = staff_client.get(response["Location"])
    # 100 points are worth €1 by default.
    assert "Take €2.50 off the purchase." in messages_of(page)
    assert balance(customer) == 250
    entry = LedgerEntry.objects.get(membership=customer, kind=EntryKind.REDEMPTION)
    assert entry.points == -250
    assert entry.actor_user_id == staff_user.pk
    assert "2.50" in entry.note
    assert not Voucher.objects.exists()


def test_pay_with_points_confirmed_twice_takes_the_points_once(staff_client, shop, customer):
    allow_pay_with_points(shop, cap=300)
    asked = staff_client.post(pay_url(shop, customer), {"points": "200"})
    confirm = {"points": "200", "confirm": "1", "token": confirm_token(asked)}

    first = staff_client.post(pay_url(shop, customer), confirm)
    second = staff_client.post(pay_url(shop, customer), confirm)

    assert first.status_code == second.status_code == 302
    assert balance(customer) == 300
    assert LedgerEntry.objects.filter(membership=customer, kind=EntryKind.REDEMPTION).count() == 1
    assert "Take €2.00 off the purchase." in messages_of(staff_client.get(second["Location"]))


def test_pay_with_points_with_htmx_leaves_every_panel_to_reload(staff_client, shop, customer):
    allow_pay_with_points(shop)
    response = pay(staff_client, shop, customer, "100", **HX)
    assert response["HX-Trigger"] == "membership-changed"
    assert "Take €1.00 off the purchase." in text(response)
    assert balance(customer) == 400


def test_pay_with_points_over_the_cap_changes_nothing(staff_client, shop, customer):
    allow_pay_with_points(shop, cap=300)

    response = staff_client.post(pay_url(shop, customer), {"points": "301", "confirm": "1"})

    page = staff_client.get(response["Location"])
    assert "At most 300 points per purchase." in messages_of(page)
    assert balance(customer) == 500
    assert not LedgerEntry.objects.filter(kind=EntryKind.REDEMPTION).exists()


def test_pay_with_points_when_the_shop_does_not_allow_it_changes_nothing(staff_client, shop,
                                                                         customer):
    response = staff_client.post(pay_url(shop, customer), {"points": "100", "confirm": "1"})

    assertRedirects(response, member_url(shop, customer), fetch_redirect_response=False)
    page = staff_client.get(response["Location"])
    assert "This shop does not take points as payment." in messages_of(page)
    assert balance(customer) == 500
    assert not LedgerEntry.objects.filter(kind=EntryKind.REDEMPTION).exists()


@pytest.mark.parametrize("confirm", ["", "1"])
def test_pay_with_more_points_than_the_member_has_changes_nothing(staff_client, shop, customer,
                                                                  confirm):
    allow_pay_with_points(shop)

    response = staff_client.post(pay_url(shop, customer), {"points": "501", "confirm": confirm})

    page = staff_client.get(response["Location"])
    assert "Not enough points: 500 can be spent, 501 asked." in messages_of(page)
    assert balance(customer) == 500


@pytest.mark.parametrize("points", ["", "0", "-5", "2.5", "many"])
def test_pay_with_points_needs_a_whole_number_above_zero(staff_client, shop, customer, points):
    allow_pay_with_points(shop)

    for confirm in ("", "1"):
        response = staff_client.post(pay_url(shop, customer), {"points": points,
                                                               "confirm": confirm})
        page = staff_client.get(response["Location"])
        assert "Enter a whole number of points above zero." in messages_of(page)
    assert balance(customer) == 500


def test_pay_with_points_needs_post(staff_client, shop, customer):
    allow_pay_with_points(shop)
    assert staff_client.get(pay_url(shop, customer)).status_code == 405


# --- Who gets in ------------------------------------------------------------------------------


def all_requests(shop, membership, voucher, reward):
    return [
        ("get", lookup_url(shop), {"code": voucher.code}),
        ("post", use_url(shop, voucher.code), {}),
        ("get", panel_url(shop, membership), None),
        ("post", redeem_url(shop, membership), {"reward": reward.pk, "confirm": "1"}),
        ("post", pay_url(shop, membership), {"points": "100", "confirm": "1"}),
    ]


@pytest.mark.parametrize("who", ["customer", "other_owner"])
def test_others_get_404(who, shop, customer, voucher, rewards, other_owner):
    allow_pay_with_points(shop)
    client = signed_in(customer.user if who == "customer" else other_owner)

    for method, url, data in all_requests(shop, customer, voucher, rewards["coffee"]):
        response = getattr(client, method)(url, data) if data is not None else getattr(
            client, method)(url)
        assert response.status_code == 404, (method, url, response.status_code)

    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.OPEN
    assert balance(customer) == 400
    assert Voucher.objects.count() == 1


def test_signed_out_visitors_are_sent_to_sign_in(client, shop, voucher):
    response = client.get(lookup_url(shop), {"code": voucher.code})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
