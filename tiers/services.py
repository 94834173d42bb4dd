"""Writes for levels: the owner's program and tiers (previewed first, members placed by their
history, nobody losing a level at a change), a level up right after the qualifying purchase,
a level taken back by a refund in the pending window, the owner's manual level, and the
re-evaluation that lets levels go down.

Every change of a card's level goes through ``_level_write``: the card's level fields in the
core (what the earn reads), the card's ``TierState`` and a ``LevelChange`` row with the reason.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.db.models import Q
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from loyalty import sql
from loyalty.localdays import local_date, months_add, shop_zone
from loyalty.models import Membership, Shop, User
from loyalty.points import MAX_BALANCE
from loyalty.selectors import UNDO_WINDOW, api_keys_forget
from loyalty.services import membership_lock
from loyalty.services.common import points_display

from . import selectors
from .models import (
    MAX_BIRTHDAY_POINTS,
    MAX_GRACE_DAYS,
    MAX_MULTIPLIER,
    MAX_TIERS,
    MIN_MULTIPLIER,
    ChangeReason,
    Downgrade,
    LevelChange,
    Measure,
    Period,
    Tier,
    TierProgram,
    TierState,
)
from .selectors import ProgramView, TierView

MAX_AMOUNT_THRESHOLD = Decimal("100000000.00")
MAX_VISITS_THRESHOLD = 100_000
COLOUR_DIGITS = set("0123456789abcdefABCDEF")
BATCH = 500


# --- The owner's input ----------------------------------------------------------------------


@dataclass
class TierInput:
    """One tier as the owner entered it: ``id`` of an existing tier, or None for a new one."""

    id: int | None
    name: str
    colour: str
    threshold: Decimal
    multiplier: Decimal
    perks: str = ""
    rank: int = 0
    birthday_points: int | None = None  # None: the shop's usual birthday points

    @property
    def key(self):
        return self.id if self.id is not None else ("new", self.name.casefold())


@dataclass
class ProgramInput:
    enabled: bool
    measure: str
    period: str
    downgrade: str
    grace_days: int
    tiers: list[TierInput] = field(default_factory=list)


def _threshold_parse(value, measure: str, index: int) -> Decimal:
    text = str(value if value is not None else "").strip().replace(",", ".")
    try:
        if not text or not all(ch in "0123456789." for ch in text) or text.count(".") > 1:
            raise InvalidOperation
        number = Decimal(text)
    except InvalidOperation:
        raise ValidationError({"tiers": [_(
            "Level %(n)s: enter the threshold as a number, such as 250.") % {"n": index}]},
        ) from None
    if measure == Measure.AMOUNT:
        if number.as_tuple().exponent < -2:
            raise ValidationError({"tiers": [_(
                "Level %(n)s: an amount has at most two decimals.") % {"n": index}]})
        ceiling = MAX_AMOUNT_THRESHOLD
    else:
        if number != number.to_integral_value():
            raise ValidationError({"tiers": [_(
                "Level %(n)s: points and visits are whole numbers.") % {"n": index}]})
        ceiling = Decimal(MAX_VISITS_THRESHOLD if measure == Measure.VISITS
                          else MAX_BALANCE)
    if number <= 0:
        raise ValidationError({"tiers": [_(
            "Level %(n)s: the threshold must be above zero.") % {"n": index}]})
    if number > ceiling:
        raise ValidationError({"tiers": [_(
            "Level %(n)s: the threshold can be at most %(max)s.") % {
            "n": index, "max": points_display(int(ceiling))}]})
    return number.quantize(Decimal("0.01"))


def _multiplier_parse(value, index: int) -> Decimal:
    text = str(value if value is not None else "").strip().replace(",", ".") or "1"
    try:
        if not all(ch in "0123456789." for ch in text) or text.count(".") > 1:
            raise InvalidOperation
        number = Decimal(text)
    except InvalidOperation:
        number = None
    if number is None or not MIN_MULTIPLIER <= number <= MAX_MULTIPLIER or (
            number.as_tuple().exponent < -2):
        raise ValidationError({"tiers": [_(
            "Level %(n)s: the earn multiplier is a number from %(min)s to %(max)s, such as "
            "%(example)s.") % {"n": index, "min": formats.localize_input(MIN_MULTIPLIER),
                               "max": formats.localize_input(MAX_MULTIPLIER),
                               "example": formats.localize_input(Decimal("1.25"))}]})
    return number.quantize(Decimal("0.01"))


def _birthday_points_parse(value, index: int) -> int | None:
    """A level's birthday points: empty is the shop's usual gift (None); else a whole number
    from 0 to MAX_BIRTHDAY_POINTS, grouped as the language writes it (1.000 or 1,000)."""
    text = str(value if value is not None else "").strip()
    for space in (" ", "\u00a0", "\u202f"):
        text = text.replace(space, "")
    if not text:
        return None
    digits = text.replace(".", "").replace(",", "")
    grouped = all(len(group) == 3 for group in text.replace(",", ".").split(".")[1:])
    if not digits.isascii() or not digits.isdigit() or not grouped or (
            int(digits) > MAX_BIRTHDAY_POINTS):
        raise ValidationError({"tiers": [_(
            "Level %(n)s: the birthday points are a whole number from 0 to %(max)s, or empty "
            "for the shop's usual birthday gift.") % {
            "n": index, "max": points_display(MAX_BIRTHDAY_POINTS)}]})
    return int(digits)


def program_input_clean(*, enabled, measure, period, downgrade, grace_days,
                        tiers: list[dict]) -> ProgramInput:
    """The owner's levels, checked: every mistake is a translated message (the first one per
    field) and nothing is saved. Returns the input with the tiers ordered and ranked."""
    errors: dict[str, list[str]] = {}
    if measure not in Measure.values:
        errors["measure"] = [_("Choose what counts towards a level.")]
    if period not in Period.values:
        errors["period"] = [_("Choose over which time it counts.")]
    if downgrade not in Downgrade.values:
        errors["downgrade"] = [_("Choose how a level goes down.")]
    try:
        grace = int(str(grace_days if grace_days not in (None, "") else 0).strip())
        if not 0 <= grace <= MAX_GRACE_DAYS:
            raise ValueError
    except ValueError:
        errors["grace_days"] = [_("Grace days are a whole number from 0 to 365.")]
        grace = 0
    if errors:
        raise ValidationError(errors)
    cleaned: list[TierInput] = []
    for index, row in enumerate(tiers, start=1):
        name = str(row.get("name") or "").strip()
        if not name:
            raise ValidationError({"tiers": [_("Level %(n)s needs a name.") % {"n": index}]})
        if len(name) > 40:
            raise ValidationError({"tiers": [_(
                "Level %(n)s: a name has at most 40 characters.") % {"n": index}]})
        colour = str(row.get("colour") or "#b08d57").strip()
        if len(colour) != 7 or colour[0] != "#" or not set(colour[1:]) <= COLOUR_DIGITS:
            raise ValidationError({"tiers": [_(
                "Level %(n)s: the colour is # and six hexadecimal digits, such as #c0c0c0.")
                % {"n": index}]})
        perks = str(row.get("perks") or "").strip()
        if len(perks) > 500:
            raise ValidationError({"tiers": [_(
                "Level %(n)s: the perks have at most 500 characters.") % {"n": index}]})
        tier_id = row.get("id")
        cleaned.append(TierInput(
            id=int(tier_id) if tier_id not in (None, "") else None, name=name,
            colour=colour.lower(), threshold=_threshold_parse(row.get("threshold"), measure, index),
            multiplier=_multiplier_parse(row.get("multiplier"), index), perks=perks,
            birthday_points=_birthday_points_parse(row.get("birthday_points"), index)))
    if len(cleaned) > MAX_TIERS:
        raise ValidationError({"tiers": [_("At most %(max)s levels.") % {"max": MAX_TIERS}]})
    names = [t.name.casefold() for t in cleaned]
    if len(set(names)) != len(names):
        raise ValidationError({"tiers": [_("Two levels have the same name: give each its own.")]})
    thresholds = [t.threshold for t in cleaned]
    if len(set(thresholds)) != len(thresholds):
        raise ValidationError({"tiers": [_(
            "Two levels have the same threshold: each level needs a higher one than the "
            "level below.")]})
    ids = [t.id for t in cleaned if t.id is not None]
    if len(set(ids)) != len(ids):
        raise ValidationError({"tiers": [_("A level is listed twice.")]})
    if enabled and not cleaned:
        raise ValidationError({"tiers": [_("Add at least one level before switching levels on.")]})
    cleaned.sort(key=lambda t: t.threshold)
    for rank, tier in enumerate(cleaned, start=1):
        tier.rank = rank
    return ProgramInput(enabled=bool(enabled), measure=measure, period=period,
                        downgrade=downgrade, grace_days=grace, tiers=cleaned)


# --- Placing members: the preview and the save share one plan ---------------------------------


@dataclass
class Placement:
    membership_id: int
    card: tuple  # (level_name, level_rank, level_colour, level_multiplier) on the card now
    held_id: int | None  # the tier the card's state holds now
    target: TierInput | None  # where it goes (None: no level shown)
    outcome: str  # "up", "down_kept", "moved", "same"


def _rank(tier) -> int:
    return tier.rank if tier is not None else 0


def _plan(*, shop: Shop, data: ProgramInput, now: dt.datetime, lock: bool) -> list[Placement]:
    """Where every card of the shop goes under ``data``: up to the level its history earns
    (counted in the ledger and purchases, in the new measure and period), never down (a card
    whose earned level is lower keeps its level until re-evaluation); a card at a removed level
    goes to the highest remaining level at or below it (or higher, if earned)."""
    existing = {tier.pk: tier for tier in Tier.objects.for_shop(shop)}
    by_id = {tier.id: tier for tier in data.tiers if tier.id is not None}
    unknown = set(by_id) - set(existing)
    if unknown:
        raise ValidationError({"tiers": [_("A level was removed meanwhile: reload the page.")]})
    cards = Membership.objects.filter(shop=shop).order_by("pk")
    if lock:  # the order every writer of points locks cards in
        cards = cards.select_for_update()
    rows = list(cards.values_list("pk", "level_name", "level_rank", "level_colour",
                                  "level_multiplier"))
    held = dict(TierState.objects.filter(shop=shop).values_list("membership_id", "tier_id"))
    zone = shop_zone(shop.time_zone)
    values = (selectors.shop_measures(
        shop=shop, measure=data.measure,
        start=selectors.period_start(period=data.period, now=now, zone=zone))
        if data.enabled and data.tiers else {})
    placements = []
    for pk, *card in rows:
        held_id = held.get(pk)
        holding, outcome = None, "same"
        if held_id is not None:
            holding = by_id.get(held_id)
            if holding is None and held_id in existing:
                was = existing[held_id].threshold
                below = [t for t in data.tiers if t.threshold <= was]
                holding, outcome = (below[-1] if below else None), "moved"
        if not data.enabled:
            placements.append(Placement(pk, tuple(card), held_id, None, "same"))
            continue
        earned = selectors.tier_for_measure(data.tiers, values.get(pk, Decimal(0)))
        target = earned if _rank(earned) > _rank(holding) else holding
        if _rank(earned) > _rank(holding):
            outcome = "up"
        elif _rank(earned) < _rank(holding) and outcome != "moved":
            outcome = "down_kept"
        placements.append(Placement(pk, tuple(card), held_id, target, outcome))
    return placements


def program_preview(*, shop: Shop, data: ProgramInput, now: dt.datetime | None = None) -> dict:
    """What saving ``data`` would do to the shop's members, changing nothing: how many move up,
    how many would move down (they keep their level until re-evaluation), how many hold a level
    that is removed, and how many hold a level while levels are switched off."""
    placements = _plan(shop=shop, data=data, now=now or timezone.now(), lock=False)
    counts = {"up": 0, "down_kept": 0, "moved": 0, "same": 0}
    for placement in placements:
        counts[placement.outcome] += 1
    counts["members"] = len(placements)
    counts["holding"] = sum(1 for p in placements if p.card[1] > 0)
    counts["switching_off"] = not data.enabled
    return counts


def _card_fields(tier) -> dict:
    if tier is None:
        return {"level_name": "", "level_rank": 0, "level_colour": "",
                "level_multiplier": Decimal("1.00")}
    return {"level_name": tier.name, "level_rank": tier.rank, "level_colour": tier.colour,
            "level_multiplier": tier.multiplier}


def _tiers_write(*, shop: Shop, data: ProgramInput) -> set[int]:
    """Save the tiers of ``data`` (ids filled in on new ones); returns the ids to remove. Every
    existing tier first takes a placeholder name and threshold, so that swapping two levels'
    thresholds or reusing a removed level's name never trips the unique constraints."""
    existing = list(Tier.objects.for_shop(shop).order_by("pk"))
    placeholder = Decimal("9999999999.00")
    for offset, tier in enumerate(existing):
        tier.name = f"~{tier.pk}"
        tier.threshold = placeholder - offset
    Tier.objects.bulk_update(existing, ["name", "threshold"])
    kept = {tier.id for tier in data.tiers if tier.id is not None}
    by_pk = {tier.pk: tier for tier in existing}
    updated = []
    for tier in data.tiers:
        if tier.id is not None:
            row = by_pk[tier.id]
            row.name, row.colour, row.threshold = tier.name, tier.colour, tier.threshold
            row.multiplier, row.perks = tier.multiplier, tier.perks
            row.birthday_points = tier.birthday_points
            updated.append(row)
    Tier.objects.bulk_update(updated, ["name", "colour", "threshold", "multiplier", "perks",
                                       "birthday_points"])
    for tier in data.tiers:
        if tier.id is None:
            tier.id = Tier.objects.create(
                shop=shop, name=tier.name, colour=tier.colour, threshold=tier.threshold,
                multiplier=tier.multiplier, perks=tier.perks,
                birthday_points=tier.birthday_points).pk
    return set(by_pk) - kept


