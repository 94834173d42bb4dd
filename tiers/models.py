"""The tiers app's models: the badges' live in tiers/badges/models.py."""

from .badges.models import *  # noqa: F403
from .badges.models import __all__ as _badges_all

__all__ = [*_badges_all]
