"""The crawl console a person reads: one line per problem, the traceback only at DEBUG.

Scrapy logs a failing download, a failed robots.txt or a callback that raised with a
whole traceback at ERROR; on a console that buries the one line that says what went
wrong. :class:`ReadableConsole` (an extension, so ``scrapy crawl`` gets it as vocwatch's
runner does) swaps the console handler's formatter for :class:`OneLineFormatter` unless
the log level is DEBUG; a ``LOG_FILE`` keeps every traceback.
"""

from __future__ import annotations

import logging
from typing import Any


class OneLineFormatter(logging.Formatter):
    """Formats as ``inner`` does, but an error's traceback becomes its one-line summary.

    Scrapy logs a failing request or a spider that raised with a whole traceback at ERROR;
    on a console that buries the one line that says what went wrong. The summary is kept
    (``ExcType: message`` when the message does not already say it); the traceback is
    only printed at DEBUG (``--log-level DEBUG``) or into a log file (``LOG_FILE``)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        cut = message.find("\nTraceback (most recent call last):")
        if not (record.exc_info or record.exc_text or record.stack_info) and cut < 0:
            return self.inner.format(record)
        line = logging.makeLogRecord(record.__dict__)  # a copy: other handlers keep the traceback
        line.msg, line.args = (message[:cut] if cut >= 0 else message).rstrip(" .\n") or message, None
        line.exc_info = line.exc_text = line.stack_info = None
        text = self.inner.format(line)
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and str(exc) not in message:
            text += f" ({type(exc).__name__}: {exc})"
        return text


def console_without_tracebacks() -> None:
    """Put :class:`OneLineFormatter` on Scrapy's console handler unless it logs DEBUG."""
    from scrapy.utils.log import get_scrapy_root_handler

    handler = get_scrapy_root_handler()
    if (type(handler) is logging.StreamHandler and handler.level > logging.DEBUG
            and handler.formatter is not None and not isinstance(handler.formatter, OneLineFormatter)):
        handler.setFormatter(OneLineFormatter(handler.formatter))


class ReadableConsole:
    """Extension: :func:`console_without_tracebacks` as the engine starts (Scrapy installs
    the crawler's own console handler after the extensions are built)."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> ReadableConsole:
        from scrapy import signals

        ext = cls()
        crawler.signals.connect(ext.engine_started, signal=signals.engine_started)
        return ext

    def engine_started(self) -> None:
        console_without_tracebacks()
