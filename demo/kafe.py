"""Kafé Kanelbullen, Stockholm: the demo's second shop, in Swedish and kronor, with a stamp card
(a stamp for every purchase from 35 kr, ten stamps give a free coffee) started eight months
ago. Astrid's card is full, Erik's half full."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal

from demo.clock import at
from demo.giving import Giving, program_add
from demo.people import SWEDISH_FIRST_NAMES, SWEDISH_LAST_NAMES, login
from demo.rhythm import (
    FRIDAY,
    MONDAY,
    SATURDAY,
    SUNDAY,
    THURSDAY,
    TUESDAY,
    WEDNESDAY,
    Rhythm,
)
from demo.story import DAY, Customer, Staffing, Story, email_of
from loyalty import services
from loyalty.models import Membership, MembershipSource, ProgramKind, Shop
from rewards import services as reward_services
from rewards.models import RewardKind

SLUG = "kafe-kanelbullen"
NAME = "Kafé Kanelbullen"
OWNER_EMAIL = "linnea@kanelbullen.example"
MEMBER_EMAIL = "astrid.lindqvist@example.com"
MEMBERS = 60
STAMPS_PER_CARD = 10
STAMP_REWARD = "en gratis kaffe"
STAMP_MINIMUM = "35.00"

RHYTHM = Rhythm(
    time_zone="Europe/Stockholm",
    hours={MONDAY: (7, 18), TUESDAY: (7, 18), WEDNESDAY: (7, 18), THURSDAY: (7, 18),
           FRIDAY: (7, 18), SATURDAY: (9, 17), SUNDAY: (10, 16)},
    day_weights={MONDAY: 0.9, TUESDAY: 0.9, WEDNESDAY: 1.0, THURSDAY: 1.0, FRIDAY: 1.1,
                 SATURDAY: 1.4, SUNDAY: 1.1},
    # Coffee on the way to work, lunch, and fika in the afternoon.
    hour_weights={7: 1.8, 8: 2.4, 9: 1.5, 10: 1.0, 11: 1.1, 12: 1.8, 13: 1.2, 14: 1.3, 15: 1.7,
                  16: 1.0, 17: 0.6},
    weekend_hour_weights={9: 1.0, 10: 1.8, 11: 2.2, 12: 2.0, 13: 1.6, 14: 1.5, 15: 1.4,
                          16: 0.8},
    season={7: 0.75, 12: 1.15, 1: 0.9},
    closed_on=frozenset({(12, 24), (12, 25), (1, 1), (6, 20)}),
)


def basket(rng: random.Random, day: dt.date) -> Decimal:
    """A filter coffee (under 35 kr: no stamp), a latte, fika, or lunch; whole kronor."""
    roll = rng.random()
    if roll < 0.2:
        low, high = 28, 34
    elif roll < 0.55:
        low, high = 38, 52
    elif roll < 0.85:
        low, high = 62, 89
    else:
        low, high = 105, 149
    return Decimal(rng.randint(low, high))


def fika(rng: random.Random, day: dt.date) -> Decimal:
    return Decimal(rng.randint(62, 89))


# Swedish charities with a 90-konto (its check digit valid; the names are the demo's own).
GIVING = Giving(
    charities=[
        {"name": "Söders Matkasse", "registration_kind": "se90",
         "registration_number": "900171-0", "website": "https://sodersmatkasse.example",
         "description": "Matkassar till barnfamiljer på Södermalm som har det tufft just nu."},
        {"name": "Barnens Skogsdag", "registration_kind": "se90",
         "registration_number": "902034-8",
         "description": "Dagar i skogen för barn från Stockholms förorter, med lunch och buss."},
    ],
    rule_kind="per_purchase", rule_value="2.00", round_up_max="20.00", choosers=6,
    purchases=14, gift_amounts=("5.00", "10.00"), featured_charity=1,
    featured_amounts=("32.50", "28.00"), spared=("Erik Johansson", "Maja Nilsson"),
)


def load(*, now: dt.datetime) -> Story | None:
    """Build the café and its eight months, or return None when it is there already."""
    if Shop.objects.filter(slug=SLUG).exists():
        return None
    rng = random.Random(1846)
    start = dt.datetime.combine(RHYTHM.local_date(now) - 240 * DAY, dt.time(7), RHYTHM.zone)
    with at(start - 5 * DAY):
        owner = login(OWNER_EMAIL, "Linnea Berg")
        shop = services.shop_create(
            owner=owner, name=NAME, slug=SLUG, currency="SEK", language="sv",
            time_zone=RHYTHM.time_zone, email="hej@kanelbullen.example",
            phone="+46 8 123 456 78", address="Götgatan 31, 116 21 Stockholm",
            website="https://kanelbullen.example", country="SE",
        )
        services.shop_update(shop=shop, brand_color="#1f5f8b")
        services.program_rules_current(shop=shop)  # the default rules a new shop starts with
    with at(start - 4 * DAY):
        # A stamp card is a one-step table with no rate: a stamp is a point in the ledger.
        services.program_rules_update(
            shop=shop, by=owner, program=ProgramKind.STAMPS, stamp_minimum=STAMP_MINIMUM,
            stamps_per_card=STAMPS_PER_CARD, stamp_reward=STAMP_REWARD, signup_bonus=0,
        )
        reward_services.reward_create(
            shop=shop, kind=RewardKind.FREE_PRODUCT, name="En gratis kaffe",
            points_cost=STAMPS_PER_CARD, product_name="Kaffe eller te, valfri storlek",
            description="För ett fullt stämpelkort.",
        )

    story = Story(
        shop=shop, rhythm=RHYTHM, rng=rng, now=now, basket=basket, owner=owner,
        staffing=Staffing(counter=[(owner, 1.0)]), reference_prefix="KK-",
        anonymous_share=0.25, undos=1, undo_reason="Fel belopp inslaget",
        adjustments=((1, "Glömde kortet, stämpel i efterhand"),),
    )
    # The three the tour shows: a full card, a half-full one, and one on its way.
    astrid = Customer(
        name="Astrid Lindqvist", email=MEMBER_EMAIL, phone="+46701234501",
        birthday=dt.date(1988, 6, 3), language="sv", consent=True,
        source=MembershipSource.PUBLIC_PAGE, joined_at=RHYTHM.moment(
            RHYTHM.open_from(RHYTHM.local_date(start) + 3 * DAY), rng),
        visits_per_week=0, exact_visits=2 * STAMPS_PER_CARD, basket=fika, redeems=1.0,
        login=True,
    )
    with at(astrid.joined_at):
        astrid.user = login(MEMBER_EMAIL, astrid.name)
    featured = [
        astrid,
        Customer(name="Erik Johansson", phone="+46701234502", language="sv",
                 joined_at=RHYTHM.moment(
                     RHYTHM.open_from(RHYTHM.local_date(start) + 20 * DAY), rng),
                 visits_per_week=0, exact_visits=STAMPS_PER_CARD + 5, basket=fika,
                 redeems=1.0),
        Customer(name="Maja Nilsson", email="maja.nilsson@example.com", language="sv",
                 joined_at=RHYTHM.moment(RHYTHM.open_from(RHYTHM.local_date(now) - 60 * DAY), rng),
                 visits_per_week=0, exact_visits=7, basket=fika, redeems=1.0),
    ]
    story.tell([*featured, *_customers(rng, start, now, MEMBERS - len(featured))])
    # The charity program, on for two weeks beside the stamp card: 2 kr a purchase from the
    # café, round-ups at the counter; Astrid picked the children's forest days.
    program_add(story, GIVING, featured=Membership.objects.get(shop=shop, email=MEMBER_EMAIL),
                staff=owner)
    return story


def _customers(rng: random.Random, start: dt.datetime, now: dt.datetime,
               count: int) -> list[Customer]:
    taken = {("Astrid", "Lindqvist"), ("Erik", "Johansson"), ("Maja", "Nilsson")}
    names = [name for name in itertools.product(SWEDISH_FIRST_NAMES, SWEDISH_LAST_NAMES)
             if name not in taken]
    days = (RHYTHM.local_date(now) - RHYTHM.local_date(start)).days - 2
    customers = []
    for index, (first, last) in enumerate(rng.sample(names, count)):
        name = f"{first} {last}"
        kind = rng.random()
        rate = (rng.uniform(1.0, 3.0) if kind < 0.3 else rng.uniform(0.3, 1.2) if kind < 0.8
                else rng.uniform(0.05, 0.3))
        day = RHYTHM.open_from(RHYTHM.local_date(start) + rng.randrange(days) * DAY)
        has_email = rng.random() < 0.55
        customers.append(Customer(
            name=name, joined_at=RHYTHM.moment(day, rng), visits_per_week=rate,
            email=email_of(name) if has_email else "",
            phone=f"+46701234{510 + index:03d}" if rng.random() < 0.85 or not has_email else "",
            birthday=dt.date(rng.randint(1950, 2006), rng.randint(1, 12), rng.randint(1, 28))
            if rng.random() < 0.5 else None,
            language="sv" if rng.random() < 0.9 else "en", consent=rng.random() < 0.4,
            until=None if rng.random() < 0.85 else RHYTHM.moment(day, rng) + 60 * DAY,
            redeems=rng.uniform(0.6, 0.95),
        ))
    return customers
