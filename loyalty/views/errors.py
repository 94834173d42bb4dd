"""The root URLconf's 404 and 500 handlers: JSON in the API's error shape under ``/api/v1/``,
Django's own HTML pages (templates/404.html, 500.html) everywhere else.

DRF answers the errors its views raise (loyalty.api.api_exception_handler); these cover what
never reaches a DRF view's handler: an unknown API path and an unhandled exception. The
messages are DRF's, translated in the request's language.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.views import defaults
from rest_framework.exceptions import APIException, NotFound

from ..middleware import API_JSON_PREFIX


def _is_api(request) -> bool:
    return getattr(request, "path_info", "").startswith(API_JSON_PREFIX)


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "field": None}},
                        status=status)


def page_not_found(request, exception):
    """``handler404``: JSON ``not_found`` for the API, the HTML page otherwise."""
    if _is_api(request):
        return _error(404, "not_found", str(NotFound.default_detail))
    return defaults.page_not_found(request, exception)


def server_error(request):
    """``handler500``: JSON ``server_error`` for the API, the HTML page otherwise. It must not
    fail in turn, so the message falls back to DRF's English text."""
    if _is_api(request):
        try:
            message = str(APIException.default_detail)
        except Exception:
            message = "A server error occurred."
        return _error(500, "server_error", message)
    return defaults.server_error(request)