def program_save(*, shop: Shop, data: ProgramInput, by: User | None = None,
                 now: dt.datetime | None = None) -> dict:
    """Save the shop's levels and place its members as the preview said (the same plan, under
    the cards' locks): up to what their history earns, nobody down. Switching levels off hides
    the level on every card (no multiplier) and keeps each card's state for switching on again.
    Returns the preview's counts."""
    now = now or timezone.now()
    zone = shop_zone(shop.time_zone)
    today = local_date(now, zone)
    try:
        with transaction.atomic():
            program, _created = TierProgram.objects.select_for_update().get_or_create(shop=shop)
            placements = _plan(shop=shop, data=data, now=now, lock=True)
            program.enabled, program.measure, program.period = (data.enabled, data.measure,
                                                                data.period)
            program.downgrade, program.grace_days = data.downgrade, data.grace_days
            if data.enabled and program.first_enabled_at is None:
                program.first_enabled_at = now
            program.save()
            shop.levels_enabled = data.enabled and bool(data.tiers)
            Shop.objects.filter(pk=shop.pk).update(levels_enabled=shop.levels_enabled)
            api_keys_forget()  # a key's row holds the shop, and with it levels_enabled
            removed = _tiers_write(shop=shop, data=data)
            _placements_apply(shop=shop, data=data, placements=placements, now=now,
                              today=today, by=by)
            if removed:
                TierState.objects.filter(tier_id__in=removed).update(tier=None)
                Tier.objects.filter(pk__in=removed).delete()
            transaction.on_commit(lambda: selectors.program_forget(shop=shop))
    except IntegrityError:
        raise ValidationError({"tiers": [_(
            "Two levels have the same name or threshold: give each its own.")]}) from None
    selectors.program_forget(shop=shop)
    counts = {"up": 0, "down_kept": 0, "moved": 0, "same": 0}
    for placement in placements:
        counts[placement.outcome] += 1
    return counts


