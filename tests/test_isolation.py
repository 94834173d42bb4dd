"""Shop data isolation, proven for every URL pattern there is.

The test walks Django's URL resolver, so a new URL is covered the moment it is added: a view that
declares no audience (see ``loyalty/access.py``) fails here, and every non-public view is opened
with GET and POST as people who must not see the shop's data. They must get a redirect to sign-in
(anonymous), 403 or 404 — and nothing in the database may change.

Those requests name the victim shop in the URL. Two more kinds name it only in what they point
at: a shop's own pages (its slug) with another shop's ids, and API requests with one shop's key
and valid bodies that name another shop's card, purchase, reward or voucher. Each must be
refused as "not found" (403 where that is the answer) and change nothing, in either shop — and
each API request, sent with the key's own shop's objects instead, succeeds, so it was the shop
check that stopped it, not the input's validation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from charity.models import Charity, CharityChoice, CharityProgram, Donation, Statement
from charity.services import (
    charity_create,
    membership_charity_choose,
    points_donate,
    program_configure,
)
from charity.services import (
    program_input_clean as charity_program_input_clean,
)
from loyalty.access import AUDIENCE_ATTR, Audience
from loyalty.models import (
    ApiKey,
    ApiKeyScope,
    IdempotentRequest,
    LedgerEntry,
    Membership,
    PointLot,
    ProgramRules,
    Purchase,
    PurchaseItem,
    Refund,
    Shop,
    StaffInvitation,
    StaffMember,
    User,
)
from loyalty.services import api_key_create, purchase_record, staff_invitation_token
from rewards.models import Reward, Voucher
from rewards.services import reward_create, voucher_claim
from tests.factories import (
    MembershipFactory,
    OwnerFactory,
    ShopFactory,
    StaffInvitationFactory,
    StaffMemberFactory,
    UserFactory,
)
from tests.helpers import assert_error
from tiers.badges.models import Badge, BadgeAward
from tiers.badges.services import badge_create
from tiers.models import LevelChange, Tier, TierProgram, TierState
from tiers.services import program_input_clean, program_save

DENIED = {403, 404}


def walk(resolver=None, prefix="", namespace=""):
    """Yield (route, full url name or None, pattern, namespace) for every leaf URL pattern."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            child_ns = ":".join(part for part in (namespace, ns) if part)
            yield from walk(entry, prefix + str(entry.pattern), child_ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield prefix + str(entry.pattern), name, entry, namespace


def audience_of(pattern: URLPattern, namespace: str) -> str:
    if namespace == "admin" and pattern.name in ("login", "logout"):
        return "auth"  # the operator's sign-in form
    if namespace == "admin":
        return "admin"
    module = getattr(pattern.callback, "__module__", "") or ""
    if module.startswith("allauth."):
        return "auth"
    return getattr(pattern.callback, AUDIENCE_ATTR, "")


@pytest.fixture
def victim(db):
    """A shop with every kind of object a URL can point at."""
    shop = ShopFactory(name="Bakkerij Geheim", slug="bakkerij-geheim")
    owner = OwnerFactory(shop=shop, user=UserFactory(email="owner@geheim.example"))
    staff = StaffMemberFactory(shop=shop, user=UserFactory(email="staff@geheim.example"))
    member = MembershipFactory(shop=shop, user=UserFactory(email="member@geheim.example"),
                               name="Geheime Klant")
    invitation = StaffInvitationFactory(shop=shop, email="new@geheim.example")
    purchase = purchase_record(shop=shop, amount="25.00", membership_id=member.pk)
    api_key, _raw = api_key_create(shop=shop, name="till-victim")
    reward = reward_create(shop=shop, kind="perk", name="Geheime taart", points_cost=10)
    voucher = voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
    badge = badge_create(shop=shop, template="visits", name="Geheime badge", icon="star",
                         count=5)
    program_save(shop=shop, data=program_input_clean(  # levels: the member reaches Geheim-goud
        enabled=True, measure="amount", period="year", downgrade="one", grace_days=0,
        tiers=[{"name": "Geheim-goud", "threshold": "20.00", "multiplier": "1.50"}]))
    # The charity program: a charity, a donation of points and a closed month's statement.
    charity = charity_create(shop=shop, name="Geheim goed doel")
    program_configure(shop=shop, data=charity_program_input_clean(
        enabled=True, mode="beside", rule_kind="percent", rule_value="2",
        points_per_unit=10, round_up_max="5"))
    membership_charity_choose(membership=member, charity_id=charity.pk)
    [gift] = points_donate(shop=shop, membership_id=member.pk, points=10)
    statement = Statement.objects.create(shop=shop, charity=charity, month=gift.month,
                                         currency=shop.currency, donations_count=1,
                                         shop_funded=gift.amount, closed_at=gift.created_at,
                                         payable_from=gift.payable_at)
    return {
        "shop": shop, "owner": owner.user, "staff": staff.user, "member": member.user,
        "values": {
            "charity_id": charity.pk,
            "donation_id": gift.pk,
            "statement_id": statement.pk,
            "month": gift.month.strftime("%Y-%m"),
            "year": gift.month.year,
            "shop_slug": shop.slug,
            "staff_id": staff.pk,
            "invitation_id": invitation.pk,
            "card_number": member.card_number,
            "purchase_id": purchase.pk,
            "api_key_id": api_key.pk,
            "reward_id": reward.pk,
            "voucher_id": voucher.pk,
            "code": voucher.code,
            "badge_id": badge.pk,
            "token": staff_invitation_token(invitation),
            # Django admin's own parameters
            "app_label": "loyalty",
            "model_name": "shop",
            "object_id": str(shop.pk),
            "content_type_id": "1",
            "id": str(owner.user.pk),
            "url": "loyalty/unknown/",
        },
    }


@pytest.fixture
def outsiders(db):
    """People of another shop: its owner, its staff, and its member."""
    other = ShopFactory(name="Kaashandel Anders", slug="kaashandel-anders")
    return {
        "owner of another shop": OwnerFactory(shop=other).user,
        "staff of another shop": StaffMemberFactory(shop=other).user,
        "member of another shop": MembershipFactory(shop=other, user=UserFactory()).user,
    }


@pytest.fixture
def intruder(outsiders):
    """The other shop (the outsiders') with a card that has points, a purchase, a reward, an open
    voucher and API keys of both scopes: what its own requests name instead of the victim's."""
    shop = Shop.objects.get(slug="kaashandel-anders")
    member = Membership.objects.get(shop=shop)
    purchase = purchase_record(shop=shop, amount="100.00", membership_id=member.pk)
    reward = reward_create(shop=shop, kind="perk", name="Kaasplankje", points_cost=10)
    voucher = voucher_claim(shop=shop, membership_id=member.pk, reward_id=reward.pk)
    return {
        "shop": shop,
        "objects": {"card": member.card_number, "purchase": purchase.pk, "reward": reward.pk,
                    "code": voucher.code},
        "keys": {"till": api_key_create(shop=shop, name="till-anders")[1],
                 "manage": api_key_create(shop=shop, name="sync-anders",
                                          scope=ApiKeyScope.MANAGE)[1]},
    }


def url_params(route: str, pattern: URLPattern) -> set[str]:
    return set(pattern.pattern.regex.groupindex) | set(re.findall(r"<(?:\w+:)?(\w+)>", route))


def build_url(route: str, name: str | None, pattern: URLPattern, values: dict) -> str:
    prefix_params = re.findall(r"<(?:\w+:)?(\w+)>", route)
    missing = [p for p in url_params(route, pattern) if p not in values]
    assert not missing, (
        f"URL {route!r} takes {missing}: add a sample value for it to the victim fixture"
    )
    if name:
        kwargs = {p: values[p] for p in url_params(route, pattern)}
        return reverse(name, kwargs=kwargs)
    url = "/" + route.replace("^", "").replace("$", "")
    url = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m.group(1)]), url)
    for param in prefix_params:
        url = re.sub(rf"<(?:\w+:)?{param}>", str(values[param]), url)
    return url


