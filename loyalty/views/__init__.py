"""Views of the core, split by audience: public pages, the owner dashboard and the counter."""
