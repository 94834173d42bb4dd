"""Badges and challenges: earned once at the purchase that completes them, undone when that
purchase is refunded within its pending window."""
