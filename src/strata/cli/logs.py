"""What Strata's log lines never show: the tokens in the URLs it signs."""

from __future__ import annotations

import logging
import re

__all__ = ["HideTokens", "hide_tokens"]


class HideTokens(logging.Filter):
    """Masks the value of every ``token=`` in a log line: a library's debug lines (sushy's
    request bodies, urllib3's request lines) may carry a URL Strata signed (a virtual
    media image's, say). Put on a handler, it covers every logger that reaches it."""

    _TOKEN = re.compile(r"(token=)[A-Za-z0-9_\-]+")

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "token=" in text:
            record.msg, record.args = self._TOKEN.sub(r"\1***", text), ()
        return True


def hide_tokens() -> None:
    """``HideTokens`` on every handler of the root logger (after ``logging.basicConfig``)."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(HideTokens())
