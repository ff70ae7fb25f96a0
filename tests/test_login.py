"""``vocwatch login`` end to end: the real CLI drives Debian's Chromium headless against a QR
login site served here on 127.0.0.1, a "phone" scans by calling its /scan endpoint, and the
session lands in the secrets directory; the QR code printed in the terminal is read back and
decoded, as a phone would."""

from __future__ import annotations

import io
import json
import os
import secrets
import stat
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from crawlers.render import browser_problem
from tests.conftest import ROOT
from vocwatch.login import (
    LoginError,
    LoginOptions,
    Signal,
    half_blocks,
    parse_signal,
    qr_matrix,
    resolve_site,
    session_path,
    write_private,
)

CHROMIUM = "/usr/bin/chromium"
zxingcpp = pytest.importorskip("zxingcpp")
Image = pytest.importorskip("PIL.Image")
needs_browser = pytest.mark.skipif(browser_problem(CHROMIUM) is not None,
                                   reason=f"needs Chromium and playwright: {browser_problem(CHROMIUM)}")
COOKIE = "vw_session"


class LoginSite:
    """A QR login page like the platforms': the page polls the server; once the phone has
    scanned, the poll answer sets the session cookie and the page goes to /home. /rotate makes
    the page show a new code, as the real ones do when theirs expire."""

    def __init__(self) -> None:
        self.secret = secrets.token_hex(16)
        self.code = 1
        self.scanned = False
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                if path == "/login":
                    self._send(200, LOGIN_PAGE.encode(), "text/html; charset=utf-8")
                elif path == "/framed":  # Taobao-style: the login form lives in an iframe
                    self._send(200, b"<h1>Shop</h1><iframe src='/login' width='400' height='400'></iframe>",
                               "text/html")
                elif path == "/plain":  # a code zxing cannot read: a picture, not a QR code
                    self._send(200, b"<img class='qrcode' src='/pic.png' width='200' height='200'>",
                               "text/html")
                elif path == "/pic.png":
                    self._send(200, site.picture_png(), "image/png")
                elif path == "/qr.png":
                    self._send(200, site.qr_png(int(query.split("=")[1])), "image/png")
                elif path == "/poll":
                    headers = {"Set-Cookie": f"{COOKIE}={site.secret}; Path=/; HttpOnly"} if site.scanned else {}
                    body = json.dumps({"code": site.code, "done": site.scanned}).encode()
                    self._send(200, body, "application/json", headers)
                elif path == "/scan":
                    site.scanned = True
                    self._send(200, b"scanned", "text/plain")
                elif path == "/rotate":
                    site.code += 1
                    self._send(200, b"rotated", "text/plain")
                elif path == "/home":
                    ok = f"{COOKIE}={site.secret}" in (self.headers.get("Cookie") or "")
                    self._send(200 if ok else 403, b"<h1 id='welcome'>Welcome back</h1>" if ok else b"no",
                               "text/html")
                else:
                    self._send(404, b"", "text/plain")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def payload(self, code: int) -> str:
        return f"{self.base}/confirm?qr=code-{code}"

    def qr_png(self, code: int) -> bytes:
        barcode = zxingcpp.create_barcode(self.payload(code), zxingcpp.BarcodeFormat.QRCode)
        image = Image.fromarray(barcode.to_image(scale=6, add_quiet_zones=True))  # type: ignore[attr-defined]
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        return buf.getvalue()

    def picture_png(self) -> bytes:
        image = Image.new("L", (50, 50), 255)
        image.paste(0, (10, 10, 40, 25))  # a black bar on white
        buf = io.BytesIO()
        image.resize((200, 200), Image.Resampling.NEAREST).save(buf, format="PNG")
        return buf.getvalue()

    def hit(self, path: str) -> None:
        urllib.request.urlopen(self.base + path, timeout=5).read()


LOGIN_PAGE = """<!doctype html><html><head><title>Log in</title></head><body>
<p>Scan with the app</p><img id="qr" class="qrcode-img" src="/qr.png?v=1" width="240" height="240">
<img src="/logo.png" width="40" height="40">
<script>
let code = 1;
setInterval(async () => {
  const r = await (await fetch('/poll')).json();
  if (r.done) { location.href = '/home'; return; }
  if (r.code !== code) { code = r.code; document.getElementById('qr').src = '/qr.png?v=' + code; }
}, 300);
</script></body></html>"""


@pytest.fixture
def site() -> Iterator[LoginSite]:
    s = LoginSite()
    yield s
    s.server.shutdown()


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    d = tmp_path / "secrets"
    d.mkdir(mode=0o700)
    d.chmod(0o700)
    return d


