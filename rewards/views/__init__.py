"""Views of the rewards app, by audience: dashboard (catalogue), counter, portal."""
