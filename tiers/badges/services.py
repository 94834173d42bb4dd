"""Writes for badges: the owner's badges (made from a template with its parameters, changed,
switched off), and the two effects of the core's moments — badges earned right after a purchase
(``badges_award``, in the purchase's transaction, under the card's lock) and taken back when a
refund within the pending window undoes what earned them (``badges_refund_check``)."""

from __future__ import annotations

import datetime as dt
import io
import xml.etree.ElementTree as ET  # noqa: S405 - no entities or DTDs are accepted (see below)
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty import services as loyalty_services
from loyalty import sql
from loyalty.localdays import shop_zone
from loyalty.models import EntryKind, Membership, Purchase, Refund, Shop
from loyalty.selectors import api_keys_forget
from loyalty.services import points_display

from .. import selectors as level_selectors
from .. import services as level_services
from ..models import Measure
from . import selectors
from .models import (
    BUILTIN_ICONS,
    MAX_BADGE_BONUS,
    TEMPLATE_PARAMETERS,
    Badge,
    BadgeAward,
    BadgeTemplate,
)

MAX_COUNT = 1000
MAX_CHALLENGE_DAYS = 366
MAX_ICON_BYTES = 100 * 1024
# What an uploaded SVG icon may hold: shapes and their styling, nothing that runs, loads or
# embeds (it is shown with <img>, where scripts do not run anyway; this keeps the file clean
# wherever it is opened).
SVG_ELEMENTS = {
    "svg", "g", "path", "circle", "ellipse", "rect", "line", "polyline", "polygon", "title",
    "desc", "defs", "lineargradient", "radialgradient", "stop", "clippath", "mask", "use",
    "symbol", "text", "tspan",
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --- The owner's badges ------------------------------------------------------------------------


def _count_clean(template: str, value) -> int:
    words = {
        BadgeTemplate.VISITS: _("Enter how many visits earn the badge: a whole number from 1 "
                                "to %(max)s."),
        BadgeTemplate.WEEK_STREAK: _("Enter how many weeks in a row: a whole number from 1 to "
                                     "%(max)s."),
        BadgeTemplate.WEEKDAYS: _("Enter on how many different weekdays: 1 to 7."),
        BadgeTemplate.CATEGORIES: _("Enter from how many product categories: a whole number "
                                    "from 1 to %(max)s."),
        BadgeTemplate.REFERRALS: _("Enter how many friends: a whole number from 1 to %(max)s."),
    }
    high = 7 if template == BadgeTemplate.WEEKDAYS else MAX_COUNT
    message = words[template] % {"max": points_display(high)}
    if isinstance(value, bool):
        raise ValidationError({"count": [message]})
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError({"count": [message]}) from None
    if not 1 <= number <= high:
        raise ValidationError({"count": [message]})
    return number


def _amount_clean(value) -> Decimal:
    try:
        amount = loyalty_services.money_parse(value, field="amount")
    except ValidationError:
        raise ValidationError({"amount": [_(
            "Enter the amount to spend, e.g. 50 or 49.95 (at most two decimals).")]}) from None
    return amount


def _days_clean(value) -> int:
    message = _("Enter how many days the challenge runs: 1 to %(max)s.") % {
        "max": MAX_CHALLENGE_DAYS}
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError({"days": [message]}) from None
    if isinstance(value, bool) or not 1 <= days <= MAX_CHALLENGE_DAYS:
        raise ValidationError({"days": [message]})
    return days


def _bonus_clean(value) -> int:
    message = _("Enter the bonus points as a whole number from 0 to %(max)s.") % {
        "max": points_display(MAX_BADGE_BONUS)}
    if value in (None, ""):
        return 0
    try:
        points = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError({"bonus_points": [message]}) from None
    if isinstance(value, bool) or not 0 <= points <= MAX_BADGE_BONUS:
        raise ValidationError({"bonus_points": [message]})
    return points


def badge_icon_validate(upload) -> None:
    """An uploaded icon: a PNG or an SVG of at most 100 KB; an SVG only of shapes (no scripts,
    event handlers, links to elsewhere, entities or embedded documents)."""
    name = (getattr(upload, "name", "") or "").lower()
    size = getattr(upload, "size", None) or 0
    if size == 0:
        raise ValidationError({"icon_upload": [_("That file is empty: choose another icon.")]})
    if size > MAX_ICON_BYTES:
        raise ValidationError({"icon_upload": [_(
            "An icon may be 100 KB at most: this one is larger.")]})
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    if name.endswith(".png"):
        if not data.startswith(PNG_SIGNATURE):
            raise ValidationError({"icon_upload": [_("That file is not a PNG image.")]})
        from PIL import Image

        try:
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
        except Exception:  # noqa: BLE001 - Pillow raises many kinds for a broken file
            raise ValidationError({"icon_upload": [_(
                "That PNG image is damaged: choose another.")]}) from None
        return
    if name.endswith(".svg"):
        _svg_check(data)
        return
    raise ValidationError({"icon_upload": [_("Upload an SVG or PNG icon.")]})


def _svg_check(data: bytes) -> None:
    refused = ValidationError({"icon_upload": [_(
        "This SVG holds more than shapes (scripts, links, embedded files or entities): save "
        "it as plain shapes, or choose a built-in icon.")]})
    text = data.decode("utf-8", errors="replace")
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise refused
    try:
        root = ET.fromstring(data)  # noqa: S314 - no DTD passed the check above
    except ET.ParseError:
        raise ValidationError({"icon_upload": [_(
            "That file is not a valid SVG image.")]}) from None
    if root.tag.rsplit("}", 1)[-1].lower() != "svg":
        raise ValidationError({"icon_upload": [_("That file is not a valid SVG image.")]})
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1].lower() if isinstance(element.tag, str) else ""
        if tag not in SVG_ELEMENTS:
            raise refused
        for attribute, value in element.attrib.items():
            local = attribute.rsplit("}", 1)[-1].lower()
            if local.startswith("on"):
                raise refused
            if local == "href" and not value.strip().startswith("#"):
                raise refused
            if "url(" in value.replace(" ", "").lower() and "url(#" not in value.replace(
                    " ", "").lower():
                raise refused


