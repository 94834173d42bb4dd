"""Tests of the tiers app."""