def snapshot():
    return (
        Shop.objects.count(), User.objects.count(), Membership.objects.count(),
        sorted(StaffMember.objects.values_list("pk", "role", "is_active")),
        sorted(StaffInvitation.objects.values_list("pk", "status")),
        sorted(Membership.objects.values_list("pk", "points_balance", "name")),
        sorted(Shop.objects.values_list("pk", "name", "language")),
        LedgerEntry.objects.count(), Purchase.objects.count(), Refund.objects.count(),
        sorted(ApiKey.objects.values_list("pk", "revoked_at")),
        sorted(ProgramRules.objects.values_list("pk", "version")),
        sorted(Reward.objects.values_list("pk", "name", "points_cost", "active",
                                          "display_order", "stock_claimed")),
        sorted(Voucher.objects.values_list("pk", "status", "used_at")),
        sorted(Purchase.objects.values_list("pk", "refunded_amount")),
        PurchaseItem.objects.count(),
        sorted(PointLot.objects.values_list("pk", "remaining")),
        IdempotentRequest.objects.count(),
        sorted(Badge.objects.values_list("pk", "name", "count", "active")),
        sorted(BadgeAward.objects.values_list("pk", "revoked_at")),
        sorted(Membership.objects.values_list("pk", "level_name", "level_rank",
                                              "level_multiplier")),
        sorted(TierProgram.objects.values_list("pk", "enabled", "measure", "period")),
        sorted(Tier.objects.values_list("pk", "name", "threshold", "multiplier")),
        sorted(TierState.objects.values_list("pk", "tier_id")), LevelChange.objects.count(),
        sorted(Charity.objects.values_list("pk", "name", "active", "is_default")),
        sorted(CharityProgram.objects.values_list("pk", "enabled", "rule_value",
                                                  "closed_through")),
        CharityChoice.objects.count(), Donation.objects.count(),
        sorted(Statement.objects.values_list("pk", "paid_on", "paid_reference")),
    )


