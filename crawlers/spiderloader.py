"""A spider loader that imports only the spiders a crawl asks for.

Scrapy's :class:`scrapy.spiderloader.SpiderLoader` imports every module under
``SPIDER_MODULES`` when a crawler process starts: for vocwatch that is every site adapter
and its dependencies (extruct, mf2py, ...), about half a second of CPU in every crawl
process, however few sources it crawls. vocwatch names each spider module after its
spider (``spiders/selectors.py`` holds ``name = "selectors"``), so :meth:`load` imports
that one module; any other name, and :meth:`list` / :meth:`find_by_request` (``scrapy
list``, ``scrapy parse``), fall back to Scrapy's full walk, so the answers are the same.
"""

from __future__ import annotations

import importlib
from typing import Any

from scrapy import Spider
from scrapy.spiderloader import SpiderLoader
from scrapy.utils.spider import iter_spider_classes


class LazySpiderLoader(SpiderLoader):
    """:class:`SpiderLoader` that walks the spider modules only when it must."""

    def __init__(self, settings: Any) -> None:
        self.spider_modules: list[str] = settings.getlist("SPIDER_MODULES")
        self.warn_only: bool = settings.getbool("SPIDER_LOADER_WARN_ONLY")
        self._spiders: dict[str, type[Spider]] = {}
        self._found: dict[str, list[tuple[str, str]]] = {}
        self._walked = False

    def _walk(self) -> None:
        if not self._walked:
            from collections import defaultdict

            self._walked = True
            self._spiders, self._found = {}, defaultdict(list)
            self._load_all_spiders()

    def _named_module(self, spider_name: str) -> type[Spider] | None:
        """The spider called ``spider_name`` in ``<spider module>.<spider_name>``, if that
        module exists and defines it (one import instead of all of them)."""
        if not spider_name.isidentifier():
            return None
        for package in self.spider_modules:
            try:
                module = importlib.import_module(f"{package}.{spider_name}")
            except ModuleNotFoundError as exc:
                if exc.name is not None and f"{package}.{spider_name}".startswith(exc.name):
                    continue  # no such module: not a name this shortcut can answer
                raise  # the module exists but something it imports is missing: say so
            for cls in iter_spider_classes(module):
                if cls.name == spider_name:
                    return cls
        return None

    def load(self, spider_name: str) -> type[Spider]:
        if not self._walked:
            if spider_name in self._spiders:
                return self._spiders[spider_name]
            if (cls := self._named_module(spider_name)) is not None:
                self._spiders[spider_name] = cls
                return cls
        self._walk()
        return super().load(spider_name)

    def list(self) -> list[str]:
        self._walk()
        return super().list()

    def find_by_request(self, request: Any) -> list[str]:
        self._walk()
        return super().find_by_request(request)
