"""A plain HTTP GET for tests that read a service the way a person's browser or curl
would (urllib: no client of Strata's own)."""

from __future__ import annotations

import urllib.error
import urllib.request

__all__ = ["get"]


def get(url: str, timeout: float = 10.0) -> tuple[int, str]:
    """(status, body) of a GET of ``url``; an error status with its body; (0, "") when
    nothing answers (not listening yet, refused)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()
    except OSError:
        return 0, ""