def all_patterns():
    return [(route, name, pattern, ns) for route, name, pattern, ns in walk()
            if not route.startswith(("static/", "media/"))]


def test_every_view_declares_its_audience():
    undeclared = [route for route, _name, pattern, ns in all_patterns()
                  if audience_of(pattern, ns) == ""]
    assert undeclared == [], (
        "These URLs have no audience: decorate their views with one of loyalty.access's "
        f"decorators: {undeclared}"
    )


def test_the_walk_sees_the_front_doors():
    names = {name for _route, name, _p, _ns in all_patterns()}
    for expected in ("dashboard:overview", "counter:screen", "portal:card", "shop_page",
                     "admin:index", "account_login"):
        assert expected in names


def _assert_denied(client, url, who, allow_login_redirect):
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        status = response.status_code
        if allow_login_redirect and status == 302:
            assert "/accounts/login/" in response["Location"], (who, method, url)
            continue
        assert status in DENIED, f"{who} got {status} on {method.upper()} {url}"


@pytest.mark.django_db
def test_no_one_outside_the_shop_reaches_its_pages(client, victim, outsiders):
    other_key = api_key_create(shop=Shop.objects.get(slug="kaashandel-anders"), name="till")[1]
    api_outsiders = {  # who: (headers, signed-in user)
        "no key": ({}, None),
        "another shop's API key": ({"Authorization": f"Api-Key {other_key}"}, None),
        "a made-up key": ({"Authorization": "Api-Key trw_made-up"}, None),
        "the shop owner's session, no key": ({}, victim["owner"]),
    }
    before = snapshot()
    checked = 0
    for route, name, pattern, namespace in all_patterns():
        audience = audience_of(pattern, namespace)
        if audience in ("auth", Audience.PUBLIC):
            continue
        url = build_url(route, name, pattern, victim["values"])

        client.logout()
        if audience == Audience.API:
            for who, (headers, user) in api_outsiders.items():
                client.logout()
                if user is not None:
                    client.force_login(user)
                for method in ("get", "post"):
                    response = getattr(client, method)(url, headers=headers,
                                                       content_type="application/json")
                    # A list (GET) may answer 200 with the key's own shop's data only.
                    allowed = {400, 401, 403, 404, 405} | ({200} if method == "get" else set())
                    assert response.status_code in allowed, (
                        f"{who} got {response.status_code} on {method.upper()} {url}")
                    assert victim["values"]["card_number"].encode() not in response.content
                    assert b"Geheime Klant" not in response.content, (who, url)
                    assert b"Geheime taart" not in response.content, (who, url)
                    assert b"Geheim-goud" not in response.content, (who, url)
            checked += 1
            continue
        if audience == "admin":
            response = client.get(url)
            assert response.status_code in {302, 404}, url
            if response.status_code == 302:
                assert "/admin/login/" in response["Location"], url
            for who, user in {**outsiders, "shop owner": victim["owner"]}.items():
                client.force_login(user)
                response = client.get(url)
                assert response.status_code in {302, 404}, (who, url)
            checked += 1
            continue

        _assert_denied(client, url, "anonymous", allow_login_redirect=True)
        people = dict(outsiders)
        if audience == Audience.OWNER:
            people["the shop's staff"] = victim["staff"]
            people["the shop's member"] = victim["member"]
        elif audience == Audience.STAFF:
            people["the shop's member"] = victim["member"]
        elif audience == Audience.MEMBER:
            people["the shop's owner"] = victim["owner"]
            people["the shop's staff"] = victim["staff"]

        for who, user in people.items():
            client.force_login(user)
            if audience == Audience.SIGNED_IN:
                # Pages about the signed-in user's own things: never the victim shop's.
                response = client.get(url, follow=True)
                assert response.status_code in {200, 403, 404, 405}, (who, url)
                assert b"Bakkerij Geheim" not in response.content, (who, url)
                assert b"bakkerij-geheim" not in response.content, (who, url)
            else:
                _assert_denied(client, url, who, allow_login_redirect=False)
        checked += 1
    assert checked >= 10
    assert snapshot() == before, "a denied request changed data"


