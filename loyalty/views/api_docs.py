"""The REST API's documentation page (/api/docs/): Swagger UI from drf-spectacular-sidecar's
static files, under the same strict Content Security Policy as every other page.

drf-spectacular's default view starts Swagger UI with an inline script and styles the page with
an inline ``<style>``; the policy (``script-src 'self'``, ``style-src 'self'``) refuses both and
the page stayed blank. Here the start script is its own response (``/api/docs/?script``, the
split view's way) and the page's few rules are in ``static/css/api_docs.css``.
"""

from __future__ import annotations

from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiDocsView(SpectacularSwaggerSplitView):
    template_name = "loyalty/api_docs.html"
