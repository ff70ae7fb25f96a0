"""Scrapy contracts (``scrapy check``) for vocwatch's spiders, written in the callbacks'
docstrings as Scrapy's are (``@url``, ``@returns``, ``@scrapes``), with two changes:

- ``@url`` expands ``${NAME:-default}`` as the config file does, so a contract names the
  sandbox as ``${VOCWATCH_SANDBOX:-http://127.0.0.1:8765}/hotels/h1001/reviews`` and runs
  against ``vocwatch sandbox`` (port 8765) or any sandbox ``$VOCWATCH_SANDBOX`` names;
- ``@scrapes`` asks every item for a *value* in each field, not only the field: vocwatch's
  items are dataclasses, whose every field is always there (``None`` when not read), so
  Scrapy's own check could never fail.

``scrapy check`` runs with an in-memory store (``crawlers.spiderargs``): nothing is kept.
"""

from __future__ import annotations

import os
import re
from typing import Any

from itemadapter import ItemAdapter, is_item
from scrapy.contracts import Contract
from scrapy.contracts.default import UrlContract as ScrapyUrlContract
from scrapy.exceptions import ContractFail

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand(text: str) -> str:
    """``${NAME}`` / ``${NAME:-default}`` replaced from the environment (unset, no default: empty)."""
    return _ENV_REF.sub(lambda m: os.environ.get(m.group(1)) or (m.group(2) or ""), text)


class UrlContract(ScrapyUrlContract):
    """``@url URL``: the page to check the callback against, environment references expanded."""

    def adjust_request_args(self, args: dict[str, Any]) -> dict[str, Any]:
        args["url"] = expand(self.args[0])
        return args


class ScrapesContract(Contract):
    """``@scrapes field ...``: every item the callback returns has a value (not None, not
    empty) in each named field."""

    name = "scrapes"

    def post_process(self, output: list[Any]) -> None:
        for x in output:
            if not is_item(x):
                continue
            item = ItemAdapter(x)
            missing = [name for name in self.args if item.get(name) in (None, "", [], {})]
            if missing:
                raise ContractFail(f"no value for {', '.join(missing)} in an item from {item.get('url') or '?'}")
