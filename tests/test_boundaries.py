"""The dependency direction of DESIGN.md: nlp and monitor never import Scrapy."""

import subprocess
import sys


def test_nlp_and_monitor_import_without_scrapy() -> None:
    code = (
        "import sys\n"
        "import nlp, nlp.lang, nlp.sentiment, nlp.analyze, nlp.aspects, nlp.jsonl, monitor, monitor.compset, monitor.metrics, monitor.delivery, monitor.notify_render, monitor.health, config, crawlers.store, crawlers.items, crawlers.processors\n"
        "bad = sorted(m for m in sys.modules if m == 'scrapy' or m.startswith(('scrapy.', 'twisted')))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
