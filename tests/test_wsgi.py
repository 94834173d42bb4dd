"""The WSGI application as gunicorn serves it (loyalty.wsgi): the JSON API through its own short
middleware chain, every page through the full one. The test client builds its own handler from
settings.MIDDLEWARE, so these tests call the application itself."""

from __future__ import annotations

import io
import json
import sys

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from django.utils import timezone

from loyalty.handlers import ApiWSGIHandler
from loyalty.models import Purchase
from loyalty.services import api_key_create
from loyalty.wsgi import application

pytestmark = pytest.mark.django_db


class Answer:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes):
        self.status_code = int(status.split()[0])
        self.headers = {}
        self.cookies = []
        for name, value in headers:
            if name.lower() == "set-cookie":
                self.cookies.append(value.split("=")[0].strip())
            self.headers[name.lower()] = value
        self.body = body

    def json(self):
        return json.loads(self.body)


def call(app, method: str, path: str, *, body: dict | None = None, headers=None) -> Answer:
    """One request through a WSGI application, as a server would make it. The database
    connection stays open (the test's transaction): like Django's test client, this
    disconnects close_old_connections for the call."""
    raw = json.dumps(body).encode() if body is not None else b""
    path, _sep, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "HTTP_HOST": "testserver",
        "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(raw),
        "wsgi.errors": sys.stderr, "CONTENT_LENGTH": str(len(raw)),
        "CONTENT_TYPE": "application/json" if body is not None else "",
    }
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    started = []
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = app(environ, lambda status, response_headers, *exc: started.append(
            (status, response_headers)))
        content = b"".join(result)
        result.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    status, response_headers = started[0]
    return Answer(status, response_headers, content)


@pytest.fixture
def raw_key(shop):
    return api_key_create(shop=shop, name="till-1")[1]


def earn(raw_key, card, key="k-1", **headers) -> Answer:
    return call(application, "POST", "/api/v1/purchases/",
                body={"member": card, "amount": "27.50"},
                headers={"Authorization": f"Api-Key {raw_key}", "Idempotency-Key": key,
                         **headers})


def test_an_earn_through_the_application(raw_key, member):
    answer = earn(raw_key, member.card_number)

    assert answer.status_code == 201, answer.body
    assert answer.json()["points_earned"] == Purchase.objects.get().points_earned
    assert answer.headers["content-type"] == "application/json"
    # The API's chain: security headers, no cookies, no page policy.
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.cookies == []
    assert "content-security-policy" not in answer.headers


def test_the_api_answers_in_the_callers_language(raw_key):
    answer = earn(raw_key, "0000000000000", accept_language="nl")

    assert answer.status_code == 404
    assert answer.json()["error"]["message"] == "Geen lid met dit pasnummer."
    assert answer.headers["content-language"] == "nl"


def test_the_shops_time_zone_does_not_outlive_the_call(raw_key, member, shop):
    shop.time_zone = "Asia/Tokyo"
    shop.save(update_fields=["time_zone"])
    timezone.deactivate()

    assert earn(raw_key, member.card_number).status_code == 201

    assert timezone.get_current_timezone_name() == "UTC"


def test_a_bad_key_is_the_apis_401(member):
    answer = earn("trw_wrong", member.card_number)

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"
    assert not Purchase.objects.exists()


def test_pages_keep_the_full_chain():
    answer = call(application, "GET", "/accounts/login/")

    assert answer.status_code == 200
    assert "content-security-policy" in answer.headers
    assert answer.headers["x-frame-options"] == "DENY"
    assert "csrftoken" in answer.cookies


def test_the_apis_html_documentation_is_a_page():
    answer = call(application, "GET", "/api/docs/")

    assert answer.status_code == 200
    assert "content-security-policy" in answer.headers


def test_an_unknown_api_path_is_a_404():
    assert call(application, "GET", "/api/v1/nothing-here/").status_code == 404


class Skipped:
    def __init__(self, get_response):
        from django.core.exceptions import MiddlewareNotUsed

        raise MiddlewareNotUsed


class Hooks:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view, args, kwargs):
        return None

    def process_exception(self, request, exception):
        return None


@override_settings(API_MIDDLEWARE=["tests.test_wsgi.Skipped", "tests.test_wsgi.Hooks",
                                   "django.middleware.common.CommonMiddleware"])
def test_the_api_handler_builds_its_chain_as_django_does():
    handler = ApiWSGIHandler()

    assert [hook.__self__.__class__ for hook in handler._view_middleware] == [Hooks]
    assert [hook.__self__.__class__ for hook in handler._exception_middleware] == [Hooks]
    assert call(handler, "GET", "/api/v1/nothing-here/").status_code == 404


@override_settings(API_MIDDLEWARE=["tests.test_wsgi.Hooks"])
def test_the_api_handler_is_for_wsgi_only():
    from django.core.exceptions import ImproperlyConfigured

    handler = ApiWSGIHandler()
    with pytest.raises(ImproperlyConfigured):
        handler.load_middleware(is_async=True)


def test_every_api_view_is_served_through_the_short_chain(shop, owner, member, raw_key):
    """Each v1 view once, through the application as gunicorn serves it: none may lean on a
    middleware the API's chain does not have (a session, request.user, messages)."""
    from loyalty.services import program_rules_update
    from rewards import services as rewards_services
    from rewards.models import RewardKind

    program_rules_update(shop=shop, by=owner, points_per_unit=10)
    reward = rewards_services.reward_create(shop=shop, kind=RewardKind.PERCENT_OFF,
                                            name="10% off", points_cost=100, value_percent=10)
    auth = {"Authorization": f"Api-Key {raw_key}"}

    def api(method, path, body=None, key=None):
        headers = {**auth, **({"Idempotency-Key": key} if key else {})}
        return call(application, method, path, body=body, headers=headers)

    card = member.card_number
    purchase = api("POST", "/api/v1/purchases/", {"member": card, "amount": "27.50"}, "p-1")
    answers = {
        "lookup": api("GET", f"/api/v1/members/?q={card}"),
        "member": api("GET", f"/api/v1/members/{card}/"),
        "enrol": api("POST", "/api/v1/members/", {"name": "Noor", "email": "noor@example.com"},
                     "m-1"),
        "refund": api("POST", f"/api/v1/purchases/{purchase.json()['id']}/refunds/",
                      {"amount": "5.00"}, "r-1"),
        "catalogue": api("GET", "/api/v1/rewards/"),
        "change": api("PATCH", f"/api/v1/rewards/{reward.pk}/", {"name": "x"}),
        "redeem": api("POST", "/api/v1/redemptions/", {"member": card, "reward": reward.pk},
                      "v-1"),
    }
    code = answers["redeem"].json()["code"]
    answers["use"] = api("POST", f"/api/v1/vouchers/{code}/use")

    assert purchase.status_code == 201
    assert {name: answer.status_code for name, answer in answers.items()} == {
        "lookup": 200, "member": 200, "enrol": 201, "refund": 201, "catalogue": 200,
        "change": 403, "redeem": 201, "use": 200,
    }, {name: answer.body[:200] for name, answer in answers.items()}
    assert all(answer.cookies == [] for answer in answers.values())
    assert card in answers["lookup"].body.decode()
    assert answers["use"].json()["status"] == "used"
