"""Deterministic, locally served review sites for demos and end-to-end crawler tests.

Usage::

    with Sandbox(seed=7) as sb:
        crawl(sb.base_url + "/hotels/h1001/reviews")
        expected = sb.truth_for("/hotels/h1001/reviews")
"""

from .locations import SANDBOX_LOCATIONS
from .model import RequestRecord, TrueMention
from .render import weibo_created_at
from .server import Sandbox

__all__ = ["SANDBOX_LOCATIONS", "RequestRecord", "Sandbox", "TrueMention", "weibo_created_at"]
