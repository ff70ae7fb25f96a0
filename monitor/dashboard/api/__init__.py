"""The dashboard API, one module per area; importing this package registers every route
(``monitor.dashboard.routes.route``)."""

from monitor.dashboard.api import alerts, export, inbox, location, portfolio  # noqa: F401