def _placements_apply(*, shop, data, placements, now, today, by) -> None:
    """Write the plan: the cards' level fields (one UPDATE per level), their states and the
    log of every card whose shown level changed."""
    groups: dict[tuple, list[int]] = {}
    changes, new_states, moved_states = [], [], {}
    states = {s.membership_id: s for s in TierState.objects.filter(shop=shop)}
    for placement in placements:
        target = placement.target
        fields = _card_fields(target)
        card = placement.card
        if (card[0], card[1], card[2], Decimal(card[3])) != (
                fields["level_name"], fields["level_rank"], fields["level_colour"],
                fields["level_multiplier"]):
            groups.setdefault(tuple(fields.items()), []).append(placement.membership_id)
        target_id = target.id if target else None
        shown_before, shown_after = card[1] > 0, target is not None
        # The log records a change of level (or of whether it shows), not a level renamed or
        # renumbered by the owner's change.
        if (data.enabled and target_id != placement.held_id) or shown_before != shown_after:
            changes.append(LevelChange(
                shop=shop, membership_id=placement.membership_id,
                from_tier_id=placement.held_id if shown_before else None,
                to_tier_id=target_id, from_name=card[0], to_name=fields["level_name"],
                from_rank=card[1], to_rank=fields["level_rank"],
                reason=ChangeReason.PROGRAM, by=by))
        if not data.enabled:
            continue  # the states stay as they are, for switching on again
        if target_id == placement.held_id:
            continue
        state = states.get(placement.membership_id)
        if state is None:
            new_states.append(TierState(
                shop=shop, membership_id=placement.membership_id, tier_id=target_id,
                reached_at=now, holds_until=selectors.holds_until(period=data.period,
                                                                  reached=today)))
        else:
            state.tier_id = target_id
            if placement.outcome == "up":
                state.reached_at = now
                state.holds_until = selectors.holds_until(period=data.period, reached=today)
            moved_states[state.pk] = state
    for values, ids in groups.items():
        for start in range(0, len(ids), BATCH):
            Membership.objects.filter(pk__in=ids[start:start + BATCH]).update(**dict(values))
    TierState.objects.bulk_create(new_states, batch_size=BATCH)
    TierState.objects.bulk_update(list(moved_states.values()),
                                  ["tier", "reached_at", "holds_until"], batch_size=BATCH)
    LevelChange.objects.bulk_create(changes, batch_size=BATCH)


