"""Reads of the charity app: a shop's program and charities, a member's current charity, the
months' totals from the ledger, statements, their CSV, and the ledger's reconciliation."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, InvalidOperation

from django.db.models import Count, F, Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.kept import KeptPerShop
from loyalty.localdays import local_date, months_add, shop_zone

from .models import (
    Charity,
    CharityChoice,
    CharityProgram,
    Donation,
    DonationKind,
    FundedBy,
    Split,
    Statement,
)

ZERO = Decimal("0.00")


def month_of(instant: dt.datetime, time_zone: str) -> dt.date:
    """The first day of the month ``instant`` falls in, on the shop's clock."""
    return local_date(instant, shop_zone(time_zone)).replace(day=1)


def program_for(*, shop) -> CharityProgram | None:
    return CharityProgram.objects.filter(shop=shop).first()


@dataclass(frozen=True)
class ProgramView:
    """The shop's program and its charities (all of them, by id, in the order they were
    added), as the earn's donation reads them: kept per process and checked on every purchase
    against the program's ``updated_at`` (which every change of the program or a charity
    moves), so a purchase never gives by settings that have changed."""

    program: CharityProgram
    charities: dict[int, Charity]

    @property
    def updated_at(self) -> dt.datetime:
        return self.program.updated_at


def _program_view_load(*, shop) -> ProgramView | None:
    program = program_for(shop=shop)
    if program is None:
        return None
    return ProgramView(program=program, charities={
        charity.pk: charity for charity in Charity.objects.filter(shop=shop).order_by("pk")})


_kept_programs: KeptPerShop[ProgramView | None] = KeptPerShop(_program_view_load)


def program_view(*, shop, updated_at: dt.datetime | None = None) -> ProgramView | None:
    """The shop's program and charities; with ``updated_at`` (the program row's, read under
    the purchase's lock), loaded again unless the kept copy is that version."""
    view = _kept_programs.get(shop)
    if updated_at is not None and (view is None or view.updated_at != updated_at):
        _kept_programs.forget(shop)
        view = _kept_programs.get(shop)
    return view


def program_view_forget(*, shop) -> None:
    _kept_programs.forget(shop)


def recipients_of(*, charities, split: str, chosen_id: int | None = None) -> list[Charity]:
    """Who a gift goes to: the member's chosen charity (``chosen_id``) while it is active,
    else the default, else (or when the owner prefers it) all active charities evenly."""
    chosen = charities.get(chosen_id) if chosen_id is not None else None
    if chosen is not None and chosen.active:
        return [chosen]
    active = [charity for charity in charities.values() if charity.active]
    if split == Split.DEFAULT:
        default = [charity for charity in active if charity.is_default]
        if default:
            return default[:1]
    return active


def charities_for_shop(*, shop, active_only: bool = False):
    charities = Charity.objects.for_shop(shop)
    return charities.filter(active=True) if active_only else charities


def membership_charity_choice(*, membership) -> CharityChoice | None:
    """The member's latest choice (its charity with it), whatever the charity's state now."""
    return (CharityChoice.objects.filter(membership_id=membership.pk).select_related("charity")
            .order_by("-chosen_at", "-pk").first())


def roundup_amount(amount) -> Decimal:
    """What rounds ``amount`` up to the next whole unit (27.40 → 0.60); an exact amount is not
    rounded (28.00 → 0.00)."""
    amount = Decimal(amount)
    return (amount.to_integral_value(rounding=ROUND_CEILING) - amount).quantize(Decimal("0.01"))


def counter_donation_offer(*, membership, amount=None) -> dict | None:
    """What the counter's earn form offers a card's customer (settings
    TROUW_COUNTER_DONATION_OFFER): None when the shop's program is off (no query then);
    else the charity the gift would go to now (the member's while active, else the default,
    else all active ones), the largest gift, and for a typed ``amount`` the round-up and what
    it rounds to (``round_up`` 0: an exact amount is not rounded; None: not an amount)."""
    shop = membership.shop
    if not shop.charity_enabled:
        return None
    program = program_for(shop=shop)
    if program is None or not program.enabled:
        return None
    choice = membership_charity_choice(membership=membership)
    if choice is not None and choice.charity.active:
        names = [choice.charity.name]
    else:
        active = list(charities_for_shop(shop=shop, active_only=True).order_by("pk"))
        default = [c for c in active if c.is_default and program.split == Split.DEFAULT]
        names = [c.name for c in (default[:1] or active)]
    if not names:
        return None
    offer = {"charity": ", ".join(names), "max": program.round_up_max,
             "currency": shop.currency, "round_up": None, "rounded": None,
             "chosen": choice.charity if choice is not None else None}
    try:
        typed = Decimal(str(amount).strip().replace(",", ".")) if amount not in (None, "") else None
    except InvalidOperation:
        typed = None
    if typed is not None and typed.is_finite() and typed > 0 and typed.as_tuple().exponent >= -2:
        offer["round_up"] = roundup_amount(typed)
        offer["rounded"] = typed + offer["round_up"]
    return offer


