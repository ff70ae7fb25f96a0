"""A real Redis for the tests: Debian's ``redis-server`` on 127.0.0.1 at a free port, in a
temp dir of its own, with persistence on (append-only file, fsync on every write), so a
test can kill or restart it mid-crawl and see what a real deployment would.

``scripts/bootstrap.sh`` installs the package. Where it is missing the tests that need it
skip with a message outside CI and fail in CI (``CI`` set): the distributed tests must
never pass silently by not running.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_debian_program(path: str, package: str) -> None:
    """Skip (outside CI) or fail (in CI) when Debian's ``package`` (``path``) is not
    installed: ``scripts/bootstrap.sh`` installs it, so in CI its absence is a failure."""
    if os.path.exists(path):
        return
    message = f"{path} is missing: install Debian's {package} (scripts/bootstrap.sh does)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def require_redis_server() -> None:
    require_debian_program(REDIS_SERVER, "redis-server")


class RedisServer:
    """One ``redis-server`` process; :meth:`restart` keeps its port and its data."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> None:
        log = open(self.workdir / "redis.log", "ab")  # noqa: SIM115 - the server process keeps it
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "no",
             "--daemonize", "no", "--databases", "16"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}; see {self.workdir}/redis.log")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout:g} s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM (a clean shutdown) or SIGKILL (a crash); either way the AOF keeps the data
        written so far (fsync always)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self, sig: int = signal.SIGTERM, down_for: float = 0.0) -> None:
        self.stop(sig)
        if down_for:
            time.sleep(down_for)
        self.start()