# --- One card's level -------------------------------------------------------------------------


def _level_write(*, membership: Membership, program: ProgramView, to: TierView | None,
                 reason: str, now: dt.datetime, purchase=None, refund=None, by=None,
                 note: str = "", reached_at: dt.datetime | None = None,
                 override: tuple[str, dt.date | None] = ("", None)) -> LevelChange:
    """Set a card's level: its fields in the core (an UPDATE of the row the caller has locked,
    and the same values on ``membership`` in memory, so the answer shows the new level), its
    state (one upsert) and the log (one insert). Plain SQL (``loyalty.sql``; a level up is
    written by the earn): one statement on PostgreSQL, three on SQLite, whatever the tiers."""
    before = program.tier_of_rank(membership.level_rank)
    fields = _card_fields(to)
    for name, value in fields.items():
        setattr(membership, name, value)
    zone = shop_zone(membership.shop.time_zone)
    reached_at = reached_at or now
    change = LevelChange(
        shop_id=membership.shop_id, membership_id=membership.pk,
        from_tier_id=before.id if before else None, to_tier_id=to.id if to else None,
        from_name=membership_name_before(before), to_name=to.name if to else "",
        from_rank=_rank(before), to_rank=_rank(to), reason=reason, purchase=purchase,
        refund=refund, by=by, note=note[:200])
    connection = connections[DEFAULT_DB_ALIAS]
    card_params = [Membership._meta.get_field(name).get_db_prep_save(value, connection)
                   for name, value in fields.items()] + [membership.pk]
    state_params = sql.row_values(
        TierState, shop_id=membership.shop_id, membership_id=membership.pk,
        tier_id=to.id if to else None, reached_at=reached_at,
        holds_until=selectors.holds_until(period=program.period,
                                          reached=local_date(reached_at, zone)),
        override_reason=override[0], override_until=override[1], updated_at=now)
    card, state = _level_write_sql(connection.vendor)
    if sql.chains_writes():
        row = sql.fetch_one(f"WITH m AS ({card}), s AS ({state}) {sql.insert_sql(LevelChange)}",
                            [*card_params, *state_params, *sql.values(change)])
        change.pk = row[0]
        change._state.adding, change._state.db = False, DEFAULT_DB_ALIAS
        return change
    sql.execute(card, card_params)
    sql.execute(state, state_params)
    return sql.insert(change)


