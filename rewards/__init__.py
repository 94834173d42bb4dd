"""Rewards: the catalogue, redemptions and vouchers (built by a later issue)."""
