"""Tests of badges and challenges."""
