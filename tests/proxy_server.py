"""Real HTTP proxies for the tests: Debian's ``tinyproxy`` on 127.0.0.1 at a free port, with a
generated config of its own (optionally ``BasicAuth`` user/password), each adding an
``X-Proxy-Id`` header to what it forwards so a local site can tell the proxies apart (they
all connect from 127.0.0.1) and ban one of them.

``scripts/bootstrap.sh`` installs the package. Where it is missing the tests that need it
skip with a message outside CI and fail in CI (``CI`` set), like ``tests/redis_server.py``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.redis_server import free_port, require_debian_program

TINYPROXY = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"


def require_tinyproxy() -> None:
    require_debian_program(TINYPROXY, "tinyproxy")


class ProxyServer:
    """One tinyproxy process named ``proxy_id`` (sent on as ``X-Proxy-Id``)."""

    def __init__(self, workdir: Path, proxy_id: str, *, user: str = "", password: str = "") -> None:
        self.workdir = workdir / proxy_id
        self.proxy_id, self.user, self.password = proxy_id, user, password
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.workdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        """The URL a client is configured with (credentials included when it asks for them)."""
        auth = f"{self.user}:{self.password}@" if self.user else ""
        return f"http://{auth}127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log(self) -> str:
        path = self.workdir / "tinyproxy.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self, timeout: float = 10.0) -> None:
        conf = self.workdir / "tinyproxy.conf"
        lines = [f"Port {self.port}", "Listen 127.0.0.1", "Timeout 30", "MaxClients 50", "Allow 127.0.0.1",
                 f"LogFile \"{self.workdir / 'tinyproxy.log'}\"", "LogLevel Info",
                 f"PidFile \"{self.workdir / 'tinyproxy.pid'}\"", "DisableViaHeader Yes", "XTinyproxy No",
                 f'AddHeader "X-Proxy-Id" "{self.proxy_id}"']
        if self.user:
            lines.append(f"BasicAuth {self.user} {self.password}")
        if os.geteuid() == 0:  # tinyproxy drops root; its log must stay writable for that user
            lines += ["User nobody", "Group nogroup"]
            os.chmod(self.workdir, 0o777)
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        out = open(self.workdir / "stdout.log", "ab")  # noqa: SIM115 - the server process keeps it
        self.proc = subprocess.Popen([TINYPROXY, "-d", "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tinyproxy exited with {self.proc.returncode}; see {self.workdir}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"tinyproxy did not listen on port {self.port} within {timeout:g} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