class Cli:
    """``python -m vocwatch login ...`` in its own process, its output read as it comes."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "vocwatch", "login", *args], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.out.append(line)

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    def wait_for(self, text: str, count: int = 1, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while self.stdout.count(text) < count:
            if self.proc.poll() is not None or time.monotonic() > end:
                self.finish(5)
                pytest.fail(f"never printed {text!r} x{count}:\n{self.stdout}\n{self.stderr}")
            time.sleep(0.1)

    def finish(self, timeout: float = 60) -> int:
        rc = self.proc.wait(timeout=timeout)
        self.reader.join(5)
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()
        return rc


def env_for(secrets_dir: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "VOCWATCH_SECRETS_DIR")}
    env["PYTHONPATH"] = str(ROOT)
    if secrets_dir is not None:
        env["VOCWATCH_SECRETS_DIR"] = str(secrets_dir)
    return env


def printed_qrs(stdout: str) -> list[str]:
    """Every QR code the command printed, decoded from its half-block characters."""
    pixels = {"█": (False, False), "▀": (False, True), "▄": (True, False), " ": (True, True)}
    found, lines = [], stdout.split("\n")
    for i, line in enumerate(lines):
        if not line.startswith("Scan "):
            continue
        art = []
        for row in lines[i + 2:]:
            if not row:
                break
            art.append(row)
        rows: list[list[bool]] = []
        for row in art:
            rows += [[pixels[c][0] for c in row], [pixels[c][1] for c in row]]
        image = Image.new("L", (len(rows[0]), len(rows)))
        image.putdata([0 if d else 255 for r in rows for d in r])
        image = image.resize((image.width * 4, image.height * 4), Image.Resampling.NEAREST)
        codes = zxingcpp.read_barcodes(image)
        found.append(codes[0].text if codes else "")
    return found


def test_sessions_are_written_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        write_private(tmp_path / "a.json", b"{}")
        write_private(tmp_path / "a.json", b'{"cookies": []}')  # replaced in place
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o600
    assert (tmp_path / "a.json").read_bytes() == b'{"cookies": []}'
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_half_blocks_round_trip() -> None:
    text = "https://passport.example/qr?id=42"
    art = half_blocks(qr_matrix(text))
    assert printed_qrs(f"Scan it\n\n{art}\n\n") == [text]


@pytest.mark.parametrize(("text", "signal"), [
    ("z_c0", Signal("cookie", "z_c0")),
    ("cookie:SSOLoginState", Signal("cookie", "SSOLoginState")),
    ("url:https://weibo.com/*", Signal("url", "https://weibo.com/*")),
    ("https://www.zhihu.com/", Signal("url", "https://www.zhihu.com/")),
    ("/home", Signal("url", "*/home")),
    ("css:body", Signal("selector", "body")),
    (".user-avatar img", Signal("selector", ".user-avatar img")),
])
def test_done_when_signals(text: str, signal: Signal) -> None:
    assert parse_signal(text) == signal


def test_cookie_signal_needs_the_sites_domain() -> None:
    weibo = resolve_site(LoginOptions("weibo"))
    sso = next(s for s in weibo.done if s.value == "SSOLoginState")
    assert sso.cookie_matches({"name": "SSOLoginState", "value": "1", "domain": ".weibo.com"})
    assert not sso.cookie_matches({"name": "SSOLoginState", "value": "1", "domain": ".evil-weibo.com"})
    assert not sso.cookie_matches({"name": "SSOLoginState", "value": "", "domain": ".weibo.com"})
    with pytest.raises(LoginError, match="--url LOGIN_URL and --done-when"):
        resolve_site(LoginOptions("example"))


def test_secrets_dir_must_be_set_and_private(tmp_path: Path) -> None:
    with pytest.raises(LoginError, match="VOCWATCH_SECRETS_DIR is not set"):
        session_path("weibo", "a1", {})
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o755)
    with pytest.raises(LoginError, match="group or others may read it"):
        session_path("weibo", "a1", {"VOCWATCH_SECRETS_DIR": str(open_dir)})
    with pytest.raises(LoginError, match="invalid account"):
        session_path("weibo", "../x", {"VOCWATCH_SECRETS_DIR": str(open_dir)})
    fresh = tmp_path / "fresh"  # created 0700 with its subdirectories
    path = session_path("weibo", "a1", {"VOCWATCH_SECRETS_DIR": str(fresh)})
    assert path == fresh / "sessions" / "weibo" / "a1.json"
    for d in (fresh, fresh / "sessions", fresh / "sessions" / "weibo"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700


def test_cli_refuses_without_a_secrets_dir(site: LoginSite, tmp_path: Path) -> None:
    """Refused before a browser opens: nobody scans a code for a session that cannot be kept."""
    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o755)
    open_dir.chmod(0o755)
    for env in (env_for(None), env_for(open_dir)):
        cli = Cli(["local", "--url", f"{site.base}/login", "--done-when", "url:*/home"], env)
        assert cli.finish() == 2
        assert "VOCWATCH_SECRETS_DIR" in cli.stderr or "group or others may read it" in cli.stderr
        assert "Opening" not in cli.stdout
    assert not list(open_dir.iterdir())


@needs_browser
def test_headless_qr_login_saves_the_session(site: LoginSite, secrets_dir: Path, tmp_path: Path) -> None:
    shot = tmp_path / "qr.png"
    env = {**env_for(secrets_dir), "VOCWATCH_LOG_LEVEL": "DEBUG"}  # no log line may show the cookie either
    cli = Cli(["local", "--account", "a1", "--url", f"{site.base}/login", "--done-when", f"cookie:{COOKIE}",
               "--screenshot", str(shot), "--timeout", "90"], env)
    cli.wait_for("Scan the login QR code")
    site.hit("/rotate")  # the page shows a new code: printed again
    cli.wait_for("Scan a new login QR code")
    site.hit("/scan")
    assert cli.finish() == 0, cli.stderr

    assert printed_qrs(cli.stdout) == [site.payload(1), site.payload(2)]
    saved = secrets_dir / "sessions" / "local" / "a1.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    for d in (secrets_dir / "sessions", secrets_dir / "sessions" / "local"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
    state = json.loads(saved.read_text())
    assert [(c["name"], c["value"]) for c in state["cookies"]] == [(COOKIE, site.secret)]
    assert f"1 cookies for 127.0.0.1 -> {saved} (mode 0600)\n" in cli.stdout
    assert stat.S_IMODE(shot.stat().st_mode) == 0o600
    assert zxingcpp.read_barcodes(Image.open(shot))[0].text == site.payload(2)  # the latest code
    assert site.secret not in cli.stdout + cli.stderr
    assert [p.name for p in (secrets_dir / "sessions" / "local").iterdir()] == ["a1.json"]  # no temp file left


@needs_browser
def test_no_scan_times_out_and_saves_nothing(site: LoginSite, secrets_dir: Path) -> None:
    cli = Cli(["local", "--url", f"{site.base}/login", "--done-when", "/home", "--timeout", "4"],
              env_for(secrets_dir))
    assert cli.finish() == 1
    assert "not logged in to local within 4 s (waited for a page at */home); nothing saved" in cli.stderr
    assert "Scan the login QR code" in cli.stdout
    assert not [p for p in secrets_dir.rglob("*") if p.is_file()]


@needs_browser
def test_an_unreadable_code_is_printed_as_its_picture(site: LoginSite, secrets_dir: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    cli = Cli(["local", "--url", f"{site.base}/plain", "--done-when", "css:#welcome", "--timeout", "4",
               "--screenshot", str(shot)], env_for(secrets_dir))
    assert cli.finish() == 1
    assert f"(the code could not be decoded: this is its screenshot; the image is in {shot})" in cli.stdout
    art = cli.stdout.split("phone app:\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert any(" " * 20 in row for row in art) and any("█" * 20 in row for row in art)  # the bar, the white
    assert Image.open(shot).size[0] >= 200


@needs_browser
def test_a_code_inside_an_iframe_is_found(site: LoginSite, secrets_dir: Path) -> None:
    cli = Cli(["local", "--account", "shop-2", "--url", f"{site.base}/framed", "--done-when", COOKIE,
               "--timeout", "60"], env_for(secrets_dir))
    cli.wait_for("Scan the login QR code")
    site.hit("/scan")
    assert cli.finish() == 0, cli.stderr
    assert printed_qrs(cli.stdout) == [site.payload(1)]
    assert (secrets_dir / "sessions" / "local" / "shop-2.json").is_file()
    site.scanned = False  # the same account again: the session is replaced
    cli = Cli(["local", "--account", "shop-2", "--url", f"{site.base}/framed", "--done-when", COOKIE,
               "--timeout", "60"], env_for(secrets_dir))
    cli.wait_for("Scan the login QR code")
    site.hit("/scan")
    assert cli.finish() == 0, cli.stderr
    assert "; replaced the previous session)" in cli.stdout