@pytest.mark.django_db
def test_public_views_answer_anonymous_visitors(client, victim):
    for route, name, pattern, namespace in all_patterns():
        if audience_of(pattern, namespace) != Audience.PUBLIC:
            continue
        url = build_url(route, name, pattern, victim["values"])
        response = client.get(url)
        assert response.status_code < 500, (url, response.status_code)


# --- A shop's own pages, another shop's ids ------------------------------------------------------

# What each page's form sends when the object is the shop's own: a view that forgot to check the
# object's shop would act on the victim's object with it (the other views need no fields).
OWN_PAGE_POSTS = {
    "dashboard:member": {"points": "-5", "reason": "isolation"},
    "dashboard:staff_set_active": {"active": "0"},
    "counter:earn": {"amount": "10.00", "token": "isolation-earn", "reference": ""},
    "counter:undo": {"reason": "isolation"},
    "rewards_edit": {"kind": "perk", "name": "Overgenomen", "points_cost": "1", "active": "on",
                     "limit_period": "ever", "voucher_valid_days": "30"},
    "rewards_move": {"direction": "up"},
    "counter_member_pay": {"points": "1"},
    "counter_member_redeem": {"reward": "{reward_id}"},
    "badges_edit": {"name": "Overgenomen", "icon": "star", "count": "1", "bonus_points": "0",
                    "active": "on"},
    "tiers_member_level": {"tier": "", "reason": "isolation", "until": "2099-01-01"},
    "charity_edit": {"name": "Overgenomen", "active": "on"},
    "charity_statement_paid": {"statement-{statement_id}-paid_on": "2026-01-01",
                               "statement-{statement_id}-reference": "isolation"},
    "charity_points_gift_reverse": {"reason": "isolation"},
}
# Actions that answer an id not of the shop by sending the user back to the shop's own page with
# an error message (the other pages answer 404).
SENT_BACK = {"dashboard:staff_invitation_revoke", "dashboard:staff_set_active",
             "dashboard:api_key_revoke", "counter_voucher_use"}
