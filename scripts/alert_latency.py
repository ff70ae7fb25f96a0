"""How long alert delivery takes to a local SMTP server, apart from the test suite.

Starts an SMTP receiver (aiosmtpd, from the ``dev`` extra) on 127.0.0.1, configures one
mailto:// channel in a temporary config, and delivers N distinct alerts one ``notify()`` call
at a time: ``send`` is apprise's SMTP session alone, ``notify`` adds routing and the
``alert_deliveries`` bookkeeping, measured until the receiver holds the message.

    .venv/bin/python scripts/alert_latency.py [N]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import load_config
from crawlers.store import open_store
from monitor.delivery import notify
from tests.alert_receivers import T0, Alert, smtp_server


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, smtp_server() as (port, box):
        path = Path(tmp) / "vocwatch.toml"
        path.write_text(f"""
[store]
url = "sqlite:///{tmp}/store.db"

[[channels]]
id = "mail"
url = "mailto://alerts@127.0.0.1:{port}?from=vocwatch@example.com&to=ops@example.com"

[[routes]]
channels = ["mail"]
""", encoding="utf-8")
        config = load_config(path)
        store = open_store(config.store_url)
        sends, totals = [], []
        for i in range(n):
            box.received.clear()
            started = time.perf_counter()
            [result] = notify(config, store, [Alert(id=f"latency-{i}")], now=T0 + timedelta(seconds=i))
            if result.status != "sent" or not box.received.wait(5):
                raise SystemExit(f"delivery {i} failed: {result}")
            totals.append(time.perf_counter() - started)
            sends.append(result.seconds or 0.0)
        store.close()

    def fmt(xs: list[float]) -> str:
        xs = sorted(xs)
        return (f"median {statistics.median(xs) * 1000:.1f} ms, p95 {xs[int(0.95 * (len(xs) - 1))] * 1000:.1f} ms, "
                f"max {xs[-1] * 1000:.1f} ms")

    print(f"{n} alerts by email to a local SMTP server (HTML + text, apprise mailto://):")
    print(f"  send (apprise SMTP session):           {fmt(sends)}")
    print(f"  notify (routing + records + send):     {fmt(totals)}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
