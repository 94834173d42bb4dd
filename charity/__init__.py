"""Charity: charities, donations and statements (built by a later issue)."""
