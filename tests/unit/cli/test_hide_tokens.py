"""A library's debug line never shows a token Strata signed (-vv turns sushy's request
bodies and urllib3's request lines on: a virtual media image's URL carries one)."""

from __future__ import annotations

import io
import logging

from strata.cli.app import _logging
from strata.cli.logs import HideTokens


def test_every_token_in_a_line_is_masked_and_the_rest_kept() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(HideTokens())
    log = logging.getLogger("sushy.connector.test")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        body = {"Image": "http://10.0.0.1:8080/media/n1.iso?token=AAAAAP93x-_9"}
        log.debug("HTTP request: POST %s; body: %s", "/redfish/v1/.../InsertMedia", body)
        log.debug('"GET /ignition/n1?token=Zm9v&x=1 HTTP/1.1" 200')
    finally:
        log.removeHandler(handler)
    text = out.getvalue()
    assert "AAAAAP93x-_9" not in text and "Zm9v" not in text
    assert "media/n1.iso?token=***" in text and "token=***&x=1" in text


def test_the_cli_puts_it_on_its_handlers() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        _logging(2)
        assert root.handlers and all(
            any(isinstance(f, HideTokens) for f in h.filters) for h in root.handlers
        )
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)
        for handler in before:
            handler.filters = [f for f in handler.filters if not isinstance(f, HideTokens)]
