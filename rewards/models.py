"""Models of the rewards app (built in a later issue)."""
