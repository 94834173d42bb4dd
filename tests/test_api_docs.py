"""/api/docs/ under the same strict Content Security Policy as every page.

The page was blank: drf-spectacular's Swagger UI page starts the viewer with an inline
script (and styles itself inline), which ``script-src 'self'`` refuses. Now the start script is
a response of its own (``/api/docs/?script``) and the styles a static file, so the page needs
nothing the policy forbids, and no page's policy was loosened for it. The browser test
(tests/browser/test_api_docs.py) shows the operations listed."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

from loyalty.wsgi import application
from tests.test_wsgi import call

pytestmark = pytest.mark.django_db

STRICT = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]


def _policy(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def _assert_strict(header: str) -> None:
    policy = _policy(header)
    assert policy["script-src"] == ["'self'"], header
    assert policy["style-src"] == ["'self'"], header
    assert policy["default-src"] == ["'self'"], header
    assert policy["object-src"] == ["'none'"], header
    assert "unsafe" not in header
    assert "nonce-" not in header


def test_the_docs_page_has_no_inline_script_or_style(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert len(scripts) == 3  # Swagger UI's bundle, its preset, and the start script
    for attributes, body in scripts:
        assert 'src="' in attributes, attributes
        assert body.strip() == "", body[:200]
    assert "<style" not in html
    assert " style=" not in html
    assert re.search(r" on[a-z]+=", html) is None


def test_every_script_and_style_sheet_of_the_page_is_ours(client):
    html = client.get("/api/docs/").content.decode()

    sources = re.findall(r'<script src="([^"]+)"', html)
    sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert sources and sheets
    for url in sources + sheets:
        assert url.startswith("/"), url  # same origin, no CDN
    static = [url for url in sources + sheets if url.startswith("/" + settings.STATIC_URL)]
    for url in static:
        assert finders.find(url.removeprefix("/" + settings.STATIC_URL)), url
    start = next(url for url in sources if "script" in url.split("?", 1)[-1])
    assert start.startswith("/api/docs/?")


def test_the_start_script_is_javascript_that_loads_our_schema(client):
    response = client.get("/api/docs/", {"script": ""})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    script = response.content.decode()
    assert "SwaggerUIBundle(" in script
    assert '"/api/schema/"' in script


@pytest.mark.parametrize("path", ["/api/docs/", "/api/docs/?script="])
def test_the_docs_keep_the_strict_policy(path):
    answer = call(application, "GET", path)

    assert answer.status_code == 200
    _assert_strict(answer.headers["content-security-policy"])


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/accounts/signup/"])
def test_the_pages_keep_the_strict_policy(path):
    answer = call(application, "GET", path)

    assert answer.status_code == 200
    _assert_strict(answer.headers["content-security-policy"])
    assert _policy(answer.headers["content-security-policy"]) == {
        name: values for name, values in STRICT.items()}


def test_the_json_api_sends_no_policy():
    answer = call(application, "GET", "/api/v1/rewards/")

    assert answer.status_code == 401
    assert "content-security-policy" not in answer.headers