def _badge_values_clean(*, template: str, name, icon, icon_upload, count, amount, days,
                        starts_on, hidden, bonus_points, active, had_upload: bool) -> dict:
    """The badge's fields from what the owner gave, or a ValidationError naming every bad field
    in our own words. A parameter the template does not take is dropped, never stored."""
    errors: dict[str, list[str]] = {}
    if template not in TEMPLATE_PARAMETERS:
        raise ValidationError({"template": [_("Choose what earns the badge.")]})
    needs = TEMPLATE_PARAMETERS[template]
    values = {"template": template, "count": None, "amount": None, "days": None,
              "starts_on": None, "hidden": False}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Give the badge a name, e.g. “Regular”.")]
    elif len(name) > 60:
        errors["name"] = [_("Keep the name to 60 characters.")]
    values["name"] = name
    icon = (icon or "").strip()
    if icon and icon not in BUILTIN_ICONS:
        errors["icon"] = [_("Choose one of the icons shown.")]
    elif not icon and not icon_upload and not had_upload:
        errors["icon"] = [_("Choose an icon, or upload your own.")]
    values["icon"] = icon
    if icon_upload:
        try:
            badge_icon_validate(icon_upload)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    for part, clean in (("count", lambda v: _count_clean(template, v)),
                        ("amount", _amount_clean), ("days", _days_clean)):
        if part not in needs:
            continue
        given = {"count": count, "amount": amount, "days": days}[part]
        try:
            values[part] = clean(given)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "starts_on" in needs:
        if not isinstance(starts_on, dt.date):
            errors["starts_on"] = [_("Enter the day the challenge starts.")]
        else:
            values["starts_on"] = starts_on
        values["hidden"] = bool(hidden)
    try:
        values["bonus_points"] = _bonus_clean(bonus_points)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    values["active"] = bool(active)
    if errors:
        raise ValidationError(errors)
    return values


