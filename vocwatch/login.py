"""``vocwatch login SITE``: a person logs in once in Debian's Chromium, vocwatch keeps the session.

Why a browser and not a username/password form post: the Chinese platforms that hide their
reviews behind a login (Weibo, Dianping, Taobao/Tmall, JD, Zhihu) sign in by QR code scanned
with their phone app, with sliders and device checks on the password path; only a real browser
session gets through them, and what it ends with (cookies plus local storage) is exactly
Playwright's ``storage_state``, which the crawl's sessions and the browser-rendered sources load.

Why the QR code goes to the terminal: sessions expire within hours to days and crawl servers
have no display. Without one (no ``$DISPLAY``/``$WAYLAND_DISPLAY``, or ``--headless``) the login
page is opened headless, its QR code element is found and screenshotted, decoded (zxing-cpp)
and printed again as a clean half-block QR code the phone can scan over SSH; when it cannot be
decoded the screenshot itself is printed as half-block art. The picture is reprinted whenever
the page refreshes its code (they expire after a minute or two).

Where the session goes: ``$VOCWATCH_SECRETS_DIR/sessions/<site>/<account>.json``, mode 0600 in
0700 directories (created if missing). The command refuses to write when the variable is unset
or the directory is open to group or others: a session cookie is a password. It prints how many
cookies it saved, never their values (they are also registered with ``config.redact`` so no
log record or error can show them).
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import hashlib
import io
import json
import os
import re
import shutil
import stat
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from config.secrets import SECRETS_DIR_ENV as SECRETS_ENV
from config.secrets import private_problem

DEFAULT_ACCOUNT = "default"
DEFAULT_TIMEOUT = 300.0
CHROMIUM = "/usr/bin/chromium"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
SIGNAL_POLL_SECONDS = 0.5
QR_POLL_SECONDS = 1.0
SETTLE_SECONDS = 5.0
"""After the logged-in signal: wait at most this long for the redirects that set the cookies
of the site's other domains (Weibo's cross-domain login) before saving."""
ART_MAX_COLUMNS = 80
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class LoginError(Exception):
    """A login that cannot start or did not finish; ``code`` is the command's exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


# -- what "logged in" looks like ----------------------------------------------------------
@dataclass(frozen=True)
class Signal:
    """One sign that the person has logged in: a cookie set (optionally for a domain), the
    page at a URL (glob, or ``re:`` regex), or an element on the page (CSS selector)."""

    kind: Literal["cookie", "url", "selector"]
    value: str
    domain: str = ""

    def describe(self) -> str:
        where = f" for {self.domain}" if self.domain else ""
        return {"cookie": f"cookie {self.value}{where}", "url": f"a page at {self.value}",
                "selector": f"an element {self.value}"}[self.kind]

    def url_matches(self, url: str) -> bool:
        if self.value.startswith("re:"):
            return re.search(self.value[3:], url) is not None
        return fnmatch.fnmatchcase(url, self.value)

    def cookie_matches(self, cookie: Mapping[str, Any]) -> bool:
        if cookie.get("name") != self.value or not cookie.get("value"):
            return False
        domain = str(cookie.get("domain", "")).lstrip(".")
        return not self.domain or domain == self.domain or domain.endswith("." + self.domain)


def parse_signal(text: str) -> Signal:
    """``--done-when``: ``cookie:NAME``, ``url:PATTERN``, ``css:SELECTOR`` say what they are;
    without a prefix a URL-looking value (``://``, a leading ``/`` or ``*``) is a URL pattern,
    a bare word (``z_c0``, ``SSOLoginState``) a cookie name, anything else a CSS selector."""
    text = text.strip()
    if not text:
        raise LoginError("--done-when is empty", EXIT_USAGE)
    for prefix, kind in (("cookie:", "cookie"), ("url:", "url"), ("css:", "selector"),
                         ("selector:", "selector")):
        if text.startswith(prefix) and text[len(prefix):].strip():
            return Signal(kind, text[len(prefix):].strip())  # type: ignore[arg-type]
    if text.startswith("re:") or "://" in text or text[0] in "/*":
        return Signal("url", text if text[0] != "/" else "*" + text)
    if re.fullmatch(r"[A-Za-z0-9_\-]+", text):
        return Signal("cookie", text)
    return Signal("selector", text)


