"""Bakkerij De Gouden Korst, Amsterdam: the demo's main shop. A points program started a year
ago (10 points a euro; since four months also 100 more from €25), about 200 members, six
rewards, an owner who also works the counter, a staff member and a till on the API."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal

from demo.clock import at
from demo.giving import Giving, program_add
from demo.people import FIRST_NAMES, LAST_NAMES, login
from demo.rhythm import FRIDAY, MONDAY, SATURDAY, THURSDAY, TUESDAY, WEDNESDAY, Rhythm
from demo.story import DAY, Customer, Staffing, Story, email_of
from loyalty import services
from loyalty.models import Membership, MembershipSource, Shop, StaffMember, StaffRole
from rewards import services as reward_services
from rewards.models import LimitPeriod, RewardKind
from tiers import services as tier_services

SLUG = "bakkerij-de-gouden-korst"
NAME = "Bakkerij De Gouden Korst"
OWNER_EMAIL = "anneke@goudenkorst.example"
STAFF_EMAIL = "daan@goudenkorst.example"
MEMBER_EMAIL = "sanne.visser@example.com"
MEMBERS = 200

RHYTHM = Rhythm(
    time_zone="Europe/Amsterdam",
    hours={MONDAY: (7.5, 18), TUESDAY: (7.5, 18), WEDNESDAY: (7.5, 18), THURSDAY: (7.5, 18),
           FRIDAY: (7.5, 18), SATURDAY: (7.5, 17)},
    day_weights={MONDAY: 0.8, TUESDAY: 0.9, WEDNESDAY: 1.0, THURSDAY: 0.95, FRIDAY: 1.15,
                 SATURDAY: 1.7},
    # Bread before work and school, a lunch bump, bread again on the way home.
    hour_weights={7: 1.6, 8: 2.4, 9: 1.8, 10: 1.3, 11: 1.0, 12: 1.2, 13: 0.7, 14: 0.5, 15: 0.6,
                  16: 0.9, 17: 0.8},
    weekend_hour_weights={7: 0.8, 8: 1.8, 9: 2.6, 10: 2.6, 11: 2.0, 12: 1.3, 13: 0.9, 14: 0.6,
                          15: 0.5, 16: 0.4},
    season={12: 1.25, 1: 0.9, 7: 0.85, 8: 0.8},
    closed_on=frozenset({(12, 25), (12, 26), (1, 1), (4, 27)}),
)


def basket(rng: random.Random, day: dt.date) -> Decimal:
    """What a customer pays: coffee and a pastry, a loaf and something for on it, a family's
    shopping, Saturday's cake, now and then a cake to order; prices end in 0 or 5 cents."""
    saturday = day.weekday() == SATURDAY
    roll = rng.random()
    if roll < (0.22 if saturday else 0.32):
        low, high = 2.60, 6.40
    elif roll < 0.66:
        low, high = 3.45, 9.80
    elif roll < (0.80 if saturday else 0.87):
        low, high = 10.00, 19.50
    elif roll < 0.975:
        low, high = 20.00, 34.50
    else:
        low, high = 35.00, 68.00
    cents = rng.randint(int(low * 20), int(high * 20)) * 5
    if day.month == 12 and rng.random() < 0.2:
        cents += 1295  # a kerststol
    return Decimal(cents).scaleb(-2)


REWARDS = [
    {"kind": RewardKind.FREE_PRODUCT, "name": "Gratis koffie", "points_cost": 200,
     "product_name": "Koffie of thee naar keuze",
     "description": "Een kop koffie of thee, om mee te nemen of aan de leestafel."},
    {"kind": RewardKind.FREE_PRODUCT, "name": "Roomboter croissant", "points_cost": 250,
     "product_name": "Roomboter croissant", "description": "Vers uit de oven, elke ochtend."},
    {"kind": RewardKind.PERCENT_OFF, "name": "10% korting op een taart", "points_cost": 400,
     "value_percent": 10, "limit_per_member": 1, "limit_period": LimitPeriod.MONTH,
     "description": "Op elke taart uit de vitrine of op bestelling. Eén keer per maand."},
    {"kind": RewardKind.AMOUNT_OFF, "name": "€5 korting", "points_cost": 500,
     "value_amount": Decimal("5.00"), "description": "Op je boodschappen vanaf €10."},
    {"kind": RewardKind.GIFT_VOUCHER, "name": "Cadeaubon €10", "points_cost": 1000,
     "value_amount": Decimal("10.00"), "voucher_valid_days": 90,
     "description": "Om weg te geven: te besteden aan alles in de winkel."},
]
WORKSHOP = {
    "kind": RewardKind.PERK, "name": "Bak mee op zaterdagochtend", "points_cost": 2500,
    "stock_total": 8, "limit_per_member": 1, "voucher_valid_days": 60,
    "description": "Een ochtend meebakken met Anneke, van 6 tot 9 uur, met ontbijt. "
                   "Acht plaatsen.",
}
ADJUSTMENTS = (
    (85, "Kaart vergeten bij de vorige aankoop, bon nagekeken"),
    (120, "Excuus: bestelling was niet op tijd klaar"),
    (40, "Kaart vergeten, punten bijgeschreven"),
)