PEOPLE_FOR = {
    Audience.OWNER: ("owner of another shop",),
    Audience.STAFF: ("owner of another shop", "staff of another shop"),
    Audience.MEMBER: ("member of another shop",),
}


def victim_markers(victim, *, card_number: bool = True) -> list[bytes]:
    """What of the victim's no answer may show. (HTML pages may repeat the URL they were asked
    for, card number and all: that is what the intruder typed, not what the page found.)"""
    markers = [b"Bakkerij Geheim", b"Geheime Klant", b"Geheime taart", b"geheim.example",
               b"Geheim-goud", b"Geheim goed doel"]
    return markers + ([victim["values"]["card_number"].encode()] if card_number else [])


def _assert_sent_back_or_denied(client, response, *, who, method, url, slug, markers,
                                sent_back):
    """403, 404 or 405 — or, where ``sent_back`` allows it, a redirect to the intruder's own
    shop's page (showing an error); either way nothing of the victim's in what is shown."""
    status = response.status_code
    page = response
    if status == 302 and method == "post" and sent_back:
        location = response["Location"]
        assert urlsplit(location).path.split("/")[2] == slug, (who, url, location)
        page = client.get(location)
        assert page.status_code in {200, 404}, (who, url, location)
    else:
        assert status in DENIED | {405}, f"{who} got {status} on {method.upper()} {url}"
    for marker in markers:
        assert marker not in page.content, (who, method, url, marker)


@pytest.mark.django_db
def test_a_shops_own_pages_refuse_another_shops_ids(client, victim, outsiders):
    """The intruder's own slug (so the role check passes) with the victim's ids in the rest of
    the URL, and — for the counter's redeem — the victim's reward in the body."""
    intruder_shop = Shop.objects.get(slug="kaashandel-anders")
    their_member = Membership.objects.get(shop=intruder_shop)
    purchase_record(shop=intruder_shop, amount="10.00", membership_id=their_member.pk)
    values = {**victim["values"], "shop_slug": intruder_shop.slug}
    markers = victim_markers(victim, card_number=False)
    before = snapshot()
    checked = set()
    for route, name, pattern, namespace in all_patterns():
        audience = audience_of(pattern, namespace)
        # A month (the charity's statements) or a year (a member's impact) is no object of a
        # shop: every shop has its own.
        if audience not in PEOPLE_FOR or not url_params(route, pattern) - {"shop_slug",
                                                                           "month", "year"}:
            continue  # not a shop's page, or one that names nothing but the shop
        url = build_url(route, name, pattern, values)
        body = {field.format(**victim["values"]): value.format(**victim["values"])
                for field, value in OWN_PAGE_POSTS.get(name, {}).items()}
        for who in PEOPLE_FOR[audience]:
            client.force_login(outsiders[who])
            for method in ("get", "post"):
                response = client.get(url) if method == "get" else client.post(url, body)
                _assert_sent_back_or_denied(client, response, who=who, method=method, url=url,
                                            slug=intruder_shop.slug, markers=markers,
                                            sent_back=name in SENT_BACK)
        checked.add(name)
    assert {"dashboard:member", "counter:earn", "counter:undo", "rewards_edit",
            "counter_voucher_use", "portal_claim", "portal_voucher_cancel", "badges_edit",
            "badges_toggle", "charity_edit", "charity_statement_paid",
            "charity_points_gift_reverse"} <= checked

    # The intruder's own member (with points enough) at its own counter, redeeming the victim's
    # reward: sent back with an error, as for any reward the shop does not have.
    client.force_login(outsiders["staff of another shop"])
    url = reverse("counter_member_redeem", args=[intruder_shop.slug, their_member.card_number])
    response = client.post(url, {"reward": victim["values"]["reward_id"]})
    _assert_sent_back_or_denied(client, response, who="staff of another shop", method="post",
                                url=url, slug=intruder_shop.slug, markers=markers,
                                sent_back=True)
    assert snapshot() == before, "a page of one shop changed another shop's data"


