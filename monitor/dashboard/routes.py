"""The dashboard API's routing: one registry of ``(method, path pattern) -> handler``.

Each area of the API (``monitor/dashboard/api/*.py``) registers its handlers with
:func:`route`; a handler gets a :class:`Request` (the token, the path's groups, the query,
the JSON body of a POST) and returns JSON-able data or a :class:`Download`. Access rules
live here once: :meth:`Request.check_location` for every location in a URL, and
:meth:`Request.mention_query` for every list of mentions, so a write is scoped exactly like
a read and no handler can forget the scope.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from config import Location
from crawlers.store.base import MAX_QUERY_LIMIT, MentionQuery
from monitor.dashboard.auth import Scope, TokenRecord
from monitor.metrics import parse_window

if TYPE_CHECKING:
    from monitor.dashboard.server import Dashboard

SENTIMENTS = ("positive", "neutral", "negative", "unlabelled")


class HTTPError(Exception):
    """An API refusal: status and a message that is safe to show."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True, slots=True)
class Download:
    """A file answer (an export): sent with ``Content-Disposition: attachment``."""

    body: bytes
    content_type: str
    filename: str


Handler = Callable[["Request"], Any]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


ROUTES: list[Route] = []


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` for ``method`` and a path matching ``pattern`` in full."""
    if method not in ("GET", "POST"):
        raise ValueError(f"unsupported method {method!r}")

    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method, re.compile(pattern), handler))
        return handler

    return register


def find(method: str, path: str) -> tuple[Handler, tuple[str, ...]]:
    """The handler of ``method path`` and the path's groups; 404 / 405 otherwise."""
    from urllib.parse import unquote

    methods = set()
    for r in ROUTES:
        m = r.pattern.fullmatch(path)
        if m:
            if r.method == method:
                return r.handler, tuple(unquote(g) for g in m.groups())
            methods.add(r.method)
    if methods:
        raise HTTPError(HTTPStatus.METHOD_NOT_ALLOWED, f"{path} takes {', '.join(sorted(methods))}")
    raise HTTPError(HTTPStatus.NOT_FOUND, f"no such endpoint {path!r}")


@dataclass
class Request:
    """One API call, as a handler sees it."""

    dashboard: Dashboard
    record: TokenRecord
    method: str
    path: str
    params: tuple[str, ...] = ()
    query: dict[str, list[str]] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    session_id: str | None = None
    """The browser session the call came with (None for a Bearer token)."""

    # -- who ---------------------------------------------------------------------------
    @cached_property
    def scope(self) -> Scope | None:
        try:
            return Scope.parse(self.record.scope)
        except ValueError:
            return None  # a malformed stored scope sees nothing

    @property
    def is_admin(self) -> bool:
        return self.scope is not None and self.scope.is_admin

    @cached_property
    def allowed(self) -> dict[str, Location]:
        """The own locations this token sees, by id, in the scope's order."""
        if self.scope is None:
            return {}
        return {loc.id: loc for loc in self.scope.locations(self.dashboard.config)}

    @property
    def actor(self) -> str:
        """Who, for the audit log: the token's id and label (never the token)."""
        label = " ".join(self.record.label.split())
        return f"token:{self.record.id}" + (f" {label}" if label else "")

    @cached_property
    def now(self) -> datetime:
        return self.dashboard.clock()

    def check_location(self, location_id: str) -> Location:
        """The own location ``location_id`` if this token sees it: 404 unknown, 403 outside the scope."""
        config = self.dashboard.config
        if location_id not in config.locations:
            raise HTTPError(HTTPStatus.NOT_FOUND, f"unknown location {location_id!r}")
        if location_id not in self.allowed:
            raise HTTPError(HTTPStatus.FORBIDDEN, f"location {location_id!r} is outside this token's scope")
        return self.allowed[location_id]

    # -- what ----------------------------------------------------------------------------
    def param(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[-1] if values else default

    def params_list(self, name: str) -> list[str]:
        """Every value of a repeatable parameter, comma-separated values split."""
        return [v.strip() for vs in self.query.get(name, []) for v in vs.split(",") if v.strip()]

    def window(self, default: str) -> str:
        window = self.param("window", default)
        try:
            parse_window(window)
        except ValueError as exc:
            raise HTTPError(HTTPStatus.BAD_REQUEST, str(exc)) from None
        return window

    def whole(self, name: str, default: int, lo: int, hi: int) -> int:
        """A whole-number parameter in ``[lo, hi]``; anything else (``²``, ``1e3``, ``-1``) is a 400."""
        text = self.param(name, str(default))
        if not (text.isascii() and text.isdigit()) or not lo <= int(text) <= hi:
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"bad {name} {text!r}: use a whole number from {lo} to {hi}")
        return int(text)

    def mention_query(self, *, limit: int = 50, default_window: str | None = "90d") -> MentionQuery:
        """The mentions the query string asks for, limited to this token's scope.

        Parameters (all optional, repeatable where plural): ``location`` (ids; each
        checked, default every location in scope), ``window`` (``90d``; ``all`` for no
        window), ``source``, ``site``, ``sentiment``, ``language``, ``aspect`` (with
        ``aspect_sentiment``), ``min_rating`` / ``max_rating`` (0-5), ``replied``
        (``yes``/``no``: the site shows an owner reply), ``limit``, ``offset``."""
        lids = self.params_list("location")
        for lid in lids:
            self.check_location(lid)
        locations = tuple(lids) if lids else tuple(self.allowed)
        since = until = None
        window = self.param("window", default_window or "all")
        if window != "all":
            until = self.now
            since = until - parse_window(self.window(window))
        sentiments = self.params_list("sentiment")
        bad = [s for s in sentiments if s not in SENTIMENTS]
        if bad:
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"bad sentiment {bad[0]!r}: use {', '.join(SENTIMENTS)}")
        aspect_sentiment = self.param("aspect_sentiment") or None
        if aspect_sentiment is not None and aspect_sentiment not in SENTIMENTS[:3]:
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"bad aspect_sentiment {aspect_sentiment!r}")
        replied = self.param("replied")
        if replied not in ("", "yes", "no"):
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"bad replied {replied!r}: use yes or no")
        return MentionQuery(
            location_ids=locations, since=since, until=until,
            source_ids=tuple(self.params_list("source")) or None, sites=tuple(self.params_list("site")) or None,
            sentiments=tuple(sentiments) or None, languages=tuple(self.params_list("language")) or None,
            aspect=self.param("aspect") or None, aspect_sentiment=aspect_sentiment,
            min_rating=self._rating("min_rating"), max_rating=self._rating("max_rating"),
            has_reply=None if not replied else replied == "yes",
            limit=self.whole("limit", limit, 1, MAX_QUERY_LIMIT), offset=self.whole("offset", 0, 0, 10**9),
        )

    def _rating(self, name: str) -> float | None:
        text = self.param(name)
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not 0 <= value <= 5:
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"bad {name} {text!r}: use a number from 0 to 5")
        return value

    def field(self, name: str, *, required: bool = True, max_chars: int = 2000) -> str | None:
        """A text field of the JSON body (400 when missing, not text, or too long)."""
        value = self.body.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value.strip()) or len(value) > max_chars:
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"{name!r} must be text of 1 to {max_chars} characters")
        return value

