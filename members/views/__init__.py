"""Views of the customer side: the shop's public page and the member portal."""