@functools.cache
def _level_write_sql(vendor: str) -> tuple[str, str]:
    """The card's level fields (an UPDATE) and the state's upsert."""
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    card = ", ".join(f"{sql.column(Membership, name)} = %s" for name in _card_fields(None))
    state_columns = sql.insert_columns(TierState)
    membership = sql.column(TierState, "membership")
    updated = ", ".join(f"{column} = EXCLUDED.{column}" for column in state_columns
                        if column not in (membership, sql.column(TierState, "shop")))
    return (
        f"UPDATE {sql.table(Membership)} SET {card}"  # noqa: S608 (identifiers only)
        f" WHERE {quote(Membership._meta.pk.column)} = %s",
        f"{sql.insert_sql(TierState).split(' RETURNING ')[0]}"
        f" ON CONFLICT ({membership}) DO UPDATE SET {updated}",
    )


def membership_name_before(tier) -> str:
    return tier.name if tier is not None else ""


def level_up_text(*, name: str, language: str) -> str:
    """"You reached Zilver!" in the shop's language (what the API's ``news`` promises; the
    counter and the till show it to the customer)."""
    with translation.override(language):
        return _("You reached %(name)s!") % {"name": name}


def purchase_level_up(*, purchase) -> None:
    """The purchase effect (settings.TROUW_EFFECTS["purchase"]): right after the qualifying
    purchase, in its transaction with the card locked, up to the level the card now earns.
    A shop without levels costs no query (``Shop.levels_enabled``, loaded with the shop); with
    levels (the program and tiers kept per process for a few seconds), one aggregate query
    (none when the badges' effect read the measure with its facts: ``purchase.level_measure``),
    and one more statement when the level changes (three on SQLite) — whatever the tiers. Never
    down: that is the re-evaluation's. A retried purchase (idempotent earn) never gets here
    twice: its insert fails first; the log's unique purchase holds it in the database too."""
    membership = purchase.membership
    if membership is None:
        return
    program = selectors.program_active(shop=purchase.shop)
    if program is None or membership.level_rank >= len(program.tiers):
        return  # no levels, or already at the top: nothing to count
    now = purchase.created_at or timezone.now()
    handed_on = getattr(purchase, "level_measure", None)  # read with the badges' facts
    if handed_on is not None and handed_on[0] == program.measure:
        value = handed_on[1]
    else:
        value = selectors.membership_measure(
            membership=membership, shop=purchase.shop, measure=program.measure,
            start=selectors.period_start(period=program.period, now=now,
                                         zone=shop_zone(purchase.shop.time_zone)))
    earned = selectors.tier_for_measure(program.tiers, value)
    if earned is None or earned.rank <= membership.level_rank:
        return
    membership.shop = purchase.shop
    _level_write(membership=membership, program=program, to=earned,
                 reason=ChangeReason.PURCHASE, now=now, purchase=purchase)
    # The colour is for the counter's line (the API answers kind and text only).
    purchase.news.append({"kind": "level_up", "text": level_up_text(
        name=earned.name, language=purchase.shop.language), "colour": earned.colour})


