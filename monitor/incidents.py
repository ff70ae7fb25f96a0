"""Alerts as incidents people work on: who may see one, and the changes that are recorded.

An alert's state lives in ``store.alerts`` (forward only: new -> notified -> acknowledged
-> resolved); who acted, when, and the assignee and notes live in the workflow's audit log
(``store.workflow``, work items of kind ``alert``). Every way an alert is acknowledged or
resolved goes through here, so the history and the times to acknowledge / resolve are
complete whoever acted: the dashboard (``token:<id> <label>``), the command line
(``cli:<login>``) and the quiet auto-resolve after the cooldown (``system``).

The state moves first (an atomic, forward-only step that tells whether *this* call moved
it), then its event is appended: of two people acknowledging at once exactly one is
recorded, and a move that is refused records nothing.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from datetime import datetime

from config import Config
from crawlers.store.alerts import Alert, AlertStoreError, moves_to
from crawlers.store.base import Store
from crawlers.store.workflow import WorkEvent, WorkItem, apply_change, note_event
from monitor.dashboard.auth import Scope

SYSTEM = "system"
"""The actor of the quiet auto-resolve."""
ACTIONS = {"acknowledged": "acknowledge", "resolved": "resolve"}
"""The alert states a person sets, and the audit log's action for each."""


def cli_actor() -> str:
    """``cli:<login name>`` of whoever runs the command (``cli:unknown`` when the system has none)."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return f"cli:{' '.join(who.split()) or 'unknown'}"


# -- who sees an alert ------------------------------------------------------------------------
def alert_locations(alert: Alert, config: Config) -> set[str]:
    """The own locations an alert is about: its location; a crawl-health alert's source's
    location; a brand- or region-level alert's own locations of that brand and/or region.
    Empty for an alert about a competitor (or about nothing configured any more)."""
    own = {loc.id: loc for loc in config.own_locations()}
    lid = alert.location_id
    if alert.kind == "crawl_health":  # about one source: its location, never its brand
        src = config.sources.get(str(alert.details.get("source_id", "")))
        lid = src.location if src else lid
        return {lid} if lid in own else set()
    if lid:
        return {lid} if lid in own else set()
    if not (alert.brand or alert.region):
        return set()
    return {i for i, loc in own.items()
            if (not alert.brand or loc.brand == alert.brand) and (not alert.region or loc.region == alert.region)}


def visible(alert: Alert, scope: Scope | None, config: Config) -> bool:
    """Whether a token of ``scope`` sees (and so may work on) ``alert``: administrators see
    every alert; anyone else sees an alert when every own location it is about is in their
    scope. So a store manager sees their location's alerts (and those of a brand that is
    only their location), a region or brand office sees its locations' alerts and a brand-
    or region-level alert it covers, and nobody but an administrator sees alerts about
    competitors or a brand spike reaching beyond their scope. The one rule of every list,
    incident page and write."""
    if scope is None:
        return False
    if scope.is_admin:
        return True
    about = alert_locations(alert, config)
    return bool(about) and about <= {loc.id for loc in scope.locations(config)}


# -- recorded changes -------------------------------------------------------------------------
def work_item(store: Store, alert: Alert) -> WorkItem:
    """The alert's work item (assignee, who last changed it); a fresh one when none is stored."""
    return store.workflow.get("alert", alert.id) or WorkItem(kind="alert", item_id=alert.id,
                                                              location_id=alert.location_id)


def check_move(alert: Alert, state: str) -> None:
    """Raise :class:`AlertStoreError` when a person may not set ``state`` now (a move
    backwards, or a state people do not set), before anything is written."""
    if state not in ACTIONS:
        raise AlertStoreError(f"a person acknowledges or resolves an alert; {state!r} is set by the system")
    moves_to(alert, state)


def set_state(store: Store, alert_id: str, state: str, *, actor: str, now: datetime) -> tuple[Alert, bool]:
    """Acknowledge or resolve, and record who did it; returns the alert and whether this
    call moved it (False: it already was in ``state``; nothing is recorded)."""
    if state not in ACTIONS:
        raise AlertStoreError(f"a person acknowledges or resolves an alert; {state!r} is set by the system")
    alert, before = store.alerts.move(alert_id, state)
    if before == alert.state:
        return alert, False
    store.workflow.record(_event(alert, ACTIONS[state], actor, now, {"from": before, "to": state}))
    return alert, True


def assign(store: Store, alert: Alert, *, actor: str, now: datetime, assignee: str | None = None,
           unassign: bool = False) -> tuple[WorkItem, list[WorkEvent]]:
    """Assign the alert to a person or department (or nobody), recorded; no event when it
    is already so. The work item's status is left as it is: an alert's state (acknowledged,
    resolved) is its status, so its history holds no second one."""
    item = work_item(store, alert)
    item, events = apply_change(item, now=now, actor=actor, status=item.status, assignee=assignee, unassign=unassign)
    if events:
        store.workflow.save(item, events)
    return item, events


def note(store: Store, alert: Alert, *, actor: str, now: datetime, text: str) -> WorkEvent:
    event = note_event(work_item(store, alert), now=now, actor=actor, text=text)
    store.workflow.record(event)
    return event


def resolve_quiet(store: Store, before: datetime, *, now: datetime, cooldown_hours: float) -> list[Alert]:
    """Resolve the incidents not seen since ``before`` and record each as resolved by
    ``system`` at ``now`` (the check that noticed the quiet)."""
    resolved = store.alerts.resolve_quiet(before)
    for a in resolved:
        store.workflow.record(_event(a, "resolve", SYSTEM, now, {
            "from": a.state, "to": "resolved", "reason": f"not seen for {cooldown_hours:g} h (cooldown)"}))
        a.state = "resolved"
    return resolved


def history(store: Store, alert_id: str, *, limit: int = 500) -> list[WorkEvent]:
    """The recorded events of one alert, oldest first."""
    return store.workflow.events(kind="alert", item_id=alert_id, limit=limit)[::-1]


def state_events(store: Store, alert_ids: Iterable[str], *, limit: int = 100_000) -> list[WorkEvent]:
    """The acknowledge and resolve events of these alerts (what the times are measured by)."""
    wanted = set(alert_ids)
    return [e for e in store.workflow.events(kind="alert", actions=tuple(ACTIONS.values()), limit=limit)
            if e.item_id in wanted]


def _event(alert: Alert, action: str, actor: str, now: datetime, detail: dict[str, object]) -> WorkEvent:
    return WorkEvent(at=now, actor=actor, action=action, kind="alert", item_id=alert.id,
                     location_id=alert.location_id, detail=dict(detail))