def badge_create(*, shop: Shop, template: str, name: str, icon: str = "", icon_upload=None,
                 count=None, amount=None, days=None, starts_on: dt.date | None = None,
                 hidden: bool = False, bonus_points=0, active: bool = True) -> Badge:
    """A new badge of ``shop`` from a template and its parameters; bad input changes nothing."""
    values = _badge_values_clean(
        template=template, name=name, icon=icon, icon_upload=icon_upload, count=count,
        amount=amount, days=days, starts_on=starts_on, hidden=hidden,
        bonus_points=bonus_points, active=active, had_upload=False)
    badge = Badge(shop=shop, **values)
    if icon_upload:
        badge.icon_upload = icon_upload
    badge.save()
    _badges_enabled_write(shop=shop)
    return badge


def badge_update(*, shop: Shop, badge_id: int, name: str, icon: str = "", icon_upload=None,
                 count=None, amount=None, days=None, starts_on: dt.date | None = None,
                 hidden: bool = False, bonus_points=0, active: bool = True) -> Badge:
    """Change a badge's name, icon, parameters and bonus (not its template). Badges already
    earned stay earned; the new parameters count from the next purchase."""
    badge = Badge.objects.for_shop(shop).filter(pk=badge_id).first()
    if badge is None:
        raise ValidationError(_("No such badge at this shop."), code="not_found")
    values = _badge_values_clean(
        template=badge.template, name=name, icon=icon, icon_upload=icon_upload, count=count,
        amount=amount, days=days, starts_on=starts_on, hidden=hidden,
        bonus_points=bonus_points, active=active, had_upload=bool(badge.icon_upload))
    for key, value in values.items():
        setattr(badge, key, value)
    if icon_upload:
        badge.icon_upload = icon_upload
    elif values["icon"]:
        badge.icon_upload = ""  # a built-in icon chosen instead of the upload
    badge.save()
    _badges_enabled_write(shop=shop)
    return badge


def badge_set_active(*, shop: Shop, badge_id: int, active: bool) -> Badge:
    """Switch a badge on or off. Off: nobody earns it any more; who earned it keeps it."""
    updated = Badge.objects.for_shop(shop).filter(pk=badge_id).update(active=active)
    if not updated:
        raise ValidationError(_("No such badge at this shop."), code="not_found")
    _badges_enabled_write(shop=shop)
    return Badge.objects.get(pk=badge_id)


def _badges_enabled_write(*, shop: Shop) -> None:
    """Keep the shop's ``badges_enabled`` (what the earn's badges effect reads with the shop)
    true exactly while it has an active badge; the API keys' cached shop rows are dropped."""
    enabled = Badge.objects.for_shop(shop).filter(active=True).exists()
    if enabled != shop.badges_enabled:
        Shop.objects.filter(pk=shop.pk).update(badges_enabled=enabled)
        shop.badges_enabled = enabled
    selectors.badges_forget(shop=shop)
    api_keys_forget()


# --- The purchase moment -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """What a purchase's badges need read: the badges it may award, whether the categories
    count, and the level's measure (its program and period start) when a level may follow."""

    candidates: list
    categories: bool
    program: object | None
    start: dt.datetime | None


def _plan(*, purchase: Purchase, membership: Membership, now: dt.datetime) -> _Plan | None:
    shop = purchase.shop
    if not shop.badges_enabled:  # loaded with the shop: no badges, no query
        return None
    candidates = [
        badge for badge in selectors.badges_active(shop=shop)
        if badge.template != BadgeTemplate.REFERRALS
        and (not badge.is_challenge or selectors.challenge_running(badge, shop, now))
    ]
    if not candidates:
        return None
    program = level_selectors.program_active(shop=shop)
    start = None
    if program is not None and membership.level_rank < len(program.tiers):
        start = level_selectors.period_start(period=program.period, now=now,
                                             zone=shop_zone(shop.time_zone))
    else:
        program = None
    return _Plan(candidates=candidates, program=program, start=start, categories=any(
        badge.template == BadgeTemplate.CATEGORIES for badge in candidates))


