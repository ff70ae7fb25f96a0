"""Secrets never printed: one place that masks them in URLs, messages and log records.

Two mechanisms, because neither is enough alone:

- *by pattern*: the password of any ``scheme://user:password@host`` and the value of any
  secret-named query parameter (``token=``, ``key=``, ``access_token=``, ``secret=``,
  ``password=``, ``sign=``, ...) are masked wherever they appear, known or not;
- *by value*: the secrets this process actually holds (values of ``${ENV}`` references in
  channel URLs, the store URL's password, ``VOCWATCH_*`` secret variables) are replaced
  wherever they appear, as written or URL-encoded, also where no pattern could spot them (a
  bot key in a URL path, a token echoed bare by a library's error message). The CLI
  remembers them for the whole process once the config is loaded (:func:`remember`);
  while a config loads or a channel sends they are held for that block (:func:`secrets_in_use`).

:func:`install_log_scrubbing` applies both to every log record of the process, third-party
libraries' DEBUG records included (apprise, urllib3, pymongo, Scrapy, Twisted). It works
through the log record factory rather than a filter on a handler because Scrapy replaces
its root handler with every crawler (``scrapy.crawler.Crawler._apply_settings``) and apprise
adds handlers of its own (``apprise.LogCapture``): a handler filter would be lost or bypassed.

Pure standard library, so ``config``, ``crawlers``, ``monitor`` and the CLI all import it.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

MASK = "***"
#: Query parameters whose value is a credential (compared case-insensitively; apprise's
#: ``-name=`` / ``+name=`` / ``:name=`` prefixes included).
SECRET_PARAMS = frozenset({"pass", "password", "pwd", "token", "secret", "key", "apikey", "api_key",
                           "access_token", "secret_key", "signature", "sign", "sig", "auth"})
#: A URL part that looks like a generated credential: 16+ letters/digits/_/-, both letters and digits.
TOKENISH = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_-]{16,}$")
MIN_SECRET = 4
"""Shorter remembered values are masked only by pattern: replacing "ab" everywhere would
mangle every message while hiding almost nothing."""

_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:'\"<>]*:)(?P<pw>[^\s/'\"<>]+)@")
_PARAM_NAMES = "|".join(sorted(map(re.escape, SECRET_PARAMS), key=len, reverse=True))
_PARAM = re.compile(rf"(?P<head>[?&;][-+:]?(?:{_PARAM_NAMES})=)(?P<value>[^&#\s'\"<>]+)", re.IGNORECASE)
_SECRET_ENV = re.compile(r"^VOCWATCH_\w*(URL|TOKEN|SECRET|PASSWORD|PASSWD|KEY)\w*$")
_NOT_SECRET_ENV = re.compile(r"_(FILE|PATH|DIR)$")

_known: set[str] = set()
_lock = threading.Lock()
_in_use: ContextVar[frozenset[str]] = ContextVar("vocwatch_secrets_in_use", default=frozenset())


_known_re: re.Pattern[str] | None = None


def remember(values: Iterable[str]) -> None:
    """Add secret values to those masked wherever they appear (process-wide)."""
    global _known_re
    with _lock:
        before = len(_known)
        _known.update(v for v in values if v and len(v) >= MIN_SECRET)
        if len(_known) != before or (_known and _known_re is None):
            _known_re = _alternation(_known)


def known_secrets() -> frozenset[str]:
    with _lock:
        return frozenset(_known | _in_use.get())


def _alternation(secrets: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for all secrets, as written and URL-encoded (as in a logged request path),
    longest first so a secret containing another is masked whole."""
    forms = {f for s in secrets for f in (s, quote(s, safe=""))}
    if not forms:
        return None
    return re.compile("|".join(map(re.escape, sorted(forms, key=len, reverse=True))))


@contextmanager
def secrets_in_use(values: Iterable[str]) -> Iterator[None]:
    """Mask these values too, for the duration of the block and in this thread or task only:
    while a config is being loaded (apprise logs the URLs it parses) or a channel is being
    sent to, before or without anything being remembered for the whole process."""
    token = _in_use.set(_in_use.get().union(v for v in values if v and len(v) >= MIN_SECRET))
    try:
        yield
    finally:
        _in_use.reset(token)


def query_params(query: str) -> list[tuple[str, str]]:
    """A URL's query as (name, value) pairs, a ``+`` kept as written (apprise's ``+Header=``
    names, base64 tokens), not turned into a space as HTML forms would."""
    return parse_qsl(query.replace("+", "%2B"), keep_blank_values=True)


