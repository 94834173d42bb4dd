"""The demo shops' charity programs (the charity app): charities with their registration, the
shop's rule, members who picked a charity, and the last two weeks' purchases with round-ups,
all through the services at their moment, so that the donation ledger, "My impact" and the
public impact page show what a running program shows."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

from charity import services as charity_services
from charity.models import ChoiceSource
from demo.clock import at
from demo.rhythm import Rhythm
from demo.story import DAY, Story
from loyalty import services
from loyalty.models import Membership


@dataclasses.dataclass(frozen=True)
class Giving:
    """One shop's program: its charities (the first the default), the shop's rule, and how the
    last two weeks went at the counter."""

    charities: list[dict]
    rule_kind: str
    rule_value: str
    round_up_max: str
    points_per_unit: int | None = None
    choosers: int = 12  # members who picked a charity (the featured one among them)
    purchases: int = 24  # purchases with the program on, over the last two weeks
    round_up_share: float = 0.4  # how many of them round up
    amount_share: float = 0.1  # how many give an amount of their own
    gift_amounts: tuple[str, ...] = ("1.00", "2.00")
    featured_charity: int = 1  # the featured member's pick (an index into charities)
    # What the featured member pays in the two weeks (None: a basket each, twice); the café's
    # Astrid buys filter coffees under the stamp minimum, so her full card stays as the tour
    # shows it.
    featured_amounts: tuple[str, ...] | None = None
    spared: tuple[str, ...] = ()  # members the tour shows as they are: they buy nothing here
    points_given: int = 0  # what the featured member gives in points (0: nothing)


def program_add(story: Story, giving: Giving, *, featured: Membership, staff) -> None:
    """Switch the shop's program on two weeks ago and tell its two weeks."""
    shop, rng, rhythm, now = story.shop, story.rng, story.rhythm, story.now
    start = now - 15 * DAY
    with at(start):
        charities = [charity_services.charity_create(shop=shop, **fields)
                     for fields in giving.charities]
        charity_services.program_configure(shop=shop, data=charity_services.program_input_clean(
            enabled=True, mode="beside", rule_kind=giving.rule_kind,
            rule_value=giving.rule_value, split="default",
            points_per_unit=giving.points_per_unit, round_up_max=giving.round_up_max,
            default_charity_id=charities[0].pk))
    shop.refresh_from_db()
    members = list(shop.memberships.exclude(pk=featured.pk).exclude(name__in=giving.spared)
                   .order_by("pk").values_list("pk", flat=True))
    others = rng.sample(members, min(giving.choosers - 1, len(members)))
    moments = _open_moments(rhythm, rng, start, now, giving.purchases + len(others) + 1)
    with at(moments.pop(0)):
        charity_services.membership_charity_choose(
            membership=featured, charity_id=charities[giving.featured_charity].pk,
            source=ChoiceSource.PORTAL)
    for pk in others:
        with at(moments.pop(0)):
            charity_services.membership_charity_choose(
                membership=Membership.objects.get(pk=pk),
                charity_id=rng.choice(charities).pk,
                source=rng.choice([ChoiceSource.PORTAL, ChoiceSource.COUNTER]))
    own = list(giving.featured_amounts or (None, None))
    buyers = [*others, *rng.sample(members, min(8, len(members)))]
    moments.sort()
    for index, moment in enumerate(moments):
        amount = story.basket(rng, rhythm.local_date(moment))
        if index < len(own):  # the featured member's own purchases come first
            buyer, amount = featured.pk, own[index] or amount
        else:
            buyer = buyers[(index - len(own)) % len(buyers)]
        roll = rng.random()
        extras = ({"round_up": True} if roll < giving.round_up_share else
                  {"donation_amount": rng.choice(giving.gift_amounts)}
                  if roll < giving.round_up_share + giving.amount_share else {})
        with at(moment):
            services.purchase_record(
                shop=shop, amount=amount, membership_id=buyer, recorded_by=staff,
                reference=f"{story.reference_prefix}G{index + 1:03d}",
                idempotency_key=f"demo-giving:{shop.slug}:{index}", extras=extras)
        story.counts["purchases with the charity program"] += 1
        story.counts["customers' own gifts"] += bool(extras)
    if giving.points_given:
        with at(now - DAY):
            spendable = services.membership_spendable_points(
                membership=Membership.objects.get(pk=featured.pk))
            if spendable >= giving.points_given:
                charity_services.points_donate(shop=shop, membership_id=featured.pk,
                                               points=giving.points_given)
                story.counts["points given to charity"] += giving.points_given


def _open_moments(rhythm: Rhythm, rng: random.Random, start: dt.datetime, now: dt.datetime,
                  count: int) -> list[dt.datetime]:
    """``count`` moments while the shop was open between ``start`` and yesterday, in order."""
    first, last = rhythm.local_date(start) + DAY, rhythm.local_date(now) - DAY
    days = [first + n * DAY for n in range((last - first).days + 1)]
    days = [day for day in days if rhythm.is_open(day)]
    return sorted(rhythm.moment(rng.choice(days), rng) for _n in range(count))