@dataclass(frozen=True)
class LoginSite:
    """A site's login page and what its logged-in session looks like."""

    name: str
    url: str
    done: tuple[Signal, ...]
    """Any one of them means logged in."""
    qr_selector: str = ""
    """Tried before the generic search for the QR code (an ``img[src*=qrcode]``, a canvas...)."""
    qr_click: str = ""
    """Clicked first when present: the tab or icon that switches the page to QR login."""
    note: str = ""


def _cookies(domain: str, *names: str) -> tuple[Signal, ...]:
    return tuple(Signal("cookie", n, domain) for n in names)


# The cookies each platform sets only once an account has signed in (visitors get others:
# Weibo hands every visitor a SUB, Taobao a cookie2, so those are no signal). Taken from the
# cookie sets people paste into crawlers for these sites; the login URLs are the ones the sites
# link their "log in" buttons to. Sites change them: ``--url`` and ``--done-when`` override.
SITES: dict[str, LoginSite] = {s.name: s for s in (
    LoginSite("weibo", "https://passport.weibo.com/sso/signin?entry=miniblog&source=miniblog"
                       "&url=https%3A%2F%2Fweibo.com%2F",
              _cookies("weibo.com", "SSOLoginState", "ALF"),
              qr_selector="img[src*='qrcode'], img[src*='qr.weibo']",
              note="weibo.com (PC); scan with the Weibo app"),
    LoginSite("weibo_cn", "https://passport.weibo.cn/signin/login?entry=mweibo"
                          "&r=https%3A%2F%2Fweibo.cn%2F",
              _cookies("weibo.cn", "SSOLoginState", "ALF"),
              note="weibo.cn / m.weibo.cn (mobile); its sessions are not weibo.com's"),
    LoginSite("dianping", "https://account.dianping.com/pclogin",
              _cookies("dianping.com", "dper"),
              qr_selector="img[src*='qrcode'], .qrcode-img img, canvas",
              note="scan with the Dianping or Meituan app"),
    LoginSite("taobao", "https://login.taobao.com/member/login.jhtml",
              _cookies("taobao.com", "unb", "_l_g_"),
              qr_selector="#login .qrcode-img img, .qrcode-img canvas, img[src*='qrcode']",
              qr_click=".icon-qrcode, .login-switch .iconfont",
              note="scan with the Taobao app"),
    LoginSite("tmall", "https://login.tmall.com/",
              _cookies("tmall.com", "unb", "_l_g_"),
              qr_selector=".qrcode-img img, .qrcode-img canvas, img[src*='qrcode']",
              qr_click=".icon-qrcode, .login-switch .iconfont",
              note="Taobao's login (scan with the Taobao app), kept for tmall.com"),
    LoginSite("jd", "https://passport.jd.com/new/login.aspx",
              _cookies("jd.com", "thor", "pt_key"),
              qr_selector=".qrcode-img img, #qrcode img, img[src*='qr.m.jd.com'], img[src*='qrcode']",
              note="scan with the JD app"),
    LoginSite("zhihu", "https://www.zhihu.com/signin",
              _cookies("zhihu.com", "z_c0"),
              qr_selector=".Qrcode-img img, .Qrcode-content img, canvas, img[src*='qrcode']",
              note="scan with the Zhihu app"),
)}


def sites_help() -> str:
    """The built-in table, for ``vocwatch login --help``."""
    lines = ["built-in sites (any other: --url LOGIN_URL --done-when SIGNAL):"]
    for s in SITES.values():
        lines.append(f"  {s.name:<9} {s.note}; logged in = "
                     + " or ".join(d.describe() for d in s.done))
    lines += ["", "--done-when: cookie:NAME | url:PATTERN (glob, or re:REGEX) | css:SELECTOR; "
              "unprefixed, a bare word is a cookie name, a URL-looking value a URL pattern",
              "", "exit codes: 0 saved, 1 not logged in (timeout, browser error), "
              "2 usage or secrets directory error, 130 interrupted"]
    return "\n".join(lines)