def refund_in_window(refund, purchase) -> bool:
    """Within the purchase's pending window — or, in a shop without one, the counter's undo
    (a full refund within its 10 minutes: the purchase was a mistake, not a visit). The one
    rule for what a refund takes back: the level it raised (``refund_level_back``) and the
    badges it completed (``tiers.badges.services.badges_refund_check``)."""
    at = refund.created_at or timezone.now()
    if at < purchase.points_available_at:
        return True
    return at - purchase.created_at <= UNDO_WINDOW and refund.amount == purchase.amount


def refund_level_back(*, refund) -> None:
    """The refund effect (settings.TROUW_EFFECTS["refund"]): a refund within the purchase's
    pending window that takes the card below the threshold of a level that very purchase
    reached takes the level back — to what the card still earns, never below the level it had
    before that purchase; so does the counter's undo of it in a shop without a pending window.
    Later refunds (and any other level since) count at re-evaluation."""
    purchase = refund.purchase
    if purchase.membership_id is None or not refund_in_window(refund, purchase):
        return
    program = selectors.program_active(shop=purchase.shop)
    if program is None:
        return
    raised = LevelChange.objects.filter(purchase=purchase, reason=ChangeReason.PURCHASE).first()
    if raised is None:
        return
    # Locked by the refund already (loyalty.services.purchase_refund).
    membership = Membership.objects.select_related("shop").get(pk=purchase.membership_id)
    if membership.level_rank != raised.to_rank or membership.level_name != raised.to_name:
        return  # the level changed since: the re-evaluation decides
    zone = shop_zone(membership.shop.time_zone)
    value = selectors.membership_measure(
        membership=membership, shop=membership.shop, measure=program.measure,
        start=selectors.period_start(period=program.period, now=purchase.created_at,
                                     zone=zone))
    earned = selectors.tier_for_measure(program.tiers, value)
    if _rank(earned) >= membership.level_rank:
        return
    back_to = max(_rank(earned), raised.from_rank)
    target = program.tier_of_rank(back_to)
    previous = (LevelChange.objects.filter(membership=membership, pk__lt=raised.pk,
                                           to_rank=back_to).order_by("-pk").first()
                if back_to else None)
    _level_write(membership=membership, program=program, to=target,
                 reason=ChangeReason.REFUND, now=refund.created_at, refund=refund,
                 reached_at=previous.created_at if previous else refund.created_at)


