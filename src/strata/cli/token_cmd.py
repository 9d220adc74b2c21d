"""`strata token`: the web face's bearer token (docs/web.md, "Access")."""

from __future__ import annotations

from pathlib import Path

import click

from strata.cli.common import FILE_OPTION, STATE
from strata.cli.status import open_store
from strata.web.access import web_token

__all__ = ["token"]


@click.command()
@FILE_OPTION
@STATE
def token(file: Path, state: Path | None) -> None:
    """Print the bearer token of FILE's web face (`--web-listen`): what a client off the
    loopback sends as `Authorization: Bearer TOKEN`, and every action needs.

    It is derived from the state's token-signing key, so whoever may read the state
    (mode 0600) may print it; nothing else is written."""
    store = open_store(file, state)  # read only: a running apply is never waited for
    click.echo(web_token(store.token_key()))
