"""Levels and badges: what customers climb toward (issue 12)."""