def is_secret_param(name: str) -> bool:
    """Whether a query parameter carries a credential (apprise's ``-``/``+``/``:`` prefixes ignored)."""
    return name.lower().lstrip("-+:") in SECRET_PARAMS


def url_secrets(url: str, *, tokenish: bool = True) -> list[str]:
    """The credential parts of a URL: its password, secret-named query values and (with
    ``tokenish``, for notification URLs whose bot keys sit in the host or path) parts that
    look like generated keys. Store URLs pass ``tokenish=False``: their paths are file names."""
    if "://" not in url:
        return []
    rest = url.split("://", 1)[1]
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    userinfo, _, host = netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    found = [password, unquote(password)] if password else []
    if tokenish:
        found += [p for part in (user, re.sub(r":\d+$", "", host), *path.split("/"))
                  for p in (part, unquote(part)) if TOKENISH.match(p)]
    for key, value in query_params(query):
        if value and (is_secret_param(key) or (tokenish and TOKENISH.match(value))):
            found.append(value)
    return [s for s in dict.fromkeys(found) if s]


def env_secrets(environ: dict[str, str] | None = None) -> list[str]:
    """Secret values of ``VOCWATCH_*`` variables: the credential parts of ``..._URL`` ones,
    the whole value of ``..._TOKEN`` / ``_SECRET`` / ``_PASSWORD`` / ``_KEY`` ones."""
    out: list[str] = []
    for name, value in (os.environ if environ is None else environ).items():
        if not _SECRET_ENV.match(name) or _NOT_SECRET_ENV.search(name):
            continue
        out += url_secrets(value, tokenish=not name.endswith("STORE_URL")) if "://" in value else [value]
    return out


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every remembered secret (and ``extra`` ones) replaced by ``***``, and the
    password and secret query values of any URL in it masked."""
    if not text:
        return text
    more = _in_use.get().union(s for s in extra if s and len(s) >= MIN_SECRET)
    with _lock:
        pattern = _alternation(_known | more) if more else _known_re
    if pattern is not None:
        text = pattern.sub(MASK, text)
    if "://" in text:
        text = _USERINFO.sub(lambda m: m["head"] + MASK + "@", text)
    if "=" in text:
        text = _PARAM.sub(lambda m: m["head"] + MASK, text)
    return text


def mask_url(url: str) -> str:
    """A URL fit to print: ``mongodb://user:***@host/db``, ``...?token=***``."""
    return redact(url, url_secrets(url, tokenish=False))


# -- logging ----------------------------------------------------------------------------
class ScrubbedRecord(logging.LogRecord):
    """A log record whose message, exception and stack text come out scrubbed. Lazy: the
    message is formatted (and scrubbed) only when a handler emits it, so the DEBUG records
    Scrapy makes for every request and item and then discards cost nothing more."""

    def getMessage(self) -> str:
        return redact(super().getMessage())

    @property  # type: ignore[override]
    def exc_text(self) -> str | None:
        return self.__dict__.get("exc_text")

    @exc_text.setter
    def exc_text(self, value: str | None) -> None:
        self.__dict__["exc_text"] = redact(value) if value else value

    @property  # type: ignore[override]
    def stack_info(self) -> str | None:
        return self.__dict__.get("stack_info")

    @stack_info.setter
    def stack_info(self, value: str | None) -> None:
        self.__dict__["stack_info"] = redact(value) if value else value


class SecretFilter(logging.Filter):
    """For a handler of one's own: scrubs each record it passes in place (message with its
    arguments merged in, exception and stack text). Never drops a record."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what there is, scrubbed
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_installed = False


def install_log_scrubbing() -> None:
    """Make every log record of this process from now on a :class:`ScrubbedRecord`
    (idempotent), and scrub the traceback of an uncaught exception, which Python prints
    without logging. Also remembers the ``VOCWATCH_*`` secrets of the environment."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    remember(env_secrets())
    make_record = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if type(record) is logging.LogRecord:
            record.__class__ = ScrubbedRecord
            if record.__dict__.get("stack_info"):
                record.stack_info = record.__dict__["stack_info"]  # through the setter
        return record

    logging.setLogRecordFactory(factory)
    sys.excepthook = _scrubbed_excepthook


def _scrubbed_excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    sys.stderr.write(redact("".join(traceback.format_exception(kind, value, tb))))