@pytest.mark.django_db
def test_a_shops_levels_page_refuses_another_shops_tiers(client, victim, outsiders):
    """The intruder's own levels page sent with the victim's tier's id (to rename it, or to
    remove it by leaving it out): refused, and neither shop's levels change."""
    theirs = Tier.objects.get(shop=victim["shop"])
    client.force_login(outsiders["owner of another shop"])
    url = reverse("tiers_levels", args=["kaashandel-anders"])
    before = snapshot()
    for action in ("preview", "save"):
        response = client.post(url, {
            "enabled": "on", "measure": "amount", "period": "year", "downgrade": "one",
            "grace_days": "0", "action": action, "tiers-TOTAL": "1",
            "tiers-0-id": str(theirs.pk), "tiers-0-name": "Overgenomen",
            "tiers-0-threshold": "1.00", "tiers-0-multiplier": "1.00",
            "tiers-0-colour": "#000000"})
        assert response.status_code == 400, action
        for marker in victim_markers(victim):
            assert marker not in response.content, (action, marker)
    assert snapshot() == before
    # Saving the intruder's own levels leaves the victim's card where it is.
    response = client.post(url, {
        "measure": "points", "period": "lifetime", "downgrade": "one", "grace_days": "0",
        "action": "save", "enabled": "on", "tiers-TOTAL": "1", "tiers-0-name": "Kaaskop",
        "tiers-0-threshold": "1", "tiers-0-multiplier": "2.00", "tiers-0-colour": "#ffcc00"})
    assert response.status_code == 302
    victim_card = Membership.objects.get(shop=victim["shop"])
    assert (victim_card.level_name, victim_card.level_multiplier) == ("Geheim-goud",
                                                                       Decimal("1.50"))
    assert Tier.objects.get(pk=theirs.pk).name == "Geheim-goud"


# --- The API: one shop's key, another shop's objects ---------------------------------------------

NOT_FOUND_MEMBER = (404, "member_not_found", "member")


@dataclass(frozen=True)
class ApiCase:
    """One API request. ``path`` and ``body`` are made of the objects (card, purchase, reward,
    code) to name; ``theirs`` says which of them are the victim's in the refused request."""

    url_name: str
    method: str
    path: Callable[[dict], str]
    body: Callable[[dict], dict] | None
    theirs: tuple[str, ...]
    refused: tuple[int, str, str | None]  # status, code, field of the error
    ok: int  # the status of the same request with the key's own shop's objects
    idempotent: bool = False
    scopes_refused: tuple[str, ...] = ("till", "manage")
    scope_ok: str = "till"


def _refunds(o):
    return f"/api/v1/purchases/{o['purchase']}/refunds/"


def _purchase(o):
    return {"member": o["card"], "amount": "25.00", "reference": "BON-7",
            "items": [{"name": "Taart", "unit_price": "25.00"}]}


def _redemption(o):
    return {"member": o["card"], "reward": o["reward"]}