LEVELS = [
    {"name": "Brons", "colour": "#b0793f", "threshold": "1000", "multiplier": "1.00",
     "perks": "Elke maand een gratis koffie bij je ontbijt"},
    {"name": "Zilver", "colour": "#9ea7b0", "threshold": "3000", "multiplier": "1.10",
     "perks": "10% meer punten; als eerste aan de beurt voor de bakochtend"},
    {"name": "Goud", "colour": "#c9a227", "threshold": "6000", "multiplier": "1.25",
     "perks": "25% meer punten en een taart op je verjaardag"},
]


# Dutch charities with ANBI status (their RSIN passes the eleven-test; the names are the
# demo's own).
GIVING = Giving(
    charities=[
        {"name": "Voedselbank Amsterdam-West", "registration_kind": "anbi",
         "registration_number": "824055172", "website": "https://voedselbank-west.example",
         "description": "Pakketten met eten voor gezinnen in de buurt die even niet rondkomen."},
        {"name": "Stichting Groene Jordaan", "registration_kind": "anbi",
         "registration_number": "853179220", "website": "https://groenejordaan.example",
         "description": "Bomen, geveltuinen en plantenbakken in de straten om de bakkerij."},
        {"name": "Stichting Voorleesvrienden", "registration_kind": "anbi",
         "registration_number": "806423912",
         "description": "Vrijwilligers lezen voor aan kinderen die thuis weinig boeken hebben."},
    ],
    rule_kind="percent", rule_value="1", round_up_max="5.00", points_per_unit=100,
    featured_charity=1, points_given=200, gift_amounts=("0.50", "1.00", "2.00"),
)


