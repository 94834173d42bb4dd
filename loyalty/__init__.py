"""Trouw's project package and core loyalty engine."""

from .celery import app as celery_app

__all__ = ("celery_app",)