API_CASES = [
    ApiCase("api-purchases", "post", lambda o: "/api/v1/purchases/", _purchase, ("card",),
            NOT_FOUND_MEMBER, 201, idempotent=True),
    ApiCase("api-refunds", "post", _refunds, lambda o: {"amount": "5.00", "reason": "retour"},
            ("purchase",), (404, "not_found", None), 201, idempotent=True),
    ApiCase("api-member", "get", lambda o: f"/api/v1/members/{o['card']}/", None, ("card",),
            (404, "member_not_found", "card_number"), 200),
    ApiCase("api-reward", "get", lambda o: f"/api/v1/rewards/{o['reward']}/", None, ("reward",),
            (404, "not_found", "reward"), 200),
    # A till key may not change the catalogue at all (403); a manage key only its own shop's.
    ApiCase("api-reward", "patch", lambda o: f"/api/v1/rewards/{o['reward']}/",
            lambda o: {"name": "Overgenomen", "points_cost": 1}, ("reward",),
            (404, "not_found", None), 200, scopes_refused=("manage",), scope_ok="manage"),
    ApiCase("api-reward", "patch", lambda o: f"/api/v1/rewards/{o['reward']}/",
            lambda o: {"name": "Overgenomen", "points_cost": 1}, ("reward",),
            (403, "permission_denied", None), 200, scopes_refused=("till",), scope_ok="manage"),
    ApiCase("api-redemptions", "post", lambda o: "/api/v1/redemptions/", _redemption,
            ("card",), NOT_FOUND_MEMBER, 201, idempotent=True),
    ApiCase("api-redemptions", "post", lambda o: "/api/v1/redemptions/", _redemption,
            ("reward",), (404, "not_found", "reward"), 201, idempotent=True),
    ApiCase("api-redemptions", "post", lambda o: "/api/v1/redemptions/", _redemption,
            ("card", "reward"), NOT_FOUND_MEMBER, 201, idempotent=True),
    ApiCase("api-voucher-use", "post", lambda o: f"/api/v1/vouchers/{o['code']}/use", None,
            ("code",), (404, "not_found", "code"), 200),
]
# Endpoints that take no other object: their own tests below (lists and enrolling).
API_WITHOUT_OBJECTS = {"api-members", "api-rewards"}


def victim_objects(victim) -> dict:
    values = victim["values"]
    return {"card": values["card_number"], "purchase": values["purchase_id"],
            "reward": values["reward_id"], "code": values["code"]}


