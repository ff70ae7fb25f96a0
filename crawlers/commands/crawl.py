"""``scrapy crawl`` for vocwatch's spiders: Scrapy's command, with the ``-a`` arguments
checked first (``crawlers.spiderargs``). A bad value ends in one line on standard error
and exit code 2; nothing is crawled."""

from __future__ import annotations

import argparse
import os
import sys

from scrapy.commands.crawl import Command as ScrapyCrawl

from crawlers.addon import explicit_config
from crawlers.spiderargs import KNOWN_ARGS, SpiderArgumentError, bind, parse_since, unknown_args

EXIT_USAGE = 2


class Command(ScrapyCrawl):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) == 1 and (problem := self.problem(args[0], opts.spargs)):
            print(f"scrapy crawl {args[0]}: {problem}", file=sys.stderr)
            self.exitcode = EXIT_USAGE
            return
        super().run(args, opts)

    def problem(self, name: str, spargs: dict[str, str]) -> str | None:
        """What is wrong with crawling spider ``name`` with ``spargs``, in one line; None
        when it can start (or is not one of vocwatch's source spiders)."""
        from spiders.base import SourceSpider

        assert self.crawler_process is not None
        loader = self.crawler_process.spider_loader
        if name not in loader.list():
            return f"no such spider; spiders: {', '.join(sorted(loader.list()))}"
        if not issubclass(loader.load(name), SourceSpider):
            return None
        if unknown := unknown_args(spargs):
            return f"unknown -a argument(s) {', '.join(unknown)}; vocwatch's spiders take: {', '.join(KNOWN_ARGS)}"
        explicit = explicit_config(self.settings) if self.settings is not None else None
        try:
            parse_since(spargs.get("since"))
            bind(name, config=spargs.get("config") or explicit, source=spargs.get("source"), url=spargs.get("url"),
                 site=spargs.get("site"), location=spargs.get("location"),
                 checking=bool(os.environ.get("SCRAPY_CHECK")))
        except SpiderArgumentError as exc:
            return str(exc)
        return None
