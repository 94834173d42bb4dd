"""The WSGI application: Django's handler, with a shorter middleware chain for the JSON API.

A till's call needs few of the pages' middlewares: no session, CSRF token, messages, signed-in
user, allauth, htmx or static files (whitenoise). Each one is still a layer of calls on every
request, and the earn (``POST /api/v1/purchases/``) is the hot path (docs/benchmarks.md). So
requests under ``/api/v1/`` go through ``settings.API_MIDDLEWARE`` — security headers, the
language of the answer, the time-zone reset, the common checks — and everything else, the API's
HTML documentation included, through ``settings.MIDDLEWARE``. Both chains end in the same URLs
and views. The test client builds its own handler from ``settings.MIDDLEWARE``;
``tests/test_wsgi.py`` serves the API through this application itself.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler, get_path_info
from django.utils.module_loading import import_string

from .middleware import API_JSON_PREFIX


class ApiWSGIHandler(WSGIHandler):
    """Django's WSGI handler with ``settings.API_MIDDLEWARE`` as its chain (synchronous, as
    Django builds it for WSGI)."""

    def load_middleware(self, is_async=False):
        if is_async:
            raise ImproperlyConfigured("ApiWSGIHandler serves WSGI (synchronous) requests only.")
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(settings.API_MIDDLEWARE):
            try:
                middleware = import_string(path)(handler)
            except MiddlewareNotUsed:
                continue
            if middleware is None:
                raise ImproperlyConfigured(f"Middleware factory {path} returned None.")
            if hasattr(middleware, "process_view"):
                self._view_middleware.insert(0, middleware.process_view)
            if hasattr(middleware, "process_template_response"):
                self._template_response_middleware.append(middleware.process_template_response)
            if hasattr(middleware, "process_exception"):
                self._exception_middleware.append(middleware.process_exception)
            handler = convert_exception_to_response(middleware)
        self._middleware_chain = handler


class Application:
    """Sends ``/api/v1/…`` to the API's handler and every other path to the pages' handler."""

    def __init__(self, pages: WSGIHandler, api: WSGIHandler):
        self.pages, self.api = pages, api

    def __call__(self, environ, start_response):
        handler = self.api if get_path_info(environ).startswith(API_JSON_PREFIX) else self.pages
        return handler(environ, start_response)
