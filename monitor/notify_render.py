"""Alert messages in text, HTML, Markdown and JSON.

An alert's summary and mentions quote scraped reviews, i.e. text written by anyone on the
internet. Every piece of alert text is therefore escaped for the format it goes into
(``html.escape`` for HTML, HTML + Markdown escaping for Markdown, which apprise may turn
into HTML), links are made only from http(s) URLs, and the title is forced onto one short
line because it becomes an email Subject header.

With the dashboard's public address configured (``[dashboard] url``), every message links
to the alert's incident page (``<url>/#/alerts/<id>``), where it is acknowledged, assigned
and resolved; the renderers take that address as ``dashboard_url`` and add nothing without it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol
from urllib.parse import quote

MAX_MENTIONS = 5
MAX_MENTION_CHARS = 400
MAX_TITLE_CHARS = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


class AlertLike(Protocol):
    """What delivery reads from an alert (``monitor.alerting.Alert`` has these attributes)."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def location_id(self) -> str | None: ...
    @property
    def brand(self) -> str | None: ...
    @property
    def region(self) -> str | None: ...
    @property
    def aspect(self) -> str | None: ...
    @property
    def title(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def mentions(self) -> Sequence[Mapping[str, Any]]: ...
    @property
    def first_seen(self) -> datetime: ...
    @property
    def last_seen(self) -> datetime: ...
    @property
    def version(self) -> int: ...
    def to_dict(self) -> dict[str, Any]: ...


def one_line(text: object, limit: int) -> str:
    """Control characters and line breaks become spaces (no header injection), then cut to ``limit``."""
    flat = " ".join(_CONTROL.sub(" ", str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def subject(alert: AlertLike) -> str:
    """``[WARNING] title`` plus ``(updated)`` when the alert changed since it was first raised."""
    updated = " (updated)" if alert.version > 1 else ""
    return one_line(f"[{alert.severity.upper()}] {alert.title}{updated}", MAX_TITLE_CHARS)


def _facts(alert: AlertLike) -> list[tuple[str, str]]:
    facts = [("Kind", alert.kind), ("Severity", alert.severity)]
    for label, value in (("Location", alert.location_id), ("Brand", alert.brand),
                         ("Region", alert.region), ("Aspect", alert.aspect)):
        if value:
            facts.append((label, value))
    facts += [("First seen", f"{alert.first_seen:%Y-%m-%d %H:%M} UTC"),
              ("Last seen", f"{alert.last_seen:%Y-%m-%d %H:%M} UTC"),
              ("Alert", f"{alert.id} v{alert.version}" + (" (updated)" if alert.version > 1 else ""))]
    return facts


def _mention_text(m: Mapping[str, Any]) -> str:
    return one_line(m.get("text") or "", MAX_MENTION_CHARS)


def _mention_meta(m: Mapping[str, Any]) -> str:
    bits = [str(m[k]) for k in ("published_at", "source_id") if m.get(k)]
    if m.get("engagement"):
        bits.append(f"engagement {m['engagement']}")
    if m.get("why"):
        bits.append(str(m["why"]))
    return one_line(" · ".join(bits), 200)


def _safe_link(url: object) -> str | None:
    """Only http(s) URLs become links: ``javascript:`` or ``data:`` would run in a mail client."""
    text = str(url or "").strip()
    return text if re.match(r"^https?://[^\s\"'<>]+$", text, re.IGNORECASE) else None


def incident_url(dashboard_url: str | None, alert_id: str) -> str | None:
    """The alert's incident page on the dashboard (the id percent-encoded), or None when
    the dashboard's address is not configured."""
    if not dashboard_url:
        return None
    return f"{dashboard_url.rstrip('/')}/#/alerts/{quote(str(alert_id), safe='')}"


def render_text(alert: AlertLike, dashboard_url: str | None = None) -> str:
    lines = [subject(alert), "", alert.summary.strip(), ""]
    if link := incident_url(dashboard_url, alert.id):
        lines += [f"Incident page (acknowledge, assign, resolve): {link}", ""]
    lines += [f"{label}: {value}" for label, value in _facts(alert)]
    shown = list(alert.mentions)[:MAX_MENTIONS]
    if shown:
        lines += ["", f"Mentions ({len(shown)} of {len(alert.mentions)}):"]
        for m in shown:
            lines.append(f"- {_mention_text(m)}")
            meta = " · ".join(x for x in (_mention_meta(m), one_line(m.get("url") or "", 500)) if x)
            if meta:
                lines.append(f"  {meta}")
    return "\n".join(lines) + "\n"


def render_html(alert: AlertLike, dashboard_url: str | None = None) -> str:
    e = html.escape
    colour = {"critical": "#b00020", "warning": "#b36b00"}.get(alert.severity, "#1f5fa8")
    rows = "".join(f"<tr><th align=\"left\" style=\"padding-right:1em\">{e(k)}</th><td>{e(str(v))}</td></tr>"
                   for k, v in _facts(alert))
    items = []
    for m in list(alert.mentions)[:MAX_MENTIONS]:
        link = _safe_link(m.get("url"))
        where = (f'<a href="{e(link)}" rel="noopener noreferrer" target="_blank">{e(one_line(link, 120))}</a>'
                 if link else e(one_line(m.get("url") or "", 120)))
        meta = " · ".join(x for x in (e(_mention_meta(m)), where) if x)
        items.append(f"<li><p style=\"margin:0\">{e(_mention_text(m))}</p>"
                     f"<p style=\"margin:0;color:#666;font-size:90%\">{meta}</p></li>")
    mentions = f"<h3>Mentions ({len(items)} of {len(alert.mentions)})</h3><ul>{''.join(items)}</ul>" if items else ""
    summary = "<br>".join(e(line) for line in alert.summary.strip().splitlines())
    link = incident_url(dashboard_url, alert.id)
    # the address as the link's text too: the plain-text part mail clients show is made from this
    page = (f"<p>Incident page: <a href=\"{e(link)}\" class=\"incident\">{e(link)}</a> "
            f"(acknowledge, assign, resolve)</p>" if link else "")
    return (f"<html><body style=\"font-family:sans-serif\">"
            f"<h2 style=\"color:{colour}\">{e(subject(alert))}</h2><p>{summary}</p>{page}"
            f"<table>{rows}</table>{mentions}</body></html>")


def _md(text: object) -> str:
    """Escape for Markdown *and* HTML: apprise renders Markdown to HTML for email, and the
    Markdown converter passes raw HTML through."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False))


def render_markdown(alert: AlertLike, dashboard_url: str | None = None) -> str:
    lines = [f"**{_md(subject(alert))}**", "", _md(alert.summary.strip()), ""]
    if (link := incident_url(dashboard_url, alert.id)) and ">" not in link:
        lines += [f"[Open the incident page](<{link}>) (acknowledge, assign, resolve)", ""]
    lines += [f"- **{_md(k)}**: {_md(v)}" for k, v in _facts(alert)]
    shown = list(alert.mentions)[:MAX_MENTIONS]
    if shown:
        lines += ["", f"**Mentions ({len(shown)} of {len(alert.mentions)})**", ""]
        for m in shown:
            link = _safe_link(m.get("url"))
            where = f" [link](<{link}>)" if link and ">" not in link else ""
            lines.append(f"- {_md(_mention_text(m))} _{_md(_mention_meta(m))}_{where}")
    return "\n".join(lines) + "\n"


RENDERERS = {"text": render_text, "html": render_html, "markdown": render_markdown}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def payload(alert: AlertLike, dashboard_url: str | None = None) -> dict[str, Any]:
    """``alert.to_dict()`` as plain JSON values (datetimes as ISO 8601), plus ``updated``
    and ``incident_url`` (None when the dashboard's address is not configured).

    JSON is escaped by its encoder; consumers that put these strings into HTML must escape them.
    """
    data = _jsonable(alert.to_dict())
    data["updated"] = alert.version > 1
    data["incident_url"] = incident_url(dashboard_url, alert.id)
    return data
