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


def test_the_counter_panel_counts_stamps(cafe, regular):
    staff = StaffMemberFactory(shop=cafe, role="staff").user
    content = text(signed_in(staff).get(
        f"/counter/{cafe.slug}/members/{regular.card_number}/rewards/"))
    assert "10 stamps" in content
    assert "3 more stamps needed" in content
    assert "point" not in content


def test_the_portal_rewards_page_counts_stamps(cafe, regular):
    content = text(signed_in(regular.user).get(f"/portal/{cafe.slug}/rewards/"))
    assert "You can spend <strong>7 stamps</strong>." in content
    assert "3 more stamps to go" in content
    assert "more points" not in content
