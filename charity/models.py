"""Models of the charity app (built in a later issue)."""