def first_open_month(*, program: CharityProgram, shop) -> dt.date | None:
    """The month the owner may close next: the one after the last closed, or the earliest
    with donations (None: nothing to close yet)."""
    if program.closed_through is not None:
        return months_add(program.closed_through, 1)
    first = (Donation.objects.filter(shop=shop).order_by("month")
             .values_list("month", flat=True).first())
    return first


def month_is_closed(*, program: CharityProgram | None, month: dt.date) -> bool:
    return bool(program and program.closed_through and month <= program.closed_through)


# The lines a statement counts as donations: the gifts, not what was taken back of them.
GIFTS = ~Q(kind=DonationKind.REVERSAL)


def month_totals(*, shop, month: dt.date) -> list[dict]:
    """Per charity, from the ledger: the month's number of gifts (a reversal is not a
    donation), what the shop and what customers gave (net of what was taken back in it), and
    when the last of it is payable (the end of its purchase's return window)."""
    rows = (Donation.objects.filter(shop=shop, month=month).values("charity")
            .annotate(count=Count("pk", filter=GIFTS),
                      shop_funded=Sum("amount", filter=Q(funded_by=FundedBy.SHOP)),
                      customer_funded=Sum("amount", filter=Q(funded_by=FundedBy.CUSTOMER)),
                      payable_from=Max("payable_at"))
            .order_by("charity"))
    names = {c.pk: c for c in Charity.objects.filter(pk__in=[r["charity"] for r in rows])}
    return [{"charity": names[r["charity"]], "count": r["count"],
             "shop_funded": r["shop_funded"] or ZERO,
             "customer_funded": r["customer_funded"] or ZERO,
             "total": (r["shop_funded"] or ZERO) + (r["customer_funded"] or ZERO),
             "payable_from": r["payable_from"]}
            for r in rows]


def months_overview(*, shop) -> list[dict]:
    """Every month with donations or statements, newest first, with whether it is closed."""
    program = program_for(shop=shop)
    months = set(Donation.objects.filter(shop=shop).values_list("month", flat=True).distinct())
    months |= set(Statement.objects.filter(shop=shop).values_list("month", flat=True))
    return [{"month": month, "closed": month_is_closed(program=program, month=month)}
            for month in sorted(months, reverse=True)]


def statements_for_month(*, shop, month: dt.date):
    return (Statement.objects.filter(shop=shop, month=month).select_related("charity")
            .order_by("charity__name"))


def statement_payable_on(statement: Statement, *, shop) -> dt.date:
    """The day, on the shop's clock, from which the statement can be paid."""
    return local_date(statement.payable_from, shop_zone(shop.time_zone))


def statement_for_shop(*, shop, statement_id: int) -> Statement | None:
    return Statement.objects.filter(shop=shop, pk=statement_id).select_related("charity").first()


