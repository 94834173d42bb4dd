"""Errors that no API view answers — an unknown path under /api/v1/, an unhandled exception —
are JSON in the API's error shape too (loyalty/views/errors.py, the root URLconf's handler404
and handler500); pages keep Django's HTML 404 and 500. Each case goes through the test client
(settings.MIDDLEWARE) and through the WSGI application as gunicorn serves it (the API's own
middleware chain, loyalty/handlers.py)."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.urls import path
from django.utils import translation
from django.utils.translation import gettext
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from loyalty import urls as project_urls
from loyalty.services import api_key_create
from loyalty.wsgi import application
from tests.test_wsgi import call

pytestmark = pytest.mark.django_db


# --- A test-only URLconf: the project's URLs plus views that fail ------------------------------


class Boom(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("boom")


def boom_page(request):
    raise RuntimeError("boom")


urlpatterns = [
    path("api/v1/boom/", Boom.as_view()),
    path("boom/", boom_page),
    *project_urls.urlpatterns,
]
handler404 = project_urls.handler404
handler500 = project_urls.handler500

with_failing_views = pytest.mark.urls(__name__)


# --- Helpers -----------------------------------------------------------------------------------


def error_of(status_code: int, content_type: str, body: bytes, *, status: int, code: str) -> str:
    """The API's error shape, exactly: returns its message."""
    assert status_code == status, body[:300]
    assert content_type == "application/json", body[:300]
    error = json.loads(body)
    assert list(error) == ["error"]
    assert set(error["error"]) == {"code", "message", "field"}
    assert error["error"]["code"] == code
    assert error["error"]["field"] is None
    return error["error"]["message"]


def client_error(response, **expected) -> str:
    return error_of(response.status_code, response["Content-Type"], response.content, **expected)


def app_error(answer, **expected) -> str:
    return error_of(answer.status_code, answer.headers["content-type"], answer.body, **expected)


@pytest.fixture
def api_auth(shop):
    return {"Authorization": f"Api-Key {api_key_create(shop=shop, name='till-1')[1]}"}


def test_the_suite_runs_without_debug():
    """With DEBUG on, Django shows its technical pages instead of the handlers."""
    assert settings.DEBUG is False


# --- 404 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("with_key", [False, True], ids=["no-key", "valid-key"])
def test_an_unknown_api_path_is_a_json_404(client, request, with_key):
    headers = request.getfixturevalue("api_auth") if with_key else {}

    through_client = client.get("/api/v1/nope/", headers=headers)
    through_app = call(application, "GET", "/api/v1/nope/", headers=headers)

    assert client_error(through_client, status=404, code="not_found") == "Not found."
    assert app_error(through_app, status=404, code="not_found") == "Not found."
    assert through_app.cookies == []


def test_an_unknown_api_path_answers_in_the_callers_language(client, api_auth):
    with translation.override("nl"):
        dutch = gettext("Not found.")
    assert dutch != "Not found."

    through_client = client.get("/api/v1/nope/", headers={**api_auth, "Accept-Language": "nl"})
    through_app = call(application, "GET", "/api/v1/nope/",
                       headers={**api_auth, "Accept-Language": "nl"})

    assert client_error(through_client, status=404, code="not_found") == dutch
    assert app_error(through_app, status=404, code="not_found") == dutch
    assert through_app.headers["content-language"] == "nl"


def assert_html_page(through_client, through_app, status: int, text: bytes) -> None:
    """Both ways of serving answered the HTML page with this status and text."""
    for got_status, content_type, body in (
        (through_client.status_code, through_client["Content-Type"], through_client.content),
        (through_app.status_code, through_app.headers["content-type"], through_app.body),
    ):
        assert got_status == status
        assert content_type.startswith("text/html")
        assert text in body


def test_an_unknown_page_keeps_the_html_404(client):
    through_client = client.get("/nope/")
    through_app = call(application, "GET", "/nope/")

    assert_html_page(through_client, through_app, 404, b"We can't find that page")  # 404.html


def test_a_wrong_method_on_an_api_url_is_still_drfs_405(client, api_auth):
    response = client.delete("/api/v1/purchases/", headers=api_auth)

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


# --- 500 ---------------------------------------------------------------------------------------


@with_failing_views
def test_an_unhandled_exception_in_the_api_is_a_json_500(client):
    client.raise_request_exception = False

    through_client = client.get("/api/v1/boom/")
    through_app = call(application, "GET", "/api/v1/boom/")

    assert client_error(through_client, status=500, code="server_error") == (
        "A server error occurred.")
    assert app_error(through_app, status=500, code="server_error") == "A server error occurred."
    assert "boom" not in through_app.body.decode()


@with_failing_views
def test_a_json_500_answers_in_the_callers_language(client):
    client.raise_request_exception = False
    with translation.override("nl"):
        dutch = gettext("A server error occurred.")
    assert dutch != "A server error occurred."

    through_client = client.get("/api/v1/boom/", headers={"Accept-Language": "nl"})
    through_app = call(application, "GET", "/api/v1/boom/", headers={"Accept-Language": "nl"})

    assert client_error(through_client, status=500, code="server_error") == dutch
    assert app_error(through_app, status=500, code="server_error") == dutch


@with_failing_views
def test_an_unhandled_exception_on_a_page_keeps_the_html_500(client):
    client.raise_request_exception = False

    through_client = client.get("/boom/")
    through_app = call(application, "GET", "/boom/")

    assert_html_page(through_client, through_app, 500,
                     b"Something went wrong on our side")  # templates/500.html


@with_failing_views
def test_the_api_500_handler_does_not_fail_when_translation_does(monkeypatch, rf):
    """Django has no handler left to call if handler500 raises."""
    from loyalty.views import errors

    class Broken:
        def __str__(self):
            raise RuntimeError("no catalogue")

    monkeypatch.setattr(errors.APIException, "default_detail", Broken())

    response = errors.server_error(rf.get("/api/v1/boom/"))

    assert client_error(response, status=500, code="server_error") == "A server error occurred."
