"""Middleware of our own."""

from csp.middleware import CSPMiddleware
from django.utils import timezone

API_JSON_PREFIX = "/api/v1/"


class ResetTimezoneMiddleware:
    """Pages of a shop show times in the shop's time zone: the access decorators activate it.
    This resets it first, so that a zone never leaks from one request to the next."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, minus the JSON API: a policy protects pages, and building it
    for every till request was a measurable share of an earn's CPU (docs/benchmarks.md).
    The API's HTML documentation (/api/docs/) keeps its policy."""

    def process_response(self, request, response):
        if request.path_info.startswith(API_JSON_PREFIX):
            return response
        return super().process_response(request, response)
