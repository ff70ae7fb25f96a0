"""The managers' web dashboard (``vocwatch serve``): a page and a scoped JSON API."""