def statements_csv(*, shop, month: dt.date) -> str:
    """The closed month's statements as CSV, one line per charity (headers in the active
    language, amounts with a decimal point)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Month"), _("Charity"), _("Registration"), _("Donations"),
                     _("Given by the shop"), _("Given by customers"), _("Total"),
                     _("Currency"), _("Closed at"), _("Payable from"), _("Paid on"),
                     _("Payment reference")])
    for statement in statements_for_month(shop=shop, month=month):
        charity = statement.charity
        writer.writerow([
            f"{statement.month:%Y-%m}", charity.name,
            f"{charity.get_registration_kind_display()} {charity.registration_number}".strip()
            if charity.registration_kind else "",
            statement.donations_count, f"{statement.shop_funded:.2f}",
            f"{statement.customer_funded:.2f}", f"{statement.total:.2f}", statement.currency,
            statement.closed_at.isoformat(timespec="seconds"),
            statement_payable_on(statement, shop=shop).isoformat(),
            statement.paid_on.isoformat() if statement.paid_on else "",
            statement.paid_reference,
        ])
    return out.getvalue()


def donations_reconcile(*, shop=None) -> list[str]:
    """What does not add up, in words for the operator (empty: all is well): a closed
    statement against the ledger's lines of its month and charity, a line of a closed month
    in no statement (of its charity and month), a gift taken back more than it gave, a line
    in another currency than its shop's, a line in a closed month written after the month was
    closed."""
    problems = []
    statements = Statement.objects.select_related("shop")
    donations = Donation.objects.all()
    programs = CharityProgram.objects.filter(closed_through__isnull=False)
    if shop is not None:
        statements, donations = statements.filter(shop=shop), donations.filter(shop=shop)
        programs = programs.filter(shop=shop)
    closed_through = dict(programs.values_list("shop_id", "closed_through"))
    sums = {(r["charity"], r["month"]): r for r in donations.values(
        "shop", "charity", "month").annotate(
        count=Count("pk", filter=GIFTS), lines=Count("pk"),
        shop_funded=Sum("amount", filter=Q(funded_by=FundedBy.SHOP)),
        customer_funded=Sum("amount", filter=Q(funded_by=FundedBy.CUSTOMER)))}
    held_keys = set()
    for statement in statements:
        held_keys.add((statement.charity_id, statement.month))
        row = sums.get((statement.charity_id, statement.month), {})
        found = (row.get("count", 0), row.get("shop_funded") or ZERO,
                 row.get("customer_funded") or ZERO)
        held = (statement.donations_count, statement.shop_funded, statement.customer_funded)
        if found != held:
            problems.append(f"statement {statement.pk} ({statement.month:%Y-%m}, charity "
                            f"{statement.charity_id}): holds {held}, the ledger {found}")
        late = donations.filter(charity_id=statement.charity_id, month=statement.month,
                                created_at__gt=statement.closed_at).count()
        if late:
            problems.append(f"statement {statement.pk}: {late} line(s) written after the close")
    for (charity_id, month), row in sorted(sums.items(), key=lambda item: (item[0][1],
                                                                           item[0][0])):
        last_closed = closed_through.get(row["shop"])
        if last_closed is not None and month <= last_closed and (
                (charity_id, month) not in held_keys):
            problems.append(f"charity {charity_id}: {row['lines']} line(s) of the closed month "
                            f"{month:%Y-%m} in no statement")
    over = (donations.filter(kind=DonationKind.REVERSAL).values("reverses")
            .annotate(taken=Sum("amount")))
    gifts = dict(Donation.objects.filter(pk__in=[r["reverses"] for r in over])
                 .values_list("pk", "amount"))
    for row in over:
        if -row["taken"] > gifts[row["reverses"]]:
            problems.append(f"donation {row['reverses']}: {-row['taken']} taken back of "
                            f"{gifts[row['reverses']]}")
    for donation in donations.exclude(currency=F("shop__currency")).values("pk"):
        problems.append(f"donation {donation['pk']}: not in its shop's currency")
    return problems


def _impact_rows(donations) -> list[dict]:
    """Per charity: what the shop and what the customer gave, net of what was taken back."""
    rows = (donations.values("charity", "charity__name")
            .annotate(shop_funded=Sum("amount", filter=Q(funded_by=FundedBy.SHOP)),
                      customer_funded=Sum("amount", filter=Q(funded_by=FundedBy.CUSTOMER)))
            .order_by("charity__name", "charity"))
    result = []
    for row in rows:
        shop_funded, customer_funded = (row["shop_funded"] or ZERO,
                                        row["customer_funded"] or ZERO)
        result.append({"charity_id": row["charity"], "name": row["charity__name"],
                       "shop_funded": shop_funded, "customer_funded": customer_funded,
                       "total": shop_funded + customer_funded})
    return result


def membership_impact(*, membership, year: int | None = None) -> list[dict]:
    """What the member's purchases, round-ups and points have given, per charity (for the
    portal's "My impact"; ``year``: the yearly summary, on the shop's clock)."""
    donations = Donation.objects.filter(membership_id=membership.pk)
    if year is not None:
        donations = donations.filter(month__year=year)
    return _impact_rows(donations)


def shop_impact(*, shop, month: dt.date | None = None) -> list[dict]:
    """The shop's totals per charity, all time or of one month: no personal data (for the
    public impact page)."""
    donations = Donation.objects.filter(shop=shop)
    if month is not None:
        donations = donations.filter(month=month)
    return _impact_rows(donations)


# Which gift a line counts under on the member's pages: a reversal under the gift it takes back.
IMPACT_KINDS = (DonationKind.SHOP_SHARE.value, DonationKind.ROUND_UP.value,
                DonationKind.POINTS.value)


def membership_impact_detail(*, membership, year: int | None = None) -> dict:
    """The member's "My impact", from the ledger: per charity and per month what their
    purchases (given by the shop), their round-ups (their own money) and their points (given by
    the shop) gave, net of what was taken back, and what was taken back. Only what was given:
    a share over the monthly cap was never written, so it never shows."""
    donations = Donation.objects.filter(membership_id=membership.pk)
    if year is not None:
        donations = donations.filter(month__year=year)
    rows = (donations.values("charity", "charity__name", "month", "kind", "reverses__kind")
            .annotate(amount=Sum("amount")).order_by())
    charities: dict[int, dict] = {}
    months: dict[dt.date, dict] = {}
    totals = _impact_blank()
    for row in rows:
        kind = row["reverses__kind"] if row["kind"] == DonationKind.REVERSAL else row["kind"]
        charity = charities.setdefault(row["charity"], {
            "charity_id": row["charity"], "name": row["charity__name"], **_impact_blank()})
        month = months.setdefault(row["month"], {"month": row["month"], **_impact_blank()})
        for bucket in (charity, month, totals):
            bucket[kind] += row["amount"]
            bucket["total"] += row["amount"]
            if row["kind"] == DonationKind.REVERSAL:
                bucket["taken_back"] -= row["amount"]
    ordered_months = sorted(months.values(), key=lambda m: m["month"])
    peak = max((m["total"] for m in ordered_months), default=ZERO)
    for month in ordered_months:
        month["percent"] = int(month["total"] * 100 / peak) if peak > 0 else 0
    return {"charities": sorted(charities.values(), key=lambda c: (c["name"], c["charity_id"])),
            "months": ordered_months, "totals": totals}


def member_overview(*, membership) -> dict:
    """The charity part of the owner's page of a member: whom they give to now (as the counter
    says it; None while the program is off), their last choices, what they gave per charity
    (``membership_impact_detail``) and their gifts of points (each with whether it was taken
    back)."""
    return {
        "offer": counter_donation_offer(membership=membership),
        "choices": list(CharityChoice.objects.filter(membership_id=membership.pk)
                        .select_related("charity").order_by("-chosen_at", "-pk")[:10]),
        "impact": membership_impact_detail(membership=membership),
        "points_gifts": list(Donation.objects.filter(
            membership_id=membership.pk, kind=DonationKind.POINTS)
            .select_related("charity").prefetch_related("reversals")
            .order_by("-created_at", "-pk")[:20]),
    }


def _impact_blank() -> dict:
    return {**dict.fromkeys(IMPACT_KINDS, ZERO), "taken_back": ZERO, "total": ZERO}


def membership_impact_years(*, membership) -> list[int]:
    """The years (on the shop's clock) in which the member's donations count, newest first."""
    months = (Donation.objects.filter(membership_id=membership.pk)
              .values_list("month", flat=True).distinct())
    return sorted({month.year for month in months}, reverse=True)


def shop_impact_overview(*, shop, now: dt.datetime | None = None) -> dict:
    """The public impact page's figures: per charity of the shop (the active ones, and any
    other that was given to), all time and this month on the shop's clock. No personal data."""
    this_month = month_of(now or timezone.now(), shop.time_zone)
    all_time = {row["charity_id"]: row for row in shop_impact(shop=shop)}
    month = {row["charity_id"]: row for row in shop_impact(shop=shop, month=this_month)}
    charities = [c for c in Charity.objects.for_shop(shop) if c.active or c.pk in all_time]
    rows = [{"charity": c, "all_time": all_time.get(c.pk, {}).get("total", ZERO),
             "this_month": month.get(c.pk, {}).get("total", ZERO),
             "customer_funded": all_time.get(c.pk, {}).get("customer_funded", ZERO),
             "shop_funded": all_time.get(c.pk, {}).get("shop_funded", ZERO)}
            for c in charities]
    return {"month": this_month, "rows": rows,
            "all_time": sum((r["all_time"] for r in rows), ZERO),
            "this_month": sum((r["this_month"] for r in rows), ZERO)}