def _facts_statement(plan: _Plan, *, membership: Membership, shop: Shop,
                     new_categories: list[str] | None = None) -> tuple[str, list]:
    measure = None
    if plan.program is not None:
        measure = level_selectors.measure_statement(
            membership=membership, shop=shop, measure=plan.program.measure, start=plan.start,
            in_earn=new_categories is not None)
    return selectors.facts_statement(membership=membership, shop=shop, held=True,
                                     measure=measure, categories=plan.categories,
                                     new_categories=new_categories)


EARN_READ = "tiers.badges.services.earn_read"


def earn_read(*, purchase: Purchase, membership: Membership, now: dt.datetime, items):
    """The read asked of the earn's own statement (settings.TROUW_EARN_READS): the member's
    history with this purchase, the badges held and the level's measure, which
    ``badges_award`` would otherwise read in a statement of its own. None when the purchase
    can award no badge. The plan it was built for is kept on the purchase for the award."""
    plan = purchase.badges_plan = _plan(purchase=purchase, membership=membership, now=now)
    if plan is None:
        return None
    kept = purchase.amount > 0  # a new purchase counts unless it is of nothing
    return _facts_statement(plan, membership=membership, shop=purchase.shop, new_categories=[
        item.category for item in items if item.category] if kept else [])


_UNPLANNED = object()


def badges_award(*, purchase: Purchase) -> list[BadgeAward]:
    """The purchase effect (settings.TROUW_EFFECTS["purchase"]): every active badge of the shop
    the member now meets, awarded in the purchase's transaction under the card's lock (taken by
    the earn), with its bonus pending like the purchase's points, and "New badge: …" added to
    the purchase's news. A constant number of queries whatever the number of badges: the
    shop's badges are kept per process (``selectors.badges_active``), and the member's
    history with the badges held is read in the earn's own statement (``earn_read``) or, where
    that was not asked (SQLite, a purchase without points), in one statement here; then the
    awards' writes."""
    membership = purchase.membership
    if membership is None:
        return []
    shop = membership.shop
    now = purchase.created_at or timezone.now()
    # What the earn's statement read for this effect holds only right after it: taken once.
    plan = purchase.__dict__.pop("badges_plan", _UNPLANNED)
    read = getattr(purchase, "earn_reads", {}).pop(EARN_READ, None)
    if plan is _UNPLANNED:
        plan = _plan(purchase=purchase, membership=membership, now=now)
    if plan is None:
        return []
    # The level decided next (tiers.services.purchase_level_up) needs the card's measure: it
    # is read in the same round trip and handed on, with this purchase's badge bonuses added.
    if read is not None:
        facts = selectors.facts_from_rows(read)
    else:
        facts = selectors.facts_from_rows(sql.fetch_all(
            *_facts_statement(plan, membership=membership, shop=shop)))
    earned = [badge for badge in plan.candidates
              if badge.pk not in facts.held and selectors.badge_progress(badge, facts).done]
    if plan.program is not None:
        program = plan.program
        value = level_selectors.measure_value(program.measure, facts.measure)
        if program.measure == Measure.POINTS:
            value += sum(badge.bonus_points for badge in earned)
        purchase.level_measure = (program.measure, value)
    if not earned:
        return []
    return _awards_write(purchase=purchase, membership=membership, badges=earned, now=now)


def badges_referral_award(*, membership: Membership, count: int) -> list[BadgeAward]:
    """The referral effect (settings.TROUW_EFFECTS["referral"], announced by the referrals once
    they exist, with the card locked in their transaction): every active "friends referred"
    badge of the shop whose number ``count`` reaches, awarded once, with its bonus pending
    like a purchase's points (the shop's pending days from now)."""
    shop = membership.shop
    if not shop.badges_enabled:
        return []
    candidates = [badge for badge in selectors.badges_active(shop=shop)
                  if badge.template == BadgeTemplate.REFERRALS]
    if not candidates:
        return []
    facts = selectors.MemberFacts(referrals=count, held=set(
        BadgeAward.objects.filter(membership_id=membership.pk, revoked_at__isnull=True)
        .values_list("badge_id", flat=True)))
    earned = [badge for badge in candidates
              if badge.pk not in facts.held and selectors.badge_progress(badge, facts).done]
    if not earned:
        return []
    return _awards_write(purchase=None, membership=membership, badges=earned,
                         now=timezone.now(), reason=f"referrals-{count}")


