"""Shop data isolation, proven for every URL pattern there is.

The test walks Django's URL resolver, so a new URL is covered the moment it is added: a view that
declares no audience (see ``loyalty/access.py``) fails here, and every non-public view is opened
with GET and POST as people who must not see the shop's data. They must get a redirect to sign-in
(anonymous), 403 or 404 — and nothing in the database may change.
"""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from loyalty.access import AUDIENCE_ATTR, Audience
from loyalty.models import (
    ApiKey,
    LedgerEntry,
    Membership,
    ProgramRules,
    Purchase,
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
    return {
        "shop": shop, "owner": owner.user, "staff": staff.user, "member": member.user,
        "values": {
            "shop_slug": shop.slug,
            "staff_id": staff.pk,
            "invitation_id": invitation.pk,
            "card_number": member.card_number,
            "purchase_id": purchase.pk,
            "api_key_id": api_key.pk,
            "reward_id": reward.pk,
            "voucher_id": voucher.pk,
            "code": voucher.code,
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


def build_url(route: str, name: str | None, pattern: URLPattern, values: dict) -> str:
    params = list(pattern.pattern.regex.groupindex)
    prefix_params = re.findall(r"<(?:\w+:)?(\w+)>", route)
    missing = [p for p in set(params) | set(prefix_params) if p not in values]
    assert not missing, (
        f"URL {route!r} takes {missing}: add a sample value for it to the victim fixture"
    )
    if name:
        kwargs = {p: values[p] for p in set(params) | set(prefix_params)}
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
        sorted(Reward.objects.values_list("pk", "name", "active", "display_order",
                                          "stock_claimed")),
        sorted(Voucher.objects.values_list("pk", "status")),
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
