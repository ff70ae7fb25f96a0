"""The crawl process's fixed cost and per-item log work: spiders imported by name, Scrapy's
per-item DEBUG line built only when shown, a one-line text tidied without the regexes."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.settings import Settings

from crawlers.extensions import VocwatchLogFormatter, shows_debug
from crawlers.items import Mention
from crawlers.processors import _tidy, _tidy_by_regexes
from crawlers.spiderloader import LazySpiderLoader


def _loader() -> LazySpiderLoader:
    return LazySpiderLoader.from_settings(Settings({"SPIDER_MODULES": ["spiders"]}))


def test_lazy_loader_imports_only_the_spider_asked_for() -> None:
    # in a fresh interpreter: this one may have imported the site adapters already
    code = ("import sys; from scrapy.settings import Settings; from crawlers.spiderloader import LazySpiderLoader; "
            "cls = LazySpiderLoader.from_settings(Settings({'SPIDER_MODULES': ['spiders']})).load('selectors'); "
            "print(cls.__module__, 'spiders.site' in sys.modules, 'spiders.pages.registry' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.split() == ["spiders.selectors", "False", "False"]  # not every site adapter


def test_lazy_loader_answers_as_scrapys_loader() -> None:
    from scrapy.spiderloader import SpiderLoader

    full = SpiderLoader.from_settings(Settings({"SPIDER_MODULES": ["spiders"]}))
    lazy = _loader()
    assert sorted(lazy.list()) == sorted(full.list())
    for name in full.list():
        assert _loader().load(name) is full.load(name)
    with pytest.raises(KeyError):
        _loader().load("no_such_spider")


def test_runner_settings_use_the_lazy_loader(tmp_path) -> None:
    from config import load_config
    from crawlers.runner import scrapy_settings
    from vocwatch.bench.crawl import vocwatch_config

    path = tmp_path / "c.toml"
    path.write_text(vocwatch_config(["http://127.0.0.1:9/a.html"], tmp_path / "x.db"), encoding="utf-8")
    s = scrapy_settings(load_config(path))
    assert s.get("SPIDER_LOADER_CLASS") == "crawlers.spiderloader.LazySpiderLoader"
    assert s.getdict("EXTENSIONS").get("scrapy.extensions.remote_control.RemoteControl", 0) is None


def test_scraped_line_only_when_a_handler_shows_debug() -> None:
    logger = logging.getLogger("scrapy.core.scraper")
    root = logging.getLogger()
    m = Mention(site="s", kind="review", url="https://example.com/r/1", text="secret words", author="alice",
                external_id="1")
    handler = logging.StreamHandler()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        root.handlers[:] = [handler]
        root.setLevel(logging.NOTSET)
        handler.setLevel(logging.INFO)  # Scrapy's root handler at LOG_LEVEL = "INFO"
        assert not shows_debug(logger)
        assert VocwatchLogFormatter().scraped(m, None, None) is None
        handler.setLevel(logging.DEBUG)
        assert shows_debug(logger)
        line = VocwatchLogFormatter().scraped(m, None, None)
        assert line is not None and line["level"] == logging.DEBUG
        shown = line["msg"] % line["args"]
        assert "https://example.com/r/1" in shown and "secret words" not in shown and "alice" not in shown
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


@pytest.mark.parametrize("text", [
    "", " ", "Alice", "  two  spaces  ", "Great hotel, 5/5!", "酒店 很好", "cafe\u0301 crème", "\u212b ring",
    "tab\there", "nbsp\u00a0x", "ideographic\u3000space", "zero\u200bwidth", "soft\u00adhyphen", "bom\ufeff",
    "line\nbreak", "cr\r\nlf", "nel\x85x", "ls\u2028x", "ctrl\x07x", "del\x7fx", "c1\x90x", "\u2000en quad",
    " \u2003em ", "a \n\n b", "emoji 😀 ok", "x\x1cy",
])
def test_tidy_fast_path_gives_the_regexes_answer(text: str) -> None:
    assert _tidy(text) == _tidy_by_regexes(text)
