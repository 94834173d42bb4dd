"""WSGI entry point (gunicorn loyalty.wsgi): the pages and, with fewer middlewares, the JSON API
(loyalty/handlers.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty.settings")
_pages = get_wsgi_application()  # sets Django up first

from loyalty.handlers import ApiWSGIHandler, Application  # noqa: E402

application = Application(pages=_pages, api=ApiWSGIHandler())
