"""The dashboard's JSON API over real HTTP on 127.0.0.1: scopes, refusals, headers,
login sessions, and the token commands. Browser behaviour is in test_dashboard_browser.py."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.dashboard.auth import Scope, TokenFile, hash_token
from tests.conftest import ROOT
from tests.dashboard_data import PUDONG_SECRET, RIVAL_NAME, XSS_IMG, XSS_SCRIPT, Chain, serve_chain
from vocwatch.cli import main


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    with serve_chain(tmp_path_factory.mktemp("chain")) as c:
        yield c


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def request(chain: Chain, path: str, token: str | None = None, *, method: str = "GET", data: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(chain.base_url + path, data=data, headers=h, method=method)
    try:
        with _opener.open(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get_json(chain: Chain, path: str, token: str | None) -> tuple[int, Any]:
    status, headers, body = request(chain, path, token)
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    return status, json.loads(body)


# -- authentication ----------------------------------------------------------------------
@pytest.mark.parametrize("auth", [None, "Bearer ", "Bearer vw_not-a-token", "Basic dXNlcjpwYXNz", "vw_bare"])
def test_missing_or_invalid_token_is_401(chain: Chain, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth is not None else {}
    for path in ("/api/me", "/api/locations", "/api/locations/harbor-sh-bund/benchmark"):
        status, h, body = request(chain, path, headers=headers)
        assert status == 401, path
        assert h["WWW-Authenticate"].startswith("Bearer")
        assert "token" in json.loads(body)["error"]


def test_tokens_file_holds_only_hashes(chain: Chain) -> None:
    text = chain.tokens_path.read_text(encoding="utf-8")
    for token in chain.tokens.values():
        assert token not in text
        assert hash_token(token) in text
    assert stat.S_IMODE(chain.tokens_path.stat().st_mode) == 0o600


# -- scopes ------------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "visible"), [
    ("location", ["harbor-sh-bund"]),
    ("region", ["harbor-sh-bund", "harbor-sh-pudong", "lotus-sh"]),
    ("brand", ["harbor-bj", "harbor-sh-bund", "harbor-sh-pudong"]),
])
def test_each_scope_sees_its_own_locations_only(chain: Chain, who: str, visible: list[str]) -> None:
    status, me = get_json(chain, "/api/me", chain.tokens[who])
    assert status == 200 and me["locations"] == len(visible) and me["scope"].startswith(who)
    status, data = get_json(chain, "/api/locations", chain.tokens[who])
    assert sorted(loc["id"] for loc in data["locations"]) == visible
    for lid in ["harbor-sh-bund", "harbor-sh-pudong", "harbor-bj", "lotus-sh", "rival-sh"]:
        for what in ("benchmark", "trend", "negative"):
            status, body = get_json(chain, f"/api/locations/{lid}/{what}", chain.tokens[who])
            if lid in visible:
                assert status == 200, (who, lid, what)
            else:
                assert status == 403, (who, lid, what)
                assert "outside this token's scope" in body["error"]
                assert PUDONG_SECRET not in json.dumps(body)


def test_unknown_location_is_404(chain: Chain) -> None:
    status, body = get_json(chain, "/api/locations/nowhere/benchmark", chain.tokens["brand"])
    assert status == 404 and "unknown location" in body["error"]
    status, body = get_json(chain, "/api/nothing", chain.tokens["brand"])
    assert status == 404
    status, body = get_json(chain, "/api/locations/harbor%2Dbj/benchmark", chain.tokens["location"])
    assert status == 403  # ids are unquoted before the scope check


def test_benchmark_shows_the_competitive_set_of_an_in_scope_location(chain: Chain) -> None:
    status, b = get_json(chain, "/api/locations/harbor-sh-bund/benchmark?window=30d", chain.tokens["location"])
    assert status == 200
    assert b["location"]["id"] == "harbor-sh-bund" and b["window"] == "30d"
    assert [m["id"] for m in b["set"]] == ["rival-sh"]  # the radius takes competitors only
    assert b["set"][0]["name"] == RIVAL_NAME  # raw text in JSON: escaping is the page's job
    assert b["current"]["mentions"] == 30 and b["current"]["reputation_index"] is not None
    assert b["rank_of"] == 2
    assert any(a["aspect"] == "breakfast" for a in b["current"]["aspects"])


def test_trend_is_weekly_own_beside_set(chain: Chain) -> None:
    status, t = get_json(chain, "/api/locations/harbor-sh-bund/trend?bucket=week&window=12w", chain.tokens["location"])
    assert status == 200 and t["bucket"] == "week"
    points = t["points"]
    assert len(points) == 13  # 84 days from a Tuesday reach back into a 13th Monday-started week
    assert [p["bucket"] for p in points] == sorted({p["bucket"] for p in points})
    assert points[-1]["own_index"] is not None and points[-1]["set_index"] is not None


def test_negative_mentions_newest_first_only_negative_and_limited(chain: Chain) -> None:
    status, data = get_json(chain, "/api/locations/harbor-sh-bund/negative?limit=3&window=90d", chain.tokens["location"])
    assert status == 200
    ms = data["mentions"]
    assert len(ms) == 3
    assert [m["published_at"][:10] for m in ms] == ["2026-03-31", "2026-03-26", "2026-03-21"]
    assert ms[0]["text"] == f"Terrible. {XSS_IMG}" and XSS_SCRIPT in ms[1]["text"]
    assert all(m["url"].startswith("https://reviews.example/harbor-sh-bund/") for m in ms)
    assert {m["source_id"] for m in ms} == {"harbor-sh-bund/hotel_reviews"}
    status, data = get_json(chain, "/api/locations/harbor-sh-bund/negative", chain.tokens["location"])
    assert len(data["mentions"]) == 18  # every 5th of 90 days


@pytest.mark.parametrize(("query", "message"), [
    ("benchmark?window=90x", "bad window"), ("benchmark?window=0d", "bad window"),
    ("trend?window=forever", "bad window"), ("trend?bucket=hour", "bad bucket"),
    ("negative?limit=0", "bad limit"), ("negative?limit=abc", "bad limit"), ("negative?limit=101", "bad limit"),
    ("negative?window=-3d", "bad window"),
])
def test_bad_parameters_are_400_with_a_clear_error(chain: Chain, query: str, message: str) -> None:
    status, body = get_json(chain, f"/api/locations/harbor-sh-bund/{query}", chain.tokens["location"])
    assert status == 400 and body["error"].startswith(message) and body["status"] == 400


def test_scope_is_checked_before_parameters(chain: Chain) -> None:
    status, _ = get_json(chain, "/api/locations/harbor-bj/benchmark?window=bad", chain.tokens["location"])
    assert status == 403


# -- headers and static files ------------------------------------------------------------
def test_security_headers_and_content_types(chain: Chain) -> None:
    status, h, page = request(chain, "/")
    assert status == 200 and h["Content-Type"] == "text/html; charset=utf-8"
    csp = h["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert re.search(r"style-src 'self' 'sha256-[A-Za-z0-9+/=]+'", csp)
    assert "frame-ancestors 'none'" in csp
    assert h["X-Content-Type-Options"] == "nosniff"
    assert b"<script>" not in page and b'<script src="/static/app.js">' in page
    status, h, js = request(chain, "/static/app.js")
    assert status == 200 and h["Content-Type"] == "text/javascript; charset=utf-8"
    assert b"innerHTML" not in js and b"insertAdjacentHTML" not in js and b"eval(" not in js
    status, h, _ = request(chain, "/api/me", chain.tokens["location"])
    assert h["X-Content-Type-Options"] == "nosniff" and h["Cache-Control"] == "no-store"
    assert h["Server"] == "vocwatch"
    assert request(chain, "/static/../auth.py")[0] == 404


# -- browser sessions --------------------------------------------------------------------
def _login(chain: Chain, token: str, origin: str | None = None) -> tuple[int, dict[str, str]]:
    headers = {"Content-Type": "application/x-www-form-urlencoded", **({"Origin": origin} if origin else {})}
    status, h, _ = request(chain, "/login", method="POST", data=f"token={token}".encode(), headers=headers)
    return status, h


def test_login_sets_a_strict_httponly_session_cookie_and_logout_ends_it(chain: Chain) -> None:
    status, h = _login(chain, "vw_wrong")
    assert status == 303 and h["Location"] == "/?login=failed" and "Set-Cookie" not in h
    status, h = _login(chain, chain.tokens["location"], origin=chain.base_url)
    assert status == 303 and h["Location"] == "/"
    cookie = h["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert chain.tokens["location"] not in cookie
    session = cookie.split(";")[0]
    status, _, body = request(chain, "/api/locations", headers={"Cookie": session})
    assert status == 200 and [loc["id"] for loc in json.loads(body)["locations"]] == ["harbor-sh-bund"]
    assert request(chain, "/api/locations/harbor-sh-pudong/negative", headers={"Cookie": session})[0] == 403
    status, h, _ = request(chain, "/logout", method="POST", headers={"Cookie": session})
    assert status == 303 and "Max-Age=0" in h["Set-Cookie"]
    assert request(chain, "/api/me", headers={"Cookie": session})[0] == 401


def test_cross_origin_login_is_refused(chain: Chain) -> None:
    status, h = _login(chain, chain.tokens["location"], origin="http://evil.example")
    assert status == 403 and "Set-Cookie" not in h
    status, h = _login(chain, chain.tokens["location"], origin="null")
    assert status == 403 and "Set-Cookie" not in h


def test_login_form_size_is_bounded(chain: Chain) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, body = request(chain, "/login", method="POST", data=b"token=" + b"x" * 5000, headers=form)
    assert status == 413 and json.loads(body)["error"] == "form too large"


def test_revoked_token_and_its_sessions_stop_working_at_once(chain: Chain) -> None:
    tokens = TokenFile(chain.tokens_path)

    token, record = tokens.create(Scope.parse("region:beijing"), "temp")
    assert get_json(chain, "/api/me", token)[0] == 200
    session = _login(chain, token)[1]["Set-Cookie"].split(";")[0]
    assert request(chain, "/api/me", headers={"Cookie": session})[0] == 200
    assert tokens.revoke(record.id)
    assert get_json(chain, "/api/me", token)[0] == 401
    assert request(chain, "/api/me", headers={"Cookie": session})[0] == 401


# -- token commands ----------------------------------------------------------------------
def test_token_create_and_list(chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t" / "tokens.json"
    monkeypatch.setenv("VOCWATCH_TOKENS_FILE", str(path))
    cfg = str(chain.config_path)
    assert main(["token", "create", "-c", cfg, "--scope", "region:shanghai", "--label", "Ms Li, regional GM"]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert token.startswith("vw_") and len(token) > 40 and "shown only this once" in err
    assert token not in path.read_text(encoding="utf-8")
    assert TokenFile(path).find(token).scope == "region:shanghai"  # type: ignore[union-attr]
    assert main(["token", "list", "-c", cfg]) == 0
    out, _ = capsys.readouterr()
    assert "region:shanghai" in out and "Ms Li, regional GM" in out and token not in out
    token_id = TokenFile(path).records()[0].id
    head, row = out.splitlines()
    assert head.split() == ["id", "created", "(UTC)", "scope", "label"] and row.startswith(token_id)
    assert main(["token", "revoke", "-c", cfg, token_id]) == 0
    assert TokenFile(path).find(token) is None
    assert main(["token", "revoke", "-c", cfg, token_id]) == 2
    assert "no token with id" in capsys.readouterr().err


@pytest.mark.parametrize(("scope", "message"), [
    ("location:rival-sh", "is a competitor location"), ("location:nowhere", "not a location id"),
    ("region:mars", "no own locations with region 'mars'"), ("brand:rival", "no own locations with brand"),
    ("city:shanghai", "bad scope"), ("brand:", "bad scope"),
])
def test_token_create_validates_the_scope(chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str], scope: str, message: str) -> None:
    monkeypatch.setenv("VOCWATCH_TOKENS_FILE", str(tmp_path / "tokens.json"))
    assert main(["token", "create", "-c", str(chain.config_path), "--scope", scope]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "tokens.json").exists()


def test_serve_command_starts_and_answers(chain: Chain) -> None:
    env = {**os.environ, "VOCWATCH_TOKENS_FILE": str(chain.tokens_path)}
    proc = subprocess.Popen([sys.executable, "-m", "vocwatch", "serve", "-c", str(chain.config_path), "--port", "0"],
                            cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()  # type: ignore[union-attr]
        if line.startswith("vocwatch: config "):  # the config is not ./vocwatch.toml: it says which store
            line = proc.stderr.readline()  # type: ignore[union-attr]
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, line
        req = urllib.request.Request(f"http://127.0.0.1:{m.group(1)}/api/locations",
                                     headers={"Authorization": f"Bearer {chain.tokens['region']}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert len(json.loads(r.read())["locations"]) == 3
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- crawl health: administrators only ----------------------------------------------------
def test_crawl_health_is_for_the_admin_scope_only(chain: Chain) -> None:
    from tests.dashboard_data import HEALTH_XSS

    status, me = get_json(chain, "/api/me", chain.tokens["admin"])
    assert status == 200 and me["admin"] is True and me["scope"] == "all" and me["locations"] == 4
    status, data = get_json(chain, "/api/health", chain.tokens["admin"])
    assert status == 200
    rows = [(s["source_id"], [(f["severity"], f["problem"]) for f in s["findings"]]) for s in data["sources"]]
    assert rows == [("rival-sh/hotel_reviews", [("critical", "no_items")]),  # the most severe first
                    ("harbor-sh-bund/hotel_reviews", [("warning", "fields_lost")]), ("harbor-bj/rss", [])]
    assert data["sources"][1]["findings"][0]["message"].endswith(HEALTH_XSS)
    assert data["sources"][0]["location_name"] == RIVAL_NAME and data["sources"][0]["finished_at"] == "2026-03-31T11:01:00Z"
    for who in ("location", "region", "brand"):
        status, body = get_json(chain, "/api/health", chain.tokens[who])
        assert status == 403 and "administrators only" in body["error"], who
        assert get_json(chain, "/api/me", chain.tokens[who])[1]["admin"] is False


def test_admin_scope_parses_and_prints_as_all() -> None:
    scope = Scope.parse(" all ")
    assert scope.is_admin and str(scope) == "all" and Scope.parse(str(scope)) == scope
    for bad in ("all:x", "all:", "admin"):
        with pytest.raises(ValueError, match="bad scope"):
            Scope.parse(bad)


# -- writes: JSON, CSRF, method checks (the write endpoints have their own tests) ------------
from monitor.dashboard.routes import Request, route  # noqa: E402


@route("POST", r"/api/_test/echo")
def _echo(req: Request) -> dict[str, Any]:
    return {"body": req.body, "actor": req.actor}


def _post(chain: Chain, path: str, body: bytes, headers: dict[str, str], token: str | None = None) -> tuple[int, Any]:
    status, _, raw = request(chain, path, token, method="POST", data=body,
                             headers={"Content-Length": str(len(body)), **headers})
    return status, json.loads(raw)


def test_writes_need_json_and_the_session_csrf_token(chain: Chain) -> None:
    js = {"Content-Type": "application/json"}
    status, data = _post(chain, "/api/_test/echo", b'{"a": 1}', js, chain.tokens["location"])
    assert status == 200 and data["body"] == {"a": 1} and data["actor"].startswith("token:")  # Bearer: no CSRF needed
    status, _ = _post(chain, "/api/_test/echo", b"a=1", {"Content-Type": "application/x-www-form-urlencoded"},
                      chain.tokens["location"])
    assert status == 415  # a cross-site form cannot send JSON
    assert _post(chain, "/api/_test/echo", b"[1]", js, chain.tokens["location"])[0] == 400
    cookie = _login(chain, chain.tokens["location"], origin=chain.base_url)[1]["Set-Cookie"].split(";")[0]
    status, _ = _post(chain, "/api/_test/echo", b"{}", {**js, "Cookie": cookie})
    assert status == 403  # the session cookie alone is not enough
    status, me, = get_json_cookie(chain, "/api/me", cookie)
    assert status == 200 and me["csrf"]
    status, _ = _post(chain, "/api/_test/echo", b"{}", {**js, "Cookie": cookie, "X-CSRF-Token": me["csrf"] + "x"})
    assert status == 403
    status, data = _post(chain, "/api/_test/echo", b"{}", {**js, "Cookie": cookie, "X-CSRF-Token": me["csrf"]})
    assert status == 200
    status, _ = _post(chain, "/api/_test/echo", b"{}", {**js, "Cookie": cookie, "X-CSRF-Token": me["csrf"],
                                                         "Origin": "http://evil.example"})
    assert status == 403
    assert request(chain, "/api/_test/echo", chain.tokens["location"])[0] == 405
    assert _post(chain, "/api/me", b"{}", js, chain.tokens["location"])[0] == 405


def get_json_cookie(chain: Chain, path: str, cookie: str) -> tuple[int, Any]:
    status, _, body = request(chain, path, headers={"Cookie": cookie})
    return status, json.loads(body)
