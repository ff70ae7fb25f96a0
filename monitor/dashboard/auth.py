"""Dashboard access tokens and what each one may see.

A token is a random secret handed to one manager; only its SHA-256 is stored, in a JSON
file whose path comes from the environment (never from the config, which is shared and
versioned). A token's scope decides which *own* locations it sees: ``location:ID`` one
location, ``region:R`` the own locations in that region, ``brand:B`` every own location
of the brand, ``all`` (the administrators') every own location and the crawl health of
every source. Competitors are never in scope themselves; their metrics are shown only as
part of an in-scope location's competitive set.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from config import Config, Location
from crawlers.store.base import is_mongo_url
from crawlers.store.sqlite import sqlite_path

SCOPE_KINDS = ("location", "region", "brand", "all")
ADMIN = "all"
"""The scope that sees everything, crawl health included: ``--scope all``."""
TOKEN_PREFIX = "vw_"
TOKENS_ENV = "VOCWATCH_TOKENS_FILE"


class ScopeError(ValueError):
    """A scope that is malformed or names nothing in the config."""


@dataclass(frozen=True, slots=True)
class Scope:
    kind: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Scope:
        if text.strip() == ADMIN:
            return cls(ADMIN, "")
        kind, sep, value = text.strip().partition(":")
        if not sep or kind not in SCOPE_KINDS or kind == ADMIN or not value:
            raise ScopeError(f"bad scope {text!r}: use location:ID, region:REGION, brand:BRAND or all")
        return cls(kind, value)

    def __str__(self) -> str:
        return ADMIN if self.is_admin else f"{self.kind}:{self.value}"

    @property
    def is_admin(self) -> bool:
        """Sees every own location and the crawl health of every source."""
        return self.kind == ADMIN

    def locations(self, config: Config) -> list[Location]:
        """The own locations this scope sees, sorted by region, name and id."""
        own = config.own_locations()
        if self.is_admin:
            hits = list(own)
        elif self.kind == "location":
            hits = [loc for loc in own if loc.id == self.value]
        else:
            hits = [loc for loc in own if getattr(loc, self.kind) == self.value]
        return sorted(hits, key=lambda loc: (loc.region, loc.name, loc.id))

    def validate(self, config: Config) -> None:
        """Refuse a scope that would see nothing: a typo must not mint a useless secret."""
        if self.locations(config):
            return
        if self.is_admin:
            raise ScopeError("the config has no own locations (role = \"own\") to see")
        if self.kind == "location":
            what = "a competitor location" if self.value in config.locations else "not a location id"
            raise ScopeError(f"location {self.value!r} is {what}; own locations: "
                             f"{', '.join(sorted(loc.id for loc in config.own_locations()))}")
        known = sorted({getattr(loc, self.kind) for loc in config.own_locations()})
        raise ScopeError(f"no own locations with {self.kind} {self.value!r}; known: {', '.join(known)}")


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: str
    sha256: str
    scope: str
    label: str
    created_at: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def default_tokens_path(store_url: str, base: Path | None = None) -> Path:
    """``$VOCWATCH_TOKENS_FILE``, else ``tokens.json`` beside a SQLite store, else
    ``data/tokens.json`` in ``base`` (the config file's folder: ``config.locate``)."""
    env = os.environ.get(TOKENS_ENV)
    if env:
        return Path(env)
    if not is_mongo_url(store_url):
        path = sqlite_path(store_url)
        if path != ":memory:":
            return Path(path).parent / "tokens.json"
    return (base or Path()) / "data" / "tokens.json"


class TokenFile:
    """The hashed tokens on disk; re-read when the file changes, so a token created or
    removed while the dashboard runs takes effect without a restart."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._records: list[TokenRecord] = []

    def records(self) -> list[TokenRecord]:
        with self._lock:
            try:
                st = self.path.stat()
            except FileNotFoundError:
                self._stamp, self._records = None, []
                return []
            stamp = (st.st_mtime_ns, st.st_size)
            if stamp != self._stamp:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self._records = [TokenRecord(**r) for r in data.get("tokens", [])]
                self._stamp = stamp
            return list(self._records)

    def create(self, scope: Scope, label: str = "") -> tuple[str, TokenRecord]:
        """A new token (returned once, never stored) and its record (stored)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        record = TokenRecord(id=secrets.token_hex(4), sha256=hash_token(token), scope=str(scope), label=label,
                             created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        self._write([*self.records(), record])
        return token, record

    def revoke(self, token_id: str) -> bool:
        records = self.records()
        kept = [r for r in records if r.id != token_id]
        if len(kept) == len(records):
            return False
        self._write(kept)
        return True

    def _write(self, records: list[TokenRecord]) -> None:
        """Atomically, readable by the owner only."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"version": 1, "tokens": [asdict(r) for r in records]}, f, indent=2)
            f.write("\n")
        os.replace(tmp, self.path)

    def find(self, token: str) -> TokenRecord | None:
        """The record whose hash matches, comparing every stored hash in constant time."""
        digest = hash_token(token)
        found = None
        for r in self.records():
            if hmac.compare_digest(r.sha256, digest):
                found = r
        return found
