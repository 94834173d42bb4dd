"""django-allauth adapter: lets a flow that shows its own welcome silence allauth's messages."""

from allauth.account.adapter import DefaultAccountAdapter

QUIET_ATTR = "trouw_quiet_auth_messages"


class AccountAdapter(DefaultAccountAdapter):
    def add_message(self, request, *args, **kwargs):
        if getattr(request, QUIET_ATTR, False):
            return
        super().add_message(request, *args, **kwargs)
