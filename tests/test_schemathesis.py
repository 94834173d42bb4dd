"""The REST API against its own OpenAPI schema, fuzzed by schemathesis against a live server.

A server thread serves ``loyalty.wsgi.application`` — what gunicorn serves, with the API's own
middleware chain — on a free port; the schema is the one ``/api/schema/`` serves. For every
operation schemathesis generates requests (valid ones and ones that break the schema) with a
real key of a shop that has members, rewards, purchases and an open voucher, and checks each
answer: never a server error, a status the schema lists for the operation, the content type
it names, and a body of the shape it documents.

Bounded: ``TROUW_FUZZ_EXAMPLES`` examples per operation (30 by default; well under a minute
or two on two cores). Marked ``fuzz``: ``-m "not fuzz"`` leaves it out locally; CI runs it.
"""

from __future__ import annotations

import itertools
import os
from decimal import Decimal

import pytest
import schemathesis
from django.db import connections
from django.test.testcases import LiveServerThread
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from loyalty.models import ApiKeyScope
from loyalty.services import api_key_create, purchase_record
from rewards import services as reward_services
from rewards.models import RewardKind
from tests.factories import MembershipFactory, ShopFactory

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db(transaction=True)]

EXAMPLES = int(os.environ.get("TROUW_FUZZ_EXAMPLES", "30"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture
def api_server():
    """The application on a free port of 127.0.0.1; its URL. An in-memory SQLite test
    database is shared with the server's threads, as Django's live server does."""
    shared = {conn.alias: conn for conn in connections.all()
              if conn.vendor == "sqlite" and conn.is_in_memory_db()}
    from loyalty.wsgi import application

    # Django's live server thread, serving the project's WSGI application (both middleware
    # chains) instead of the test client's handler with static files.
    thread = LiveServerThread("127.0.0.1", lambda _pages: application,
                              connections_override=shared, port=0)
    thread.daemon = True
    for conn in shared.values():
        conn.inc_thread_sharing()
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    try:
        yield f"http://127.0.0.1:{thread.port}"
    finally:
        thread.terminate()
        for conn in shared.values():
            conn.dec_thread_sharing()


@pytest.fixture
def shop_data():
    """A shop with what the fuzzer's requests may hit: members with points, rewards, a
    purchase, an open voucher, and a key with the manage scope (it may do everything)."""
    shop = ShopFactory(slug="fuzz-bakkerij", currency="EUR")
    members = [MembershipFactory(shop=shop, phone="", email=f"lid{n}@example.com")
               for n in range(3)]
    purchases = [purchase_record(shop=shop, amount=Decimal("250.00"), membership_id=m.pk)
                 for m in members]
    reward = reward_services.reward_create(shop=shop, kind=RewardKind.FREE_PRODUCT,
                                           name="Gratis koffie", points_cost=100,
                                           product_name="Koffie")
    voucher = reward_services.voucher_claim(shop=shop, membership_id=members[0].pk,
                                            reward_id=reward.pk)
    _key, raw_key = api_key_create(shop=shop, name="fuzzer", scope=ApiKeyScope.MANAGE)
    return {
        "auth": f"Api-Key {raw_key}",
        "card_number": [m.card_number for m in members],
        "purchase_id": [p.pk for p in purchases],
        "reward_id": [reward.pk],
        "code": [voucher.code],
        "member": [m.card_number for m in members],
        "reward": [reward.pk],
    }


def _served_schema() -> dict:
    """The schema /api/schema/ serves (drf-spectacular's generator, as its view runs it)."""
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


schema = schemathesis.openapi.from_dict(_served_schema())
_turns = itertools.count()


def _with_real_things(case, data: dict) -> None:
    """Every other request names things that exist (a member's card, a purchase, a reward,
    a voucher), so that the answers beyond 404 are fuzzed too; the others keep what the
    fuzzer made up."""
    turn = next(_turns)
    if turn % 2:
        return
    for name, value in (case.path_parameters or {}).items():
        if name in data:
            case.path_parameters[name] = data[name][turn // 2 % len(data[name])]
    if isinstance(case.body, dict):
        for name in ("member", "reward"):
            if name in case.body:
                case.body[name] = data[name][turn // 2 % len(data[name])]


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_the_api_answers_as_its_schema_says(case, api_server, shop_data):
    _with_real_things(case, shop_data)
    case.call_and_validate(base_url=api_server, headers={"Authorization": shop_data["auth"]},
                           checks=CHECKS, timeout=30)