def _awards_write(*, purchase: Purchase | None, membership: Membership, badges: list[Badge],
                  now: dt.datetime, reason: str = "") -> list[BadgeAward]:
    """The awards and their bonus entries: at a purchase, pending with its points; else (the
    referrals') pending for the shop's pending days from ``now``, keyed by ``reason``."""
    terms = None
    awards = []
    if purchase is not None:
        rules, available_at = purchase.rules, purchase.points_available_at
        key = purchase.pk
    else:
        rules = loyalty_services.program_rules_current(shop=membership.shop)
        available_at, key = now + dt.timedelta(days=rules.pending_days), reason
    for badge in badges:
        entry = None
        if badge.bonus_points:
            if terms is None:
                terms = loyalty_services.lot_terms(
                    rules=rules, time_zone=membership.shop.time_zone, earned_at=now,
                    available_at=available_at)
            entry = loyalty_services.points_credit_locked(
                membership=membership, points=badge.bonus_points, kind=EntryKind.BADGE,
                available_at=available_at, terms=terms, purchase=purchase,
                note=badge.name[:200], reference=f"tiers.badge:{badge.pk}",
                idempotency_key=f"badge:{membership.pk}:{badge.pk}:{key}")
        awards.append(BadgeAward(shop_id=membership.shop_id, badge=badge,
                                 membership=membership, purchase=purchase, entry=entry))
        news = getattr(purchase, "news", None)
        if news is not None:
            # The icon is for the counter's line (the API answers kind and text only).
            news.append({"kind": "badge",
                         "text": _("New badge: %(name)s") % {"name": badge.name},
                         **selectors.badge_icon_news(badge)})
    # Plain SQL (loyalty.sql): one statement for the awards, written on the earn's path.
    return sql.insert_many(awards)


# --- The refund moment -------------------------------------------------------------------------


def badges_refund_check(*, refund: Refund) -> list[BadgeAward]:
    """The refund effect (settings.TROUW_EFFECTS["refund"]): a refund within the purchase's
    pending window takes back each badge that purchase completed and that no longer holds, with
    its bonus (a reversal entry the member sees); so does the counter's undo of it in a shop
    without a pending window (the same rule as the level's: ``tiers.services.refund_in_window``).
    After the window the badges stay."""
    purchase = refund.purchase
    if purchase.membership_id is None or not level_services.refund_in_window(refund, purchase):
        return []
    at = refund.created_at or timezone.now()
    awards = list(BadgeAward.objects.filter(purchase=purchase, revoked_at__isnull=True)
                  .select_related("badge", "entry"))
    if not awards:
        return []
    shop = Shop.objects.get(pk=purchase.shop_id)
    # Locked already by the refund (the card first): this only reads the row as it is now.
    membership = loyalty_services.membership_lock(shop=shop, membership_id=purchase.membership_id)
    facts = selectors.member_facts(
        membership=membership, shop=shop,
        categories=any(a.badge.template == BadgeTemplate.CATEGORIES for a in awards))
    taken_back = []
    for award in awards:
        if selectors.badge_progress(award.badge, facts).done:
            continue
        reversal = None
        if award.entry is not None:
            reversal = loyalty_services.points_take_back_locked(
                membership=membership, entry=award.entry, purchase=purchase,
                note=award.badge.name[:200], reference=f"tiers.badge:{award.badge_id}",
                idempotency_key=f"badge-back:{award.pk}")
        BadgeAward.objects.filter(pk=award.pk).update(revoked_at=at, reversal=reversal)
        award.revoked_at, award.reversal = at, reversal
        taken_back.append(award)
    return taken_back


__all__ = [
    "badge_create", "badge_icon_validate", "badge_set_active", "badge_update",
    "badges_award", "badges_refund_check",
]
