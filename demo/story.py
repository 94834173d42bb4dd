"""A shop's year, told by the services: customers join (``member_enrol``), come back in the
shop's weekly rhythm, save points or stamps, claim rewards at the counter or at home in the
portal, use their vouchers, let some expire or cancel them; staff undo a mistyped purchase and
the owner corrects a card now and then.

Each thing happens at its moment in the past (``clock.at``), through the same services the
counter, the portal and the Celery beat call, so the ledger has real rows. Only the purchases,
most of the rows, are written in bulk (``bulk.purchases_write``: what the engine writes, a few
seconds faster); the cached balances are set from the ledger after them, and the vouchers'
claims, returns and the rest come after that, in time order.

The plan is drawn first, in Python, following each card's points as the services will count
them (spendable points, a reward's stock and limits), so every claim it plans goes through. A
claim the services refuse all the same is left out and counted (``Story.skipped``), and the
tests hold that count at zero."""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import random
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone

from demo import bulk
from demo.clock import at, explicit_timestamps
from demo.rhythm import Rhythm
from loyalty import services
from loyalty.models import ApiKey, ProgramRules, Purchase, Shop, User
from loyalty.points import points_for_amount
from members.services import member_enrol
from rewards import services as reward_services
from rewards.models import LimitPeriod, Reward

SECOND = dt.timedelta(seconds=1)
MINUTE = dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)


def email_of(name: str, domain: str = "example.com") -> str:
    """sanne.visser@example.com for Sanne Visser; å, ö and the like lose their accents."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    first, _space, last = plain.lower().partition(" ")
    return f"{first}.{last.replace(' ', '')}@{domain}"


@dataclass(eq=False)
class Customer:
    name: str
    joined_at: dt.datetime
    visits_per_week: float
    email: str = ""
    phone: str = ""
    birthday: dt.date | None = None
    language: str = "nl"
    consent: bool = False
    source: str = "counter"
    until: dt.datetime | None = None  # stops coming after this
    login: bool = False  # has a login for the portal (claims at home)
    redeems: float = 0.3  # the chance to take a reward at a visit when one is affordable
    exact_visits: int | None = None  # comes exactly this often (a customer the tour shows)
    basket: Callable[[random.Random, dt.date], Decimal] | None = None  # their own basket
    user: User | None = None
    membership_id: int | None = None
    # Followed while planning: spendable points, and claims per (reward, month).
    points: int = 0
    claims: Counter = field(default_factory=Counter)


@dataclass(eq=False)
class Visit:
    at: dt.datetime
    amount: Decimal
    customer: Customer | None = None
    recorded_by: User | None = None
    api_key: ApiKey | None = None
    undo: bool = False  # a mistyped amount, undone at the counter a minute later
    points: int = 0  # what it earns, under the rules in force then
    purchase: Purchase | None = None


@dataclass
class Staffing:
    """Who records the purchases: people at the counter (with weights), and from a date on,
    the till's API key for a share of them."""

    counter: list[tuple[User, float]]
    till: ApiKey | None = None
    till_from: dt.datetime | None = None
    till_share: float = 0.0


