"""Rewards on the member portal (rewards/views/portal.py): what a member can afford, claiming a
voucher with their points, the voucher with its QR code, cancelling it, and the history."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote

import pytest
import time_machine
from django.utils import timezone, translation
from django.utils.html import escape
from pytest_django.asserts import assertRedirects

from loyalty.models import EntryKind, LedgerEntry
from loyalty.services import points_credit, purchase_record
from rewards import services
from rewards.models import Reward, RewardKind, Voucher, VoucherStatus
from tests.factories import MembershipFactory, UserFactory
from tests.helpers import balance, signed_in, text

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def rewards_url(shop) -> str:
    return f"/portal/{shop.slug}/rewards/"


def claim_url(shop, reward) -> str:
    return f"/portal/{shop.slug}/rewards/{reward.pk}/claim/"


def voucher_url(shop, code) -> str:
    return f"/portal/{shop.slug}/vouchers/{code}/"


def cancel_url(shop, code) -> str:
    return f"/portal/{shop.slug}/vouchers/{code}/cancel/"


def make_reward(shop, name, points_cost, **fields) -> Reward:
    fields.setdefault("kind", RewardKind.PERK)
    return services.reward_create(shop=shop, name=name, points_cost=points_cost, **fields)


def card(content: str, name: str) -> str:
    """The reward card (an <article>) that shows ``name``."""
    for article in re.findall(r"<article\b.*?</article>", content, re.S):
        if f"<h2>{escape(name)}</h2>" in article:
            return article
    raise AssertionError(f"no reward card for {name!r}")


@pytest.fixture
def member_with_points(shop, member):
    purchase_record(shop=shop, amount="50.00", membership_id=member.pk)  # 500 points
    assert balance(member) == 500
    return member


@pytest.fixture
def rewards(shop):
    now = timezone.now()
    return {
        "coffee": make_reward(shop, "Free coffee", 100, kind=RewardKind.FREE_PRODUCT,
                              product_name="Coffee", description="Any size"),
        "cake": make_reward(shop, "Cake of the day", 450),
        "dinner": make_reward(shop, "Dinner for two", 800, kind=RewardKind.GIFT_VOUCHER,
                              value_amount="40.00"),
        "inactive": make_reward(shop, "Old deal", 50, active=False),
        "ended": make_reward(shop, "Spring deal", 50, available_from=now - dt.timedelta(days=60),
                             available_until=now - dt.timedelta(days=1)),
        "later": make_reward(shop, "Summer deal", 50, available_from=now + dt.timedelta(days=30)),
    }


# --- The rewards page -------------------------------------------------------------------------


def test_rewards_page_shows_claim_for_affordable_and_points_to_go_for_the_rest(
        member_client, shop, member_with_points, rewards):
    response = member_client.get(rewards_url(shop))

    assert response.status_code == 200
    content = text(response)
    assert "You can spend <strong>500 points</strong>." in content
    for name in ("Free coffee", "Cake of the day"):
        article = card(content, name)
        assert ">Claim</button>" in article
        assert "more points to go" not in article
    coffee = card(content, "Free coffee")
    assert f'action="{claim_url(shop, rewards["coffee"])}"' in coffee
    assert "Any size" in coffee
    assert "100 points" in coffee
    dinner = card(content, "Dinner for two")
    assert "300 more points to go" in dinner
    assert "Claim" not in dinner
    assert claim_url(shop, rewards["dinner"]) not in content
    # In display order.
    positions = [content.index(name) for name in ("Free coffee", "Cake of the day",
                                                  "Dinner for two")]
    assert positions == sorted(positions)


def test_rewards_page_leaves_out_inactive_and_ended_rewards(member_client, shop,
                                                            member_with_points, rewards):
    content = text(member_client.get(rewards_url(shop)))
    assert "Old deal" not in content
    assert "Spring deal" not in content
    assert claim_url(shop, rewards["inactive"]) not in content
    assert claim_url(shop, rewards["ended"]) not in content


def test_rewards_page_shows_a_reward_that_starts_later_without_claim(
        member_client, shop, member_with_points, rewards):
    later = card(text(member_client.get(rewards_url(shop))), "Summer deal")
    assert "This reward is available from" in later
    assert "Claim" not in later


def test_rewards_page_shows_only_this_shops_rewards(member_client, shop, other_shop,
                                                    member_with_points, rewards):
    make_reward(other_shop, "Gratis kaasplankje", 10)
    assert "Gratis kaasplankje" not in text(member_client.get(rewards_url(shop)))


def test_rewards_page_without_points_shows_what_each_needs(member_client, shop, member, rewards):
    content = text(member_client.get(rewards_url(shop)))
    assert "You can spend <strong>0 points</strong>." in content
    assert "100 more points to go" in card(content, "Free coffee")
    assert ">Claim</button>" not in content


def test_rewards_page_of_a_shop_without_rewards(member_client, shop, member):
    response = member_client.get(rewards_url(shop))
    assert response.status_code == 200
    assert "This shop has no rewards yet." in text(response)


def test_rewards_page_needs_a_membership_of_the_shop(member_client, other_shop, owner_client,
                                                     shop):
    assert member_client.get(rewards_url(other_shop)).status_code == 404
    assert owner_client.get(rewards_url(shop)).status_code == 404


def test_rewards_page_needs_sign_in(client, shop):
    response = client.get(rewards_url(shop))
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={quote(rewards_url(shop))}"


def test_the_card_links_to_the_rewards(member_client, shop, member):
    assert f'href="{rewards_url(shop)}"' in text(member_client.get(f"/portal/{shop.slug}/"))


# --- Claiming ---------------------------------------------------------------------------------


def test_claim_spends_the_points_and_shows_the_voucher(member_client, shop, member_with_points,
                                                       rewards):
    member = member_with_points

    response = member_client.post(claim_url(shop, rewards["coffee"]))

    voucher = Voucher.objects.get(membership=member)
    assertRedirects(response, voucher_url(shop, voucher.code), fetch_redirect_response=False)
    assert voucher.status == VoucherStatus.OPEN
    assert voucher.reward == rewards["coffee"]
    assert voucher.points_spent == 100
    assert voucher.claimed_by_id == member.user_id
    assert voucher.expires_at > timezone.now() + dt.timedelta(days=29)
    assert balance(member) == 400
    entry = LedgerEntry.objects.get(membership=member, kind=EntryKind.REDEMPTION)
    assert entry.points == -100
    assert voucher.redemption_entry_id == entry.pk

    page = member_client.get(response["Location"])
    assert page.status_code == 200
    content = text(page)
    assert "Here is your voucher. Show it at the counter." in messages_of(page)
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{8}", voucher.code)
    display = f"{voucher.code[:4]}-{voucher.code[4:]}"
    assert f'<p class="card-number">{display}</p>' in content
    qr_box = content.split('class="qr-box"')[1].split("</div>")[0]
    assert re.search(r"<svg\b[^>]*class=\"card-qr\"[^>]*>.*?</svg>", qr_box, re.S)
    assert "<img" not in qr_box
    assert "Free coffee" in content
    assert "Show this code at the counter." in content
    assert "Cancel and get 100 points back" in content


def test_the_open_voucher_is_listed_on_the_rewards_page(member_client, shop, member_with_points,
                                                        rewards):
    member_client.post(claim_url(shop, rewards["cake"]))
    voucher = Voucher.objects.get(membership=member_with_points)

    content = text(member_client.get(rewards_url(shop)))

    assert "Your vouchers" in content
    assert f'href="{voucher_url(shop, voucher.code)}"' in content
    assert "You can spend <strong>50 points</strong>." in content
    assert "Used and expired vouchers" not in content
    # Now only 50 points: the coffee needs 50 more.
    assert "50 more points to go" in card(content, "Free coffee")


def test_claim_without_enough_points_changes_nothing(member_client, shop, member_with_points,
                                                     rewards):
    response = member_client.post(claim_url(shop, rewards["dinner"]))  # a forged POST

    assertRedirects(response, rewards_url(shop), fetch_redirect_response=False)
    page = member_client.get(response["Location"])
    assert "Not enough points: 500 can be spent, 800 asked." in messages_of(page)
    assert "Not enough points" in text(page)
    assert balance(member_with_points) == 500
    assert not Voucher.objects.exists()
    assert not LedgerEntry.objects.filter(kind=EntryKind.REDEMPTION).exists()


def test_claim_of_an_inactive_reward_changes_nothing(member_client, shop, member_with_points,
                                                     rewards):
    response = member_client.post(claim_url(shop, rewards["inactive"]))

    assert response.status_code == 302
    page = member_client.get(response["Location"])
    assert "This reward is not offered at the moment." in messages_of(page)
    assert balance(member_with_points) == 500
    assert not Voucher.objects.exists()


def test_claim_of_an_ended_reward_changes_nothing(member_client, shop, member_with_points,
                                                  rewards):
    response = member_client.post(claim_url(shop, rewards["ended"]))

    assert response.status_code == 302
    page = member_client.get(response["Location"])
    assert "This reward is no longer available." in messages_of(page)
    assert balance(member_with_points) == 500
    assert not Voucher.objects.exists()


def test_claim_of_a_reward_of_another_shop_is_404(member_client, shop, other_shop,
                                                  member_with_points):
    theirs = make_reward(other_shop, "Gratis kaasplankje", 10)

    response = member_client.post(claim_url(shop, theirs))

    assert response.status_code == 404
    assert balance(member_with_points) == 500
    assert not Voucher.objects.exists()
    theirs.refresh_from_db()
    assert theirs.stock_claimed == 0


def test_claim_of_an_unknown_reward_is_404(member_client, shop, member_with_points):
    assert member_client.post(f"/portal/{shop.slug}/rewards/999999/claim/").status_code == 404


def test_claim_needs_post(member_client, shop, member_with_points, rewards):
    assert member_client.get(claim_url(shop, rewards["coffee"])).status_code == 405
    assert not Voucher.objects.exists()


def test_claim_needs_a_membership_of_the_shop(owner_client, shop, rewards):
    assert owner_client.post(claim_url(shop, rewards["coffee"])).status_code == 404
    assert not Voucher.objects.exists()


# --- The voucher page -------------------------------------------------------------------------


@pytest.fixture
def voucher(shop, member_with_points, rewards):
    return services.voucher_claim(shop=shop, membership_id=member_with_points.pk,
                                  reward_id=rewards["coffee"].pk)


def test_voucher_page_takes_the_code_in_any_case_and_with_a_dash(member_client, shop, voucher):
    typed = f"{voucher.code[:4]}-{voucher.code[4:]}".lower()
    response = member_client.get(voucher_url(shop, typed))
    assert response.status_code == 200
    assert response.context["voucher"] == voucher


def test_voucher_page_of_another_members_code_is_404(shop, voucher, rewards):
    someone = UserFactory(email="someone@example.com")
    theirs = MembershipFactory(shop=shop, user=someone, email=someone.email, name="Kees Smit")
    purchase_record(shop=shop, amount="20.00", membership_id=theirs.pk)
    their_voucher = services.voucher_claim(shop=shop, membership_id=theirs.pk,
                                           reward_id=rewards["coffee"].pk)

    client = signed_in(someone)
    response = client.get(voucher_url(shop, voucher.code))
    assert response.status_code == 404
    assert 'class="qr-box"' not in text(response)
    assert f"{voucher.code[:4]}-{voucher.code[4:]}" not in text(response)
    assert client.get(voucher_url(shop, their_voucher.code)).status_code == 200


def test_voucher_page_of_an_unknown_code_is_404(member_client, shop, voucher):
    assert member_client.get(voucher_url(shop, "ZZZZ2222")).status_code == 404


def test_voucher_page_of_a_used_voucher_has_no_qr_code(member_client, shop, voucher):
    services.voucher_use(shop=shop, code=voucher.code)
    content = text(member_client.get(voucher_url(shop, voucher.code)))
    assert "Used" in content
    assert "<svg" not in content
    assert cancel_url(shop, voucher.code) not in content


# --- Cancelling -------------------------------------------------------------------------------


def test_cancel_an_open_voucher_returns_the_points(member_client, shop, member_with_points,
                                                   voucher):
    assert balance(member_with_points) == 400

    response = member_client.post(cancel_url(shop, voucher.code))

    assertRedirects(response, rewards_url(shop), fetch_redirect_response=False)
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.CANCELLED
    assert balance(member_with_points) == 500
    reversal = LedgerEntry.objects.get(membership=member_with_points, kind=EntryKind.REVERSAL)
    assert reversal.points == 100
    assert reversal.reverses_id == voucher.redemption_entry_id
    page = member_client.get(response["Location"])
    assert "Voucher cancelled: your 100 points are back." in messages_of(page)


def test_cancel_twice_says_so_and_returns_the_points_once(member_client, shop,
                                                          member_with_points, voucher):
    first = member_client.post(cancel_url(shop, voucher.code))
    member_client.get(first["Location"])  # shows (and uses up) the first message

    response = member_client.post(cancel_url(shop, voucher.code))

    assert response.status_code == 302
    page = member_client.get(response["Location"])
    assert "This voucher was cancelled." in messages_of(page)
    assert not any(m.startswith("Voucher cancelled") for m in messages_of(page))
    assert balance(member_with_points) == 500
    assert LedgerEntry.objects.filter(kind=EntryKind.REVERSAL).count() == 1


def test_cancel_a_used_voucher_is_refused(member_client, shop, member_with_points, voucher):
    services.voucher_use(shop=shop, code=voucher.code)

    response = member_client.post(cancel_url(shop, voucher.code))

    page = member_client.get(response["Location"])
    assert any("This voucher was used already" in m for m in messages_of(page))
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.USED
    assert balance(member_with_points) == 400


def test_cancel_another_members_voucher_is_404(shop, voucher, member_with_points):
    someone = UserFactory(email="someone@example.com")
    MembershipFactory(shop=shop, user=someone, email=someone.email)

    response = signed_in(someone).post(cancel_url(shop, voucher.code))

    assert response.status_code == 404
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.OPEN
    assert balance(member_with_points) == 400


def test_cancel_needs_post(member_client, shop, voucher):
    assert member_client.get(cancel_url(shop, voucher.code)).status_code == 405
    voucher.refresh_from_db()
    assert voucher.status == VoucherStatus.OPEN


# --- History ----------------------------------------------------------------------------------


def test_used_and_expired_vouchers_are_listed_apart(member_client, shop, member_with_points,
                                                    rewards):
    member = member_with_points
    expired = services.voucher_claim(shop=shop, membership_id=member.pk,
                                     reward_id=rewards["coffee"].pk)
    assert services.vouchers_expire(now=expired.expires_at + dt.timedelta(minutes=1)) == 1
    used = services.voucher_claim(shop=shop, membership_id=member.pk,
                                  reward_id=rewards["coffee"].pk)
    services.voucher_use(shop=shop, code=used.code)
    still_open = services.voucher_claim(shop=shop, membership_id=member.pk,
                                        reward_id=rewards["coffee"].pk)

    content = text(member_client.get(rewards_url(shop)))

    assert "Used and expired vouchers" in content
    open_part, closed_part = content.split("Used and expired vouchers")
    assert f'href="{voucher_url(shop, still_open.code)}"' in open_part
    assert voucher_url(shop, used.code) not in content
    assert voucher_url(shop, expired.code) not in content
    closed_items = re.findall(r"<li>(.*?)</li>", closed_part, re.S)
    assert len(closed_items) == 2
    statuses = sorted(item.split("—")[1].strip().split(" on ")[0] for item in closed_items)
    assert statuses == ["expired", "used"]
    assert all("Free coffee" in item for item in closed_items)
    # The expired voucher's points came back (the shop's default).
    assert balance(member) == 500 - 100 - 100


def test_closed_vouchers_show_when_they_were_used_expired_or_cancelled(
        member_client, shop, member_with_points, rewards):
    """Not the claim date: the date that closed each voucher, in the member's language and the
    shop's time zone (Auckland here: UTC+13 in March, so the day is already the next one)."""
    member = member_with_points
    member.language = "nl"
    member.save(update_fields=["language"])
    shop.time_zone = "Pacific/Auckland"
    shop.save(update_fields=["time_zone"])
    claimed_at = dt.datetime(2030, 3, 1, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(claimed_at, tick=False):
        used, cancelled, expired = (
            services.voucher_claim(shop=shop, membership_id=member.pk,
                                   reward_id=rewards["coffee"].pk) for _ in range(3))
    with time_machine.travel(dt.datetime(2030, 3, 3, 11, 30, tzinfo=dt.UTC), tick=False):
        services.voucher_use(shop=shop, code=used.code)  # 4 March, 00:30 in Auckland
    with time_machine.travel(dt.datetime(2030, 3, 5, 12, 0, tzinfo=dt.UTC), tick=False):
        services.voucher_cancel(shop=shop, voucher_id=cancelled.pk, by=member.user,
                                membership_id=member.pk)  # 6 March, 01:00 in Auckland
    # Valid for 30 days: until 31 March, 09:00 UTC = 31 March, 22:00 in Auckland.
    assert services.vouchers_expire(now=expired.expires_at + dt.timedelta(days=2)) == 1

    content = text(member_client.get(rewards_url(shop)))

    closed_part = content.split('class="closed-vouchers"')[1].split("</ul>")[0]
    with translation.override("nl"):
        expected = [
            translation.gettext("used on %(date)s") % {"date": "4 maart 2030"},
            translation.gettext("cancelled on %(date)s") % {"date": "6 maart 2030"},
            translation.gettext("expired on %(date)s") % {"date": "31 maart 2030"},
        ]
    assert "used on" not in expected[0], "no Dutch translation"
    for phrase in expected:
        assert escape(phrase) in closed_part
    assert not re.search(r"\b1 maart", closed_part)  # not the claim date


def test_points_are_counted_in_the_singular_for_one(member_client, shop, member):
    points_credit(shop=shop, membership_id=member.pk, points=1, kind=EntryKind.ADJUSTMENT)
    make_reward(shop, "Sticker", 1)
    make_reward(shop, "Mug", 2)

    content = text(member_client.get(rewards_url(shop)))

    assert "You can spend <strong>1 point</strong>." in content
    assert '<p class="stat-label">1 point</p>' in card(content, "Sticker")
    assert '<p class="stat-label">2 points</p>' in card(content, "Mug")
    assert "1 more point to go" in card(content, "Mug")

    response = member_client.post(claim_url(shop, Reward.objects.get(name="Sticker")))
    page = member_client.get(response["Location"])
    assert "Cancel and get 1 point back" in text(page)
