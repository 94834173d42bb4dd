"""A shop on a stamp card: its rewards cost stamps, and the counter's rewards panel and the
portal's rewards page say so (never "points")."""

from __future__ import annotations

import pytest

from loyalty.models import EntryKind
from loyalty.services import points_credit, program_rules_update
from rewards.models import Reward, RewardKind
from tests.factories import MembershipFactory, StaffMemberFactory, UserFactory
from tests.helpers import signed_in, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def cafe(shop):
    program_rules_update(shop=shop, by=None, program="stamps", stamp_minimum="3.00",
                         stamps_per_card=10, stamp_reward="a free coffee")
    Reward.objects.create(shop=shop, kind=RewardKind.FREE_PRODUCT, name="Free coffee",
                          product_name="Coffee", points_cost=10)
    return shop


@pytest.fixture
def regular(cafe):
    user = UserFactory(email="vera@example.com")
    member = MembershipFactory(shop=cafe, user=user, email=user.email, name="Vera")
    points_credit(shop=cafe, membership_id=member.pk, points=7, kind=EntryKind.ADJUSTMENT)
    return member


def counter_panel(shop, member) -> str:
    staff = StaffMemberFactory(shop=shop, role="staff").user
    return text(signed_in(staff).get(
        f"/counter/{shop.slug}/members/{member.card_number}/rewards/"))


def test_the_counter_panel_counts_stamps(cafe, regular):
    Reward.objects.create(shop=cafe, kind=RewardKind.FREE_PRODUCT, name="A mug",
                          product_name="Mug", points_cost=20)
    content = counter_panel(cafe, regular)
    assert "20 stamps" in content
    assert "13 more stamps needed" in content
    assert "point" not in content


def test_the_counter_panel_leaves_out_the_full_card_the_core_hands_out(cafe, regular):
    """The member panel above shows "7 of 10 stamps" and, on a full card, "Hand out": the
    catalogue's reward for one full card would say it again with a second button."""
    Reward.objects.create(shop=cafe, kind=RewardKind.FREE_PRODUCT, name="A cookie",
                          product_name="Cookie", points_cost=5)
    content = counter_panel(cafe, regular)
    assert "A cookie" in content and "Redeem now" in content
    assert "Free coffee" not in content


def test_a_stamp_shop_with_only_the_full_card_shows_no_rewards_panel(cafe, regular):
    content = counter_panel(cafe, regular)
    assert '<section id="member-rewards" hidden></section>' in content
    assert "Free coffee" not in content
    assert "No rewards on offer" not in content


def test_a_points_shop_keeps_a_reward_of_any_cost(shop, member):
    Reward.objects.create(shop=shop, kind=RewardKind.FREE_PRODUCT, name="Free coffee",
                          product_name="Coffee", points_cost=10)
    assert "Free coffee" in counter_panel(shop, member)


def test_the_portal_rewards_page_counts_stamps(cafe, regular):
    content = text(signed_in(regular.user).get(f"/portal/{cafe.slug}/rewards/"))
    assert "You can spend <strong>7 stamps</strong>." in content
    assert "3 more stamps to go" in content
    assert "more points" not in content