# --- The owner's manual level -----------------------------------------------------------------

MAX_OVERRIDE_DAYS = 5 * 366


def level_set_by_owner(*, shop: Shop, membership_id: int, tier_id: int | None, reason: str,
                       until: dt.date | None, by: User | None,
                       now: dt.datetime | None = None) -> LevelChange:
    """Set a card's level by hand (or none), with a reason and an end date: on that day the
    re-evaluation puts the card back at the level it earns — a manual level is never silently
    a permanent floor. A purchase that earns a higher level still raises it (and ends the
    manual level)."""
    now = now or timezone.now()
    today = local_date(now, shop_zone(shop.time_zone))
    reason = (reason or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = [_("Say why you set this level.")]
    elif len(reason) > 200:
        errors["reason"] = [_("A reason has at most 200 characters.")]
    if until is None:
        errors["until"] = [_("Choose until when the level holds.")]
    elif until <= today:
        errors["until"] = [_("The end date must be after today.")]
    elif (until - today).days > MAX_OVERRIDE_DAYS:
        errors["until"] = [_("The end date can be at most five years away.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        membership = membership_lock(shop=shop, membership_id=membership_id)
        program = selectors.program_load(shop=shop)
        if program is None or not program.enabled or not program.tiers:
            raise ValidationError(_("Switch levels on first (dashboard → Levels)."))
        target = None
        if tier_id is not None:
            target = next((t for t in program.tiers if t.id == tier_id), None)
            if target is None:
                raise ValidationError({"tier": [_("Choose one of your levels.")]},
                                      code="not_found")
        change = _level_write(membership=membership, program=program, to=target,
                              reason=ChangeReason.OWNER, now=now, by=by, note=reason,
                              override=(reason, until))
        TierState.objects.filter(membership_id=membership.pk).update(holds_until=until)
    return change


# --- Re-evaluation ----------------------------------------------------------------------------


def _next_review(*, period: str, day: dt.date) -> dt.date:
    """After a re-evaluation on ``day``, the next one: a year on (a calendar-year level kept
    on 1 January holds through that year)."""
    if period == Period.YEAR:
        return dt.date(day.year + 1, 1, 1)
    return months_add(day, 12)


def levels_reevaluate(*, shop: Shop, now: dt.datetime | None = None) -> dict[str, int]:
    """Let levels go down where they are due: a card whose level's date (the anniversary of
    reaching it, or 1 January after the year it holds through) plus the grace days has come is
    measured over the period that ended on that date; below its level's threshold it goes
    down one level or straight to the level earned (the owner's choice), never below what it
    earns. A card still qualifying keeps its level for another period. A manual level that
    ended goes back to what the card earns now. Safe to run twice: each handled card's date
    moves on. Returns counts: checked, down, kept, manual_ended."""
    now = now or timezone.now()
    zone = shop_zone(shop.time_zone)
    today = local_date(now, zone)
    counts = {"checked": 0, "down": 0, "kept": 0, "manual_ended": 0}
    program = selectors.program_load(shop=shop)
    if program is None or not program.enabled or not program.tiers or not shop.levels_enabled:
        return counts
    by_id = {tier.id: tier for tier in program.tiers}
    review_before = today - dt.timedelta(days=program.grace_days)
    due = list(TierState.objects.filter(shop=shop, tier__isnull=False).filter(
        models_q_due(today=today, review_before=review_before)).order_by("membership_id")
        .values_list("pk", "membership_id", "tier_id", "holds_until", "override_until"))
    for start in range(0, len(due), BATCH):
        batch = due[start:start + BATCH]
        with transaction.atomic():
            cards = {m.pk: m for m in Membership.objects.select_for_update()
                     .filter(pk__in=[row[1] for row in batch]).order_by("pk")}
            windows: dict[tuple, dict[int, Decimal]] = {}
            for _pk, card_id, tier_id, holds, override in batch:
                card = cards[card_id]
                card.shop = shop
                counts["checked"] += 1
                current = by_id.get(tier_id)
                if override is not None:
                    window = (selectors.period_start(period=program.period, now=now,
                                                     zone=zone), None)
                else:
                    window = selectors.review_window(period=program.period, day=holds,
                                                     zone=zone)
                if window not in windows:
                    windows[window] = selectors.shop_measures(
                        shop=shop, measure=program.measure, start=window[0], end=window[1])
                earned = selectors.tier_for_measure(program.tiers,
                                                    windows[window].get(card_id, Decimal(0)))
                if override is not None:
                    counts["manual_ended"] += 1
                    if _rank(earned) == card.level_rank:  # earned what was set: it stays
                        TierState.objects.filter(pk=_pk).update(
                            override_reason="", override_until=None,
                            holds_until=selectors.holds_until(period=program.period,
                                                              reached=today))
                        continue
                    _level_write(membership=card, program=program, to=earned,
                                 reason=ChangeReason.REEVALUATION, now=now,
                                 note=_("The level set by hand ended."))
                    continue
                next_review = _next_review(period=program.period, day=holds)
                if _rank(earned) >= _rank(current):
                    counts["kept"] += 1
                    TierState.objects.filter(pk=_pk).update(holds_until=next_review)
                    continue
                counts["down"] += 1
                rank = (_rank(earned) if program.downgrade == Downgrade.STRAIGHT
                        else max(_rank(current) - 1, _rank(earned)))
                _level_write(membership=card, program=program, to=program.tier_of_rank(rank),
                             reason=ChangeReason.REEVALUATION, now=now)
                TierState.objects.filter(pk=_pk).update(holds_until=next_review)
    TierProgram.objects.filter(shop=shop).update(reevaluated_through=today)
    return counts


def models_q_due(*, today: dt.date, review_before: dt.date) -> Q:
    """The states due: a manual level that ended, or a level whose date and grace passed."""
    return (Q(override_until__isnull=False, override_until__lte=today)
            | Q(override_until__isnull=True, holds_until__lte=review_before))


def levels_reevaluate_due(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The hourly job: every shop with levels on whose local day has not been re-evaluated yet
    (the first run after its local midnight): re-evaluation, then the reminders. Returns
    counts: shops, down, kept, manual_ended, reminders."""
    now = now or timezone.now()
    totals = {"shops": 0, "down": 0, "kept": 0, "manual_ended": 0, "reminders": 0}
    for shop in Shop.objects.filter(levels_enabled=True).order_by("pk"):
        today = local_date(now, shop_zone(shop.time_zone))
        program = TierProgram.objects.filter(shop=shop).values("reevaluated_through").first()
        if program is None or (program["reevaluated_through"] or dt.date.min) >= today:
            continue
        counts = levels_reevaluate(shop=shop, now=now)
        totals["reminders"] += level_reminders_write(shop=shop, now=now)
        totals["shops"] += 1
        for key in ("down", "kept", "manual_ended"):
            totals[key] += counts[key]
    return totals


# --- "Your level ends on … unless you earn …", by e-mail --------------------------------------

LEVEL_REMINDER_DAYS = 30


def level_reminders_write(*, shop: Shop, now: dt.datetime | None = None) -> int:
    """The e-mail 30 days before a level's date (marketing: members with consent only), for a
    card that would go down then — short of its level's threshold in the period that counts.
    Once per card and date (the outbox's key). Returns how many were written."""
    from loyalty.services import outbox_write

    now = now or timezone.now()
    zone = shop_zone(shop.time_zone)
    today = local_date(now, zone)
    program = selectors.program_load(shop=shop)
    if program is None or not program.enabled or not program.tiers or not shop.levels_enabled:
        return 0
    by_id = {tier.id: tier for tier in program.tiers}
    due = list(TierState.objects.filter(
        shop=shop, tier__isnull=False, override_until__isnull=True,
        holds_until__gt=today, holds_until__lte=today + dt.timedelta(days=LEVEL_REMINDER_DAYS),
        membership__marketing_consent=True).exclude(membership__email="")
        .select_related("membership"))
    if not due:
        return 0
    values = selectors.shop_measures(
        shop=shop, measure=program.measure,
        start=selectors.period_start(period=program.period, now=now, zone=zone))
    written = 0
    for state in due:
        tier = by_id.get(state.tier_id)
        if tier is None or values.get(state.membership_id, Decimal(0)) >= tier.threshold:
            continue
        card = state.membership
        if outbox_write(shop=shop, kind="level_ending", to=card.email, language=card.language,
                        membership=card,
                        key=f"level_ending:{card.pk}:{state.holds_until.isoformat()}",
                        context={"tier_id": tier.id, "until": state.holds_until.isoformat()}):
            written += 1
    return written
