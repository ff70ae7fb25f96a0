"""What the account pools (``crawlers.sessions``) and the proxy pool (``crawlers.proxies``)
share: the ``request.meta`` keys that say which identity a request went out with, the site
a source's identities belong to, and one reading of "this identity was banned".

Who reacts to a ban is decided from these (``../shared/DESIGN.md``): a ban through a pool
proxy rests the proxy; a login wall, or a ban with no pool proxy, rests the account.
"""

from __future__ import annotations

from typing import Any

from scrapy.http import Response, TextResponse

from spiders.pages.blocked import response_block_reason

ACCOUNT_META = "vocwatch_account"
"""``Request.meta``: the name of the account the request went out with (never a secret)."""
PROXY_META = "vocwatch_proxy"
"""``Request.meta``: the name (``p1``...) of the pool proxy the request went through."""
BAN_STATUSES = (403, 429)
"""What a site answers an identity it has banned with, when it serves no block page."""


def site_of(spider: Any) -> str:
    """The site a source's ``[sessions.<site>]`` table is named by: the source's ``site``
    (an adapter name for ``kind = "site"``) or the spider's own site."""
    source = getattr(spider, "source", None)
    return str(getattr(source, "site", None) or getattr(spider, "site", "") or "")


def response_text(response: Response) -> str:
    """The response's text, "" for a body that is no text or does not decode."""
    if not isinstance(response, TextResponse):
        return ""
    try:
        return response.text
    except (UnicodeDecodeError, LookupError):
        return ""


def ban_reason(response: Response) -> str | None:
    """``login_wall``, another block reason (``captcha``, ``challenge``), ``http_403`` /
    ``http_429``, or None for a page the identity may keep reading."""
    reason = response_block_reason(response, response_text(response))
    if reason is None and response.status in BAN_STATUSES:
        reason = f"http_{response.status}"
    return reason
