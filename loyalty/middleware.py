"""Per-request time zone: pages of a shop show times in the shop's time zone.

The access decorators activate the shop's zone; this middleware resets it first, so that a
zone never leaks from one request to the next on the same thread."""

from django.utils import timezone


class ResetTimezoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
