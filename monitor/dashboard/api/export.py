"""Dashboard API: export (see monitor/dashboard/routes.py for how routes are registered)."""

from __future__ import annotations