def load(*, now: dt.datetime) -> Story | None:
    """Build the bakery and its year, or return None when it is there already."""
    if Shop.objects.filter(slug=SLUG).exists():
        return None
    rng = random.Random(2026)  # the same demo every time
    zone = RHYTHM.zone
    start = dt.datetime.combine(RHYTHM.local_date(now) - 365 * DAY, dt.time(7, 30), zone)
    with at(start - 12 * DAY):
        owner = login(OWNER_EMAIL, "Anneke de Groot")
        staff = login(STAFF_EMAIL, "Daan Bakker")
        shop = services.shop_create(
            owner=owner, name=NAME, slug=SLUG, currency="EUR", language="nl",
            time_zone=RHYTHM.time_zone, email="hallo@goudenkorst.example",
            phone="+31 20 123 4567", address="Westerstraat 112, 1015 MN Amsterdam",
            website="https://goudenkorst.example", country="NL",
        )
        services.shop_update(shop=shop, brand_color="#8a4b2a")
        StaffMember.objects.create(shop=shop, user=staff, role=StaffRole.STAFF)
        services.program_rules_update(shop=shop, by=owner, points_per_unit=10,
                                      points_per_currency_value=100)
    with at(start - 2 * DAY):
        services.program_rules_update(shop=shop, by=owner, signup_bonus=50)
        for fields in REWARDS:
            reward_services.reward_create(shop=shop, **fields)
    with at(start + 150 * DAY):
        till, _key = services.api_key_create(shop=shop, name="Kassa", by=owner)
    with at(now - 122 * DAY):
        services.program_rules_update(shop=shop, by=owner,
                                      steps=[{"min_amount": "25.00", "points": 100}],
                                      steps_replace_rate=False)
    with at(now - 70 * DAY):
        reward_services.reward_create(shop=shop, available_from=now - 70 * DAY, **WORKSHOP)

    story = Story(
        shop=shop, rhythm=RHYTHM, rng=rng, now=now, basket=basket, owner=owner,
        staffing=Staffing(counter=[(staff, 0.6), (owner, 0.4)], till=till,
                          till_from=start + 150 * DAY, till_share=0.35),
        reference_prefix="GK-", portal_claims=0.04, undos=3,
        undo_reason="Verkeerd bedrag ingetoetst", adjustments=ADJUSTMENTS,
    )
    sanne = Customer(
        name="Sanne Visser", email=MEMBER_EMAIL, phone="+31612345601",
        birthday=dt.date(1991, 4, 12), consent=True, source=MembershipSource.PUBLIC_PAGE,
        joined_at=RHYTHM.evening(RHYTHM.local_date(start) + 9 * DAY, rng),
        visits_per_week=2.2, redeems=0.08, login=True,
    )
    with at(sanne.joined_at):
        sanne.user = login(MEMBER_EMAIL, sanne.name)
    customers = [sanne, *_customers(rng, start, now, MEMBERS - 1)]
    story.keep_open(sanne, RHYTHM.evening(RHYTHM.local_date(now) - 3 * DAY, rng),
                    "Roomboter croissant")
    # Vouchers claimed at home these last weeks, not brought along yet.
    recent = [c for c in customers[1:] if c.login and c.until is None
              and c.joined_at < now - 30 * DAY]
    for customer in rng.sample(recent, min(6, len(recent))):
        story.keep_open(customer, RHYTHM.evening(
            RHYTHM.local_date(now) - rng.randint(1, 25) * DAY, rng))
    for weeks in (9, 7, 4):  # the baking mornings go to the savers
        story.claim_by_someone(RHYTHM.evening(RHYTHM.local_date(now) - weeks * 7 * DAY, rng),
                               WORKSHOP["name"])
    story.tell(customers)
    # The charity program, on for the last two weeks (under the rules of then): 1% of every
    # purchase from the shop, round-ups at the counter, 100 points = €1 given; Sanne picked
    # the trees.
    program_add(story, GIVING, featured=Membership.objects.get(shop=shop, email=MEMBER_EMAIL),
                staff=staff)
    # Bonus points from today on (the year's purchases above earned without them): double
    # points on Tuesdays, and extra points in the run-up to Christmas.
    with at(now):
        services.program_rules_update(shop=shop, by=owner, bonus_events=[
            {"name": "Dubbele punten-dinsdag", "kind": "multiplier", "value": "2",
             "weekdays": [1]},
            {"name": "Kerstweek", "kind": "extra", "value": 25,
             "starts_on": f"{RHYTHM.local_date(now).year}-12-18",
             "ends_on": f"{RHYTHM.local_date(now).year}-12-24"},
        ])
    # Levels, switched on today: the members are placed by this year's points in the ledger.
    tier_services.program_save(shop=shop, by=owner, data=tier_services.program_input_clean(
        enabled=True, measure="points", period="year", downgrade="one", grace_days=30,
        tiers=LEVELS))
    return story


def _customers(rng: random.Random, start: dt.datetime, now: dt.datetime,
               count: int) -> list[Customer]:
    names = [(first, last) for first, last in itertools.product(FIRST_NAMES, LAST_NAMES)
             if (first, last) != ("Sanne", "Visser")]
    customers = []
    for index, (first, last) in enumerate(rng.sample(names, count)):
        name = f"{first} {last}"
        kind = rng.random()
        if kind < 0.3:
            rate = rng.uniform(1.0, 2.5)  # comes for bread most days
        elif kind < 0.75:
            rate = rng.uniform(0.25, 0.8)
        else:
            rate = rng.uniform(0.04, 0.2)
        # A burst when the program started, then a steady trickle.
        offset = rng.uniform(0, 21) if index < 45 else rng.uniform(0, 362)
        day = RHYTHM.open_from(RHYTHM.local_date(start) + dt.timedelta(days=int(offset)))
        public = rng.random() < 0.35
        joined_at = RHYTHM.evening(day, rng) if public else RHYTHM.moment(day, rng)
        if joined_at >= now - dt.timedelta(hours=1):
            joined_at = now - dt.timedelta(days=1, hours=rng.randint(1, 9))
        has_email = public or rng.random() < 0.6
        has_phone = rng.random() < 0.85 or not has_email
        customers.append(Customer(
            name=name, joined_at=joined_at, visits_per_week=rate,
            email=email_of(name) if has_email else "",
            phone=f"+3161234{5700 + index:04d}" if has_phone else "",
            birthday=dt.date(rng.randint(1948, 2006), rng.randint(1, 12), rng.randint(1, 28))
            if rng.random() < 0.6 else None,
            language="nl" if rng.random() < 0.88 else "en",
            consent=rng.random() < 0.5,
            source=MembershipSource.PUBLIC_PAGE if public else MembershipSource.COUNTER,
            until=joined_at + dt.timedelta(days=rng.randint(30, 200))
            if rng.random() < 0.18 else None,
            login=public,
            redeems=0.005 if rng.random() < 0.35 else rng.uniform(0.01, 0.045),
        ))
    return customers