def api_request(client, method, path, raw_key, body=None, idempotency_key=None):
    headers = {"Authorization": f"Api-Key {raw_key}"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    if body is None:
        return getattr(client, method)(path, headers=headers)
    return getattr(client, method)(path, data=json.dumps(body), content_type="application/json",
                                   headers=headers)


def test_every_api_endpoint_has_a_cross_shop_case():
    api_names = {name for route, name, pattern, ns in all_patterns()
                 if audience_of(pattern, ns) == Audience.API}
    missing = api_names - {case.url_name for case in API_CASES} - API_WITHOUT_OBJECTS
    assert missing == set(), f"add cases to API_CASES for {sorted(missing)}"


@pytest.mark.django_db
def test_an_api_key_cannot_reach_another_shops_objects(client, victim, intruder):
    theirs = victim_objects(victim)
    ours = intruder["objects"]
    markers = victim_markers(victim) + [theirs["code"].encode()]
    sent = 0
    for case in API_CASES:
        objects = {**ours, **{name: theirs[name] for name in case.theirs}}
        for scope in case.scopes_refused:
            sent += 1
            before = snapshot()
            response = api_request(
                client, case.method, case.path(objects), intruder["keys"][scope],
                case.body(objects) if case.body else None,
                f"isolation-{sent}" if case.idempotent else None)
            what = f"{scope} key: {case.method.upper()} {case.path(objects)} naming {case.theirs}"
            assert response.status_code == case.refused[0], (what, response.content)
            assert_error(response, *case.refused)
            assert "Idempotent-Replayed" not in response.headers, what
            for marker in markers:
                assert marker not in response.content, (what, marker)
            assert snapshot() == before, f"{what} changed data"

    # The same requests with the key's own objects go through: the bodies were valid, and only
    # the shop check refused them.
    for number, case in enumerate(API_CASES):
        response = api_request(client, case.method, case.path(ours),
                               intruder["keys"][case.scope_ok],
                               case.body(ours) if case.body else None,
                               f"own-{number}" if case.idempotent else None)
        assert response.status_code == case.ok, (case, response.content)


@pytest.mark.django_db
def test_another_shops_idempotency_keys_replay_nothing_of_theirs(client, victim, intruder):
    """Keys are per shop: the intruder sending the victim's key with the victim's very body
    gets no replay of the victim's stored answer, and with its own body records its own
    purchase."""
    victim_key = api_key_create(shop=victim["shop"], name="till-victim-2")[1]
    theirs = victim_objects(victim)
    earn = {"member": theirs["card"], "amount": "12.50"}
    refund = {"amount": "2.50", "reason": "retour"}
    response = api_request(client, "post", "/api/v1/purchases/", victim_key, earn, "till-0001")
    assert response.status_code == 201, response.content
    purchase_id = response.json()["id"]
    response = api_request(client, "post", _refunds({"purchase": purchase_id}), victim_key,
                           refund, "till-0002")
    assert response.status_code == 201, response.content
    till = intruder["keys"]["till"]
    markers = victim_markers(victim)

    before = snapshot()
    for path, body, key, error in [
        ("/api/v1/purchases/", earn, "till-0001", NOT_FOUND_MEMBER),
        (_refunds({"purchase": purchase_id}), refund, "till-0002", (404, "not_found", None)),
    ]:
        response = api_request(client, "post", path, till, body, key)
        assert_error(response, *error)
        assert "Idempotent-Replayed" not in response.headers
        for marker in markers:
            assert marker not in response.content, (path, marker)
    assert snapshot() == before

    own = {"member": intruder["objects"]["card"], "amount": "12.50"}
    response = api_request(client, "post", "/api/v1/purchases/", till, own, "till-0001")
    assert response.status_code == 201, response.content
    assert "Idempotent-Replayed" not in response.headers
    assert response.json()["member"] == intruder["objects"]["card"]
    assert Purchase.objects.filter(shop=intruder["shop"], idempotency_key="api:till-0001").count(
    ) == 1
    assert Purchase.objects.filter(shop=victim["shop"]).count() == 2  # the fixture's and the API's


@pytest.mark.django_db
def test_an_api_key_finds_and_changes_no_member_or_reward_of_another_shop(client, victim,
                                                                          intruder):
    stranger = Membership.objects.get(shop=victim["shop"])
    their_reward = victim["values"]["reward_id"]
    markers = victim_markers(victim)
    own_reward_ids = set(Reward.objects.filter(shop=intruder["shop"]).values_list("pk",
                                                                                  flat=True))
    before = snapshot()
    for scope, raw_key in intruder["keys"].items():
        for q in (stranger.card_number, stranger.email, stranger.phone, "Geheime Klant"):
            response = api_request(client, "get", f"/api/v1/members/?q={q}", raw_key)
            assert response.status_code == 200, (scope, q, response.content)
            assert response.json() == {"results": []}, (scope, q)
        response = api_request(client, "get", "/api/v1/rewards/", raw_key)
        assert response.status_code == 200, (scope, response.content)
        listed = {row["id"] for row in response.json()["results"]}
        assert their_reward not in listed and listed == own_reward_ids, scope
        for marker in markers:
            assert marker not in response.content, (scope, marker)
    assert snapshot() == before
    response = api_request(client, "get",
                           f"/api/v1/members/?q={intruder['objects']['card']}",
                           intruder["keys"]["till"])
    assert [row["card_number"] for row in response.json()["results"]] == [
        intruder["objects"]["card"]]

    # Enrolling the victim's customer (same e-mail and phone) at the intruder's shop makes a card
    # of the intruder's shop: the victim's card is neither matched, shown nor changed.
    stranger_before = Membership.objects.filter(pk=stranger.pk).values().get()
    response = api_request(client, "post", "/api/v1/members/", intruder["keys"]["till"],
                           {"name": "Geheime Klant", "email": stranger.email,
                            "phone": stranger.phone})
    assert response.status_code == 201, response.content
    card = response.json()["card_number"]
    assert card != stranger.card_number
    assert Membership.objects.get(card_number=card).shop == intruder["shop"]
    assert Membership.objects.filter(pk=stranger.pk).values().get() == stranger_before
    assert Membership.objects.filter(shop=victim["shop"]).count() == 1