# -- where sessions go --------------------------------------------------------------------
def _check_private(path: Path) -> None:
    st = path.stat()
    if not stat.S_ISDIR(st.st_mode):
        raise LoginError(f"{path} is not a directory", EXIT_USAGE)
    if problem := private_problem(path):
        raise LoginError(f"{path} {problem}", EXIT_USAGE)


def _private_dir(path: Path) -> None:
    if not path.exists():
        path.mkdir(mode=0o700)
        path.chmod(0o700)  # mkdir's mode passes through the umask
    _check_private(path)


def session_path(site: str, account: str, environ: Mapping[str, str] | None = None) -> Path:
    """``$VOCWATCH_SECRETS_DIR/sessions/<site>/<account>.json``, its directories created 0700
    and checked private (owner only). Raises :class:`LoginError` (exit 2) when it cannot be."""
    env = os.environ if environ is None else environ
    for what, name in (("site", site), ("account", account)):
        if not NAME.match(name):
            raise LoginError(f"invalid {what} name {name!r}: letters, digits, '_', '-', '.' "
                             "(not first), at most 64", EXIT_USAGE)
    raw = env.get(SECRETS_ENV, "").strip()
    if not raw:
        raise LoginError(f"{SECRETS_ENV} is not set: it names the owner-only directory where "
                         "sessions are kept (mkdir -m 700 ~/.vocwatch-secrets; "
                         f"export {SECRETS_ENV}=~/.vocwatch-secrets)", EXIT_USAGE)
    root = Path(raw).expanduser()
    try:
        _private_dir(root)
        _private_dir(root / "sessions")
        _private_dir(root / "sessions" / site)
    except OSError as exc:
        raise LoginError(f"cannot use {SECRETS_ENV}={root}: {exc}", EXIT_USAGE) from None
    return root / "sessions" / site / f"{account}.json"


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` as mode 0600, atomically: a reader (a crawl starting now)
    sees the old session or the new one, never half a file, and never a moment at 0644."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


# -- QR codes in a terminal ---------------------------------------------------------------
Matrix = list[list[bool]]
"""Rows of pixels, ``True`` = dark."""


def half_blocks(dark: Matrix, *, ansi: bool = False) -> str:
    """Two pixel rows per text line with ``▀``/``▄``/``█``. Light pixels are the drawn ones, so
    the code reads right on the usual light-on-dark terminal; ``ansi`` forces white on black
    so it reads right on any terminal theme."""
    if len(dark) % 2:
        dark = [*dark, [False] * (len(dark[0]) if dark else 0)]
    chars = {(False, False): "█", (False, True): "▀", (True, False): "▄", (True, True): " "}
    lines = []
    for top, bottom in zip(dark[0::2], dark[1::2], strict=True):
        line = "".join(chars[t, b] for t, b in zip(top, bottom, strict=True))
        lines.append(f"\x1b[97;40m{line}\x1b[0m" if ansi else line)
    return "\n".join(lines)


def decode_qr(png: bytes) -> str | None:
    """The text of the QR code in a screenshot, or ``None`` (none found, or zxing-cpp/Pillow
    not installed: then the picture itself is printed)."""
    try:
        import zxingcpp
        from PIL import Image
    except ImportError:
        return None
    try:
        image = Image.open(io.BytesIO(png)).convert("L")
        found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        if not found and min(image.size) < 200:  # small codes: modules a pixel or two wide
            image = image.resize((image.width * 3, image.height * 3), Image.Resampling.NEAREST)
            found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    except Exception:  # a truncated screenshot, an image zxing cannot read
        return None
    return next((b.text for b in found if b.valid and b.text), None)


def qr_matrix(text: str) -> Matrix:
    """A fresh QR code for ``text``, one pixel per module with its quiet zone."""
    import zxingcpp

    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode)
    image = code.to_image(scale=1, add_quiet_zones=True)
    pixels = memoryview(image)  # type: ignore[arg-type]
    rows, cols = pixels.shape[0], pixels.shape[1]  # type: ignore[misc]
    flat = pixels.tobytes()
    return [[flat[r * cols + c] < 128 for c in range(cols)] for r in range(rows)]


def picture_matrix(png: bytes, max_columns: int = ART_MAX_COLUMNS) -> Matrix | None:
    """A screenshot shrunk to ``max_columns`` and thresholded: the fallback when the code
    cannot be decoded (still scannable when the code has few modules and the terminal is wide)."""
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        image = Image.open(io.BytesIO(png)).convert("L")
    except Exception:
        return None
    cols = max(8, min(max_columns, image.width))
    rows = max(2, round(image.height * cols / image.width))
    small = image.resize((cols, rows), Image.Resampling.BOX)
    data = small.tobytes()
    cut = (min(data) + max(data)) / 2
    return [[data[r * cols + c] < cut for c in range(cols)] for r in range(rows)]


@dataclass
class QrPrinter:
    """Prints the login code each time it changes, never twice the same."""

    out: TextIO
    screenshot: Path | None = None
    ansi: bool = False
    last: str = ""
    shown: int = 0
    said_missing: bool = False

    def show(self, png: bytes, *, whole_page: bool = False) -> bool:
        """Print the code in ``png`` if it differs from the last one; whether it was printed."""
        text = decode_qr(png)
        matrix: Matrix | None
        if text is not None:
            key, matrix = "qr:" + hashlib.sha256(text.encode()).hexdigest(), qr_matrix(text)
        elif whole_page or self.last.startswith("qr:"):
            # a page screenshot with no readable code in it, or what replaced a code that read
            # ("scanned, confirm on your phone"): nothing worth printing
            return False
        else:
            columns = min(ART_MAX_COLUMNS, shutil.get_terminal_size((ART_MAX_COLUMNS, 24)).columns - 1)
            matrix = picture_matrix(png, columns)
            if matrix is None and self.screenshot is None:
                return False
            key = ("art:" + hashlib.sha256(repr(matrix).encode()).hexdigest() if matrix is not None
                   else "png:" + hashlib.sha256(png).hexdigest())
        if key == self.last:
            return False
        self.last, self.shown = key, self.shown + 1
        if self.screenshot is not None:
            write_private(self.screenshot, png)
        word = "the login QR code" if self.shown == 1 else "a new login QR code (the page refreshed it)"
        self.out.write(f"\nScan {word} with the site's phone app:\n\n")
        if matrix is not None:
            self.out.write(half_blocks(matrix, ansi=self.ansi) + "\n\n")
        if text is None:
            self.out.write("(the code could not be decoded: this is its screenshot; "
                           + (f"the image is in {self.screenshot})\n" if self.screenshot
                              else "save it with --screenshot FILE if it does not scan)\n"))
        elif self.screenshot is not None:
            self.out.write(f"(screenshot saved to {self.screenshot})\n")
        self.out.flush()
        return True


# -- the browser --------------------------------------------------------------------------
_FIND_QR = """(hint) => {
  const shown = el => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    if (r.width < 60 || r.height < 60 || s.visibility === 'hidden' || s.display === 'none'
        || Number(s.opacity) === 0) return false;
    return el.tagName !== 'IMG' || (el.complete && el.naturalWidth > 0);
  };
  if (hint) {
    try { for (const el of document.querySelectorAll(hint)) if (shown(el)) return el; } catch (e) {}
  }
  const qrish = el => /qr|erweima|scan|二维码|扫码/i.test([el.id, el.getAttribute('class') || '',
      el.getAttribute('src') || '', el.getAttribute('alt') || ''].join(' '));
  let best = null, bestScore = 0;
  for (const el of document.querySelectorAll('img, canvas, svg')) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    if (Math.min(r.width, r.height) / Math.max(r.width, r.height) < 0.85) continue;
    const score = r.width * r.height * (qrish(el) ? 10 : 1);
    if (score > bestScore) { best = el; bestScore = score; }
  }
  return best;
}"""


@dataclass
class LoginOptions:
    site: str
    account: str = DEFAULT_ACCOUNT
    url: str = ""
    done_when: str = ""
    headless: bool = False
    qr_terminal: bool = False
    screenshot: Path | None = None
    timeout: float = DEFAULT_TIMEOUT
    chromium: str = CHROMIUM
    qr_selector: str = ""


def resolve_site(opts: LoginOptions) -> LoginSite:
    """The built-in entry, with ``--url``/``--done-when`` overriding it; an unknown site needs both."""
    known = SITES.get(opts.site)
    if known is None and not (opts.url and opts.done_when):
        raise LoginError(f"no built-in login for {opts.site!r} (known: {', '.join(SITES)}); "
                         "give --url LOGIN_URL and --done-when SIGNAL", EXIT_USAGE)
    base = known or LoginSite(opts.site, opts.url, ())
    url = opts.url or base.url
    if not re.match(r"^https?://", url):
        raise LoginError(f"--url must be an http(s) URL, not {url!r}", EXIT_USAGE)
    done = (parse_signal(opts.done_when),) if opts.done_when else base.done
    return LoginSite(base.name, url, done, opts.qr_selector or base.qr_selector, base.qr_click, base.note)


def has_display(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


async def _logged_in(context: Any, site: LoginSite) -> Signal | None:
    from playwright.async_api import Error as PlaywrightError

    cookies: list[dict[str, Any]] | None = None
    for signal in site.done:
        try:
            if signal.kind == "cookie":
                if cookies is None:
                    cookies = await context.cookies()
                if any(signal.cookie_matches(c) for c in cookies):
                    return signal
            elif signal.kind == "url":
                if any(signal.url_matches(p.url) for p in context.pages):
                    return signal
            else:
                for page in context.pages:
                    if await page.query_selector(signal.value) is not None:
                        return signal
        except PlaywrightError:  # a page navigating away under us: ask again next round
            continue
    return None


async def _qr_screenshot(page: Any, site: LoginSite) -> tuple[bytes | None, bool]:
    """A screenshot of the QR code element (any frame), else of the viewport; and whether it
    is the viewport (whose code, if any, must be decodable to be worth printing)."""
    from playwright.async_api import Error as PlaywrightError

    for frame in page.frames:
        try:
            handle = await frame.evaluate_handle(_FIND_QR, site.qr_selector)
            element = handle.as_element()
            if element is not None:
                return await element.screenshot(timeout=5000), False
        except PlaywrightError:
            continue
    try:
        return await page.screenshot(timeout=5000), True
    except PlaywrightError:
        return None, True


async def run_login(opts: LoginOptions, out: TextIO = sys.stdout,
                    clock: Callable[[], float] = time.monotonic) -> int:
    """Open the login page, wait for the person, save the session. Returns the exit code;
    raises :class:`LoginError` for what the person must fix."""
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import TimeoutError as PlaywrightTimeout
    from playwright.async_api import async_playwright

    from config.redact import remember
    from crawlers.render import LAUNCH_ARGS, browser_problem

    site = resolve_site(opts)
    target = session_path(site.name, opts.account)  # refuse before anyone scans anything
    if opts.screenshot is not None and not opts.screenshot.parent.is_dir():
        raise LoginError(f"--screenshot: no directory {opts.screenshot.parent}", EXIT_USAGE)
    problem = browser_problem(opts.chromium)
    if problem:
        raise LoginError(f"cannot open a browser: {problem}", EXIT_FAILED)
    headless = opts.headless or not has_display()
    printer = QrPrinter(out, opts.screenshot, ansi=out.isatty()) if (headless or opts.qr_terminal) else None
    signals = " or ".join(s.describe() for s in site.done)

    async with async_playwright() as pw:
        args = [a for a in LAUNCH_ARGS if a != "--headless" and (headless or a != "--no-sandbox")]
        if not headless and hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
        browser = await pw.chromium.launch(executable_path=opts.chromium, headless=headless, args=args)
        try:
            extra: dict[str, Any] = {"locale": "zh-CN", "viewport": {"width": 1280, "height": 900}}
            if headless:  # "HeadlessChrome" in the user agent gets a login page refused
                major = browser.version.split(".")[0]
                extra["user_agent"] = (f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
                                       f"(KHTML, like Gecko) Chrome/{major}.0.0.0 Safari/537.36")
            context = await browser.new_context(**extra)
            page = await context.new_page()
            out.write(f"Opening {site.url} in Chromium ({'headless' if headless else 'a window'}); "
                      f"waiting up to {opts.timeout:g} s for {signals}.\n")
            out.flush()
            deadline = clock() + opts.timeout
            try:
                await page.goto(site.url, wait_until="load", timeout=min(opts.timeout, 60) * 1000)
            except PlaywrightTimeout:
                out.write("(the login page is still loading; carrying on)\n")
            except PlaywrightError as exc:
                raise LoginError(f"cannot open {site.url}: {str(exc).splitlines()[0]}") from None
            if site.qr_click:
                with contextlib.suppress(PlaywrightError):
                    switch = await page.query_selector(site.qr_click)
                    if switch is not None and await switch.is_visible():
                        await switch.click(timeout=3000)
            next_qr = 0.0
            found: Signal | None = None
            while clock() < deadline:
                found = await _logged_in(context, site)
                if found is not None:
                    break
                if printer is not None and clock() >= next_qr and not page.is_closed():
                    png, whole = await _qr_screenshot(page, site)
                    if png is not None and not printer.show(png, whole_page=whole) and whole \
                            and not printer.shown and not printer.said_missing:
                        printer.said_missing = True
                        out.write("(no QR code found on the page yet; still looking"
                                  + (", try --qr-selector" if not site.qr_selector else "") + ")\n")
                        out.flush()
                    next_qr = clock() + QR_POLL_SECONDS
                await asyncio.sleep(SIGNAL_POLL_SECONDS)
            if found is None:
                raise LoginError(f"not logged in to {site.name} within {opts.timeout:g} s "
                                 f"(waited for {signals}); nothing saved")
            for p in context.pages:
                with contextlib.suppress(PlaywrightError):
                    await p.wait_for_load_state("networkidle", timeout=SETTLE_SECONDS * 1000)
            state = await context.storage_state()
        finally:
            with contextlib.suppress(PlaywrightError):
                await browser.close()

    cookies = state.get("cookies", [])
    remember(str(c.get("value", "")) for c in cookies)
    for origin in state.get("origins", []):
        remember(str(item.get("value", "")) for item in origin.get("localStorage", []))
    replaced = target.exists()
    write_private(target, json.dumps(state, ensure_ascii=False, indent=1).encode("utf-8"))
    domains = sorted({str(c.get("domain", "")).lstrip(".") for c in cookies})
    origins = len(state.get("origins", []))
    out.write(f"Logged in to {site.name} ({found.describe()} seen). Saved account "
              f"{opts.account!r}: {len(cookies)} cookies for {', '.join(domains) or 'no domain'}"
              f"{f', local storage of {origins} origins' if origins else ''} -> {target} (mode 0600"
              f"{'; replaced the previous session' if replaced else ''})\n")
    out.flush()
    return EXIT_OK


def main_login(opts: LoginOptions, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """The CLI's entry: runs the login, turns errors into a message and an exit code."""
    from config.redact import redact

    try:
        return asyncio.run(run_login(opts, out))
    except LoginError as exc:
        err.write(f"vocwatch login: {redact(str(exc))}\n")
        return exc.code
    except Exception as exc:  # the browser crashed or closed under us (playwright.Error and kin)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        err.write(f"vocwatch login: the browser failed: {redact(first)}; nothing saved\n")
        return EXIT_FAILED
    except KeyboardInterrupt:
        err.write("vocwatch login: interrupted; nothing saved\n")
        return EXIT_INTERRUPTED