class Story:
    def __init__(self, *, shop: Shop, rhythm: Rhythm, rng: random.Random, now: dt.datetime,
                 basket: Callable[[random.Random, dt.date], Decimal], staffing: Staffing,
                 owner: User, reference_prefix: str, anonymous_share: float = 0.15,
                 portal_claims: float = 0.0, undos: int = 0, undo_reason: str = "",
                 adjustments: tuple[tuple[int, str], ...] = ()):
        self.shop, self.rhythm, self.rng, self.now = shop, rhythm, rng, now
        self.basket, self.staffing, self.owner = basket, staffing, owner
        self.reference_prefix = reference_prefix
        self.anonymous_share, self.portal_claims = anonymous_share, portal_claims
        self.undos, self.undo_reason, self.adjustments = undos, undo_reason, adjustments
        self.rules = list(ProgramRules.objects.filter(shop=shop).order_by("version"))
        self.rewards = list(Reward.objects.for_shop(shop).order_by("display_order", "pk"))
        self.stock = {reward.pk: reward.stock_claimed for reward in self.rewards}
        self.events: list[tuple[dt.datetime, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self.skipped = 0
        self.refusals: list[str] = []
        self.counts: Counter = Counter()
        self.open_claims: list[tuple[Customer | None, dt.datetime, str | None, bool]] = []

    def keep_open(self, customer: Customer, moment: dt.datetime,
                  reward_name: str | None = None) -> None:
        """Have ``customer`` claim a reward at home at ``moment`` and not use it yet (an open
        voucher to show in the portal and at the counter): the one named, or one they can
        afford then, if any."""
        self.open_claims.append((customer, moment, reward_name, True))

    def claim_by_someone(self, moment: dt.datetime, reward_name: str) -> None:
        """Have a member with a login who can afford this reward at ``moment`` claim it at
        home (used at their next visit, as others are)."""
        self.open_claims.append((None, moment, reward_name, False))

    # --- The story, in four acts ---------------------------------------------------------

    def tell(self, customers: list[Customer]) -> None:
        self.enrol(customers)
        visits = self.visits(customers)
        self.plan(visits)
        self.write(visits)
        self.run()

    def enrol(self, customers: list[Customer]) -> None:
        """Each customer joins at their moment, through ``member_enrol`` (with the sign-up
        bonus of the rules then in force); those with a login get one first."""
        for customer in sorted(customers, key=lambda c: c.joined_at):
            with at(customer.joined_at):
                if customer.login and customer.user is None:
                    customer.user = User.objects.create_user(email=customer.email,
                                                             name=customer.name)
                membership = member_enrol(
                    shop=self.shop, name=customer.name, email=customer.email,
                    phone=customer.phone, birthday=customer.birthday,
                    language=customer.language, marketing_consent=customer.consent,
                    source=customer.source, user=customer.user,
                )
            customer.membership_id = membership.pk
            customer.points = self.rules_at(customer.joined_at).signup_bonus

    def visits(self, customers: list[Customer]) -> list[Visit]:
        """Every visit of the year, in the shop's rhythm, and the sales without a card."""
        rng, visits = self.rng, []
        for customer in customers:
            for moment in self._moments(customer):
                basket = customer.basket or self.basket
                visits.append(Visit(at=moment, customer=customer,
                                    amount=basket(rng, self.rhythm.local_date(moment))))
                if rng.random() < self.anonymous_share:
                    day = self.rhythm.local_date(moment)
                    anonymous = self.rhythm.moment(day, rng)
                    if anonymous < self.now:
                        visits.append(Visit(at=anonymous, amount=self.basket(rng, day)))
        visits.sort(key=lambda visit: visit.at)
        for visit in visits:
            visit.recorded_by, visit.api_key = self._recorder(visit.at)
        self._mistypes(visits)
        for visit in visits:
            if visit.customer is not None:
                visit.points = points_for_amount(rules=self.rules_at(visit.at),
                                                 amount=visit.amount)
        return visits

    def plan(self, visits: list[Visit]) -> None:
        """Walk the year in time order, following every card, and plan what the services do
        besides the purchases: claims, uses, cancellations, expiries, corrections."""
        by_customer: dict[Customer, list[Visit]] = {}
        for visit in visits:
            if visit.customer is not None and not visit.undo:
                by_customer.setdefault(visit.customer, []).append(visit)
        queue: list = []
        for visit in visits:
            if visit.customer is not None and not visit.undo:
                heapq.heappush(queue, (visit.at, next(self._order), "visit", visit))
        for points, reason in self.adjustments:
            customer = self.rng.choice([c for c in by_customer if len(by_customer[c]) > 5])
            visit = self.rng.choice(by_customer[customer][1:-1])
            moment = self.rhythm.moment(
                self.rhythm.open_from(self.rhythm.local_date(visit.at) + 2 * DAY), self.rng)
            if moment < self.now:
                heapq.heappush(queue, (moment, next(self._order), "adjust",
                                       (customer, points, reason)))
        for customer, moment, name, keep_open in self.open_claims:
            reward = next((reward for reward in self.rewards if reward.name == name), None)
            heapq.heappush(queue, (moment, next(self._order), "portal",
                                   (customer, reward, keep_open)))
        uses: dict[Visit, list[dict]] = {}
        while queue:
            moment, _order, kind, item = heapq.heappop(queue)
            if kind == "visit":
                self._plan_visit(item, by_customer[item.customer], uses, queue)
            elif kind == "portal":
                if item[0] is None:  # whoever can afford it
                    able = [c for c in by_customer if c.user is not None
                            and item[1] in self._affordable(c, moment)]
                    if not able:
                        continue
                    item = (self.rng.choice(able), *item[1:])
                self._plan_portal_claim(moment, item, by_customer.get(item[0], []), uses, queue)
            elif kind == "return":
                customer, points, reward = item
                customer.points += points
                if reward is not None:
                    self.stock[reward.pk] -= 1
            elif kind == "uncount":
                customer, key = item
                customer.claims[key] -= 1
            elif kind == "adjust":
                customer, points, reason = item
                customer.points += points
                self._event(moment, self._adjust(customer, points, reason))

    def write(self, visits: list[Visit]) -> None:
        """The purchases in bulk, as the engine writes them, then the balances they make."""
        purchases = []
        for number, visit in enumerate(visits, start=1):
            rules = self.rules_at(visit.at)
            visit.purchase = Purchase(
                shop=self.shop, membership_id=getattr(visit.customer, "membership_id", None),
                amount=visit.amount, currency=self.shop.currency,
                reference=f"{self.reference_prefix}{number:06d}", rules=rules,
                points_earned=visit.points,
                points_available_at=visit.at + dt.timedelta(days=rules.pending_days),
                recorded_by=visit.recorded_by, api_key=visit.api_key, created_at=visit.at,
            )
            purchases.append(visit.purchase)
        with explicit_timestamps(*bulk.timestamp_fields()):
            bulk.purchases_write(purchases)
        bulk.balances_from_ledger(self.shop)
        for visit in visits:
            if visit.undo:
                self._event(visit.at + 70 * SECOND, self._undo(visit))
        self.counts["purchases"] = len(purchases)

    def run(self) -> None:
        """Everything planned, in time order, each at its moment."""
        for moment, _order, action in sorted(self.events, key=lambda e: (e[0], e[1])):
            with at(moment):
                action()

    # --- Planning --------------------------------------------------------------------------

    def rules_at(self, moment: dt.datetime) -> ProgramRules:
        current = self.rules[0]
        for rules in self.rules:
            if rules.created_at <= moment:
                current = rules
        return current

    def _moments(self, customer: Customer) -> list[dt.datetime]:
        rng, rhythm = self.rng, self.rhythm
        first = rhythm.local_date(customer.joined_at)
        last = rhythm.local_date(min(customer.until or self.now, self.now))
        days = [first + n * DAY for n in range((last - first).days + 1)]
        days = [day for day in days if rhythm.is_open(day)]
        if customer.exact_visits is not None:  # not on the day they join, nor today
            inner = [day for day in days if first < day < rhythm.local_date(self.now)]
            chosen = sorted(rng.sample(inner, min(customer.exact_visits, len(inner))))
        else:
            chosen = [day for day in days
                      if rng.random() < rhythm.visit_chance(day, customer.visits_per_week)]
            if customer.source == "counter" and days[:1] == [first] and chosen[:1] != [first]:
                chosen.insert(0, first)  # joined at the counter, paying
        moments = []
        for day in chosen:
            moment = rhythm.moment(day, rng)
            if day == first and customer.source == "counter":
                moment = customer.joined_at + 2 * MINUTE
            if customer.joined_at < moment < self.now:
                moments.append(moment)
        return moments

    def _recorder(self, moment: dt.datetime) -> tuple[User | None, ApiKey | None]:
        staffing = self.staffing
        if (staffing.till is not None and moment >= staffing.till_from
                and self.rng.random() < staffing.till_share):
            return None, staffing.till
        people, weights = zip(*staffing.counter, strict=True)
        return self.rng.choices(people, weights=weights)[0], None

    def _mistypes(self, visits: list[Visit]) -> None:
        """A few amounts typed with a digit too many at the counter, undone, typed again."""
        candidates = [visit for visit in visits if visit.customer is not None
                      and visit.recorded_by is not None and visit.at < self.now - DAY]
        for visit in self.rng.sample(candidates, min(self.undos, len(candidates))):
            wrong = Visit(at=visit.at - 3 * MINUTE, amount=visit.amount * 10,
                          customer=visit.customer, recorded_by=visit.recorded_by, undo=True)
            visits.append(wrong)
        visits.sort(key=lambda visit: visit.at)

    def _affordable(self, customer: Customer, moment: dt.datetime) -> list[Reward]:
        month = self.rhythm.local_date(moment).replace(day=1)
        return [
            reward for reward in self.rewards
            if reward.active and reward.points_cost <= customer.points
            and (reward.available_from is None or reward.available_from <= moment)
            and (reward.available_until is None or moment < reward.available_until)
            and (reward.stock_total is None or self.stock[reward.pk] < reward.stock_total)
            and (reward.limit_per_member is None
                 or customer.claims[self._limit_key(reward, month)] < reward.limit_per_member)
        ]

    @staticmethod
    def _limit_key(reward: Reward, month: dt.date):
        return (reward.pk, month if reward.limit_period == LimitPeriod.MONTH else None)

    def _choose(self, rewards: list[Reward]) -> Reward:
        """Most take something small; a few save up for the big ones."""
        return self.rng.choices(rewards, weights=[r.points_cost ** -0.5 for r in rewards])[0]

    def _claimed(self, customer: Customer, reward: Reward, moment: dt.datetime):
        customer.points -= reward.points_cost
        self.stock[reward.pk] += 1
        key = self._limit_key(reward, self.rhythm.local_date(moment).replace(day=1))
        customer.claims[key] += 1
        return key

    def _plan_visit(self, visit: Visit, own: list[Visit], uses: dict, queue: list) -> None:
        customer = visit.customer
        for voucher in uses.pop(visit, []):  # claimed at home, shown at the counter
            self._event(visit.at - 40 * SECOND, self._use(voucher))
        redeem_at = visit.at - 30 * SECOND
        affordable = self._affordable(customer, redeem_at)
        if affordable and self.rng.random() < customer.redeems:
            reward = self._choose(affordable)
            self._claimed(customer, reward, redeem_at)
            self._event(redeem_at, self._redeem(customer, reward))
        customer.points += visit.points
        if customer.user is not None and self.rng.random() < self.portal_claims:
            evening = self.rhythm.evening(self.rhythm.local_date(visit.at), self.rng)
            later = [v for v in own if v.at > visit.at]
            if evening < self.now and (not later or later[0].at > evening):
                heapq.heappush(queue, (evening, next(self._order), "portal",
                                       (customer, None, False)))

    def _plan_portal_claim(self, moment: dt.datetime, item, own: list[Visit], uses: dict,
                           queue: list) -> None:
        customer, reward, keep_open = item
        affordable = self._affordable(customer, moment)
        if reward is not None and reward not in affordable:
            self.skipped += 1
            self.refusals.append(f"{customer.name}, {reward.name}: not affordable in the plan")
            return
        if not affordable:
            return
        reward = reward or self._choose(affordable)
        key = self._claimed(customer, reward, moment)
        voucher: dict = {"reward": reward, "customer": customer}
        self._event(moment, self._claim(voucher))
        if keep_open:
            return
        expires_at = moment + dt.timedelta(days=reward.voucher_valid_days)
        later = [v for v in own if moment < v.at < expires_at]
        chance = self.rng.random()
        if chance < 0.1:  # changed their mind the same evening
            cancel_at = moment + self.rng.randint(20, 120) * MINUTE
            if cancel_at < self.now:
                self._event(cancel_at, self._cancel(voucher))
                heapq.heappush(queue, (cancel_at, next(self._order), "return",
                                       (customer, reward.points_cost, reward)))
                heapq.heappush(queue, (cancel_at, next(self._order), "uncount",
                                       (customer, key)))
                return
        if later and chance > 0.2:  # brought along at the next visit, or one after it
            use = later[0] if self.rng.random() < 0.7 else self.rng.choice(later)
            uses.setdefault(use, []).append(voucher)
            return
        if expires_at < self.now:  # forgotten: the hourly task closes it, points come back
            beat = expires_at.replace(minute=15, second=0, microsecond=0)
            if beat < expires_at:
                beat += dt.timedelta(hours=1)
            beat += 5 * SECOND
            if beat < self.now:
                self._event(beat, self._expire)
                if reward_services.reward_settings_for(
                        shop=self.shop).expired_vouchers_return_points:
                    heapq.heappush(queue, (beat, next(self._order), "return",
                                           (customer, reward.points_cost, reward)))
                else:
                    heapq.heappush(queue, (beat, next(self._order), "return",
                                           (customer, 0, reward)))
        # Otherwise still open today.

    def _event(self, moment: dt.datetime, action: Callable[[], None]) -> None:
        self.events.append((moment, next(self._order), action))

    # --- What the services do ------------------------------------------------------------

    def _counter_person(self) -> User:
        people, weights = zip(*self.staffing.counter, strict=True)
        return self.rng.choices(people, weights=weights)[0]

    def _redeem(self, customer: Customer, reward: Reward):
        by = self._counter_person()

        def action():
            try:
                reward_services.reward_redeem_at_counter(
                    shop=self.shop, membership_id=customer.membership_id, reward_id=reward.pk,
                    by=by)
                self.counts["redeemed at the counter"] += 1
            except ValidationError as exc:
                self._refused(customer, reward, exc)
        return action

    def _claim(self, voucher: dict):
        def action():
            try:
                voucher["voucher"] = reward_services.voucher_claim(
                    shop=self.shop, membership_id=voucher["customer"].membership_id,
                    reward_id=voucher["reward"].pk, actor_user=voucher["customer"].user)
                self.counts["claimed in the portal"] += 1
            except ValidationError as exc:
                self._refused(voucher["customer"], voucher["reward"], exc)
        return action

    def _use(self, voucher: dict):
        by = self._counter_person()

        def action():
            if "voucher" in voucher:
                reward_services.voucher_use(shop=self.shop, code=voucher["voucher"].code,
                                            actor_user=by)
                self.counts["vouchers used"] += 1
        return action

    def _cancel(self, voucher: dict):
        def action():
            if "voucher" in voucher:
                reward_services.voucher_cancel(
                    shop=self.shop, voucher_id=voucher["voucher"].pk,
                    by=voucher["customer"].user,
                    membership_id=voucher["customer"].membership_id)
                self.counts["vouchers cancelled"] += 1
        return action

    def _refused(self, customer: Customer, reward: Reward, exc: ValidationError) -> None:
        self.skipped += 1
        self.refusals.append(f"{customer.name}, {reward.name}, {timezone.now():%Y-%m-%d %H:%M}: "
                             f"{' '.join(exc.messages)}")

    def _expire(self) -> None:
        self.counts["vouchers expired"] += reward_services.vouchers_expire()

    def _undo(self, visit: Visit):
        def action():
            services.purchase_undo(shop=self.shop, purchase_id=visit.purchase.pk,
                                   reason=self.undo_reason, by=visit.recorded_by)
            self.counts["purchases undone"] += 1
        return action

    def _adjust(self, customer: Customer, points: int, reason: str):
        def action():
            services.points_adjust(shop=self.shop, membership_id=customer.membership_id,
                                   points=points, reason=reason, by=self.owner)
            self.counts["adjustments"] += 1
        return action
