"""What the boot service answers while a move holds its state, and once it has moved
(docs/pivot.md, "Resume and the handover").

The store refuses the boot service's writes then (``strata.store.fence``: a token
consumed, a log entry, a machine in no topology seen), in the transaction of the write.
A request whose write is refused is answered ``503 Service Unavailable`` with
``Retry-After`` (RFC 9110 15.6.4, 10.2.3): its machine asks again, and what it reports
is recorded where the plane is by then. Every client on this path retries a 5xx:
Ignition retries any 5xx with a backoff of up to 5 s, without end (Ignition's operator
notes, "HTTP Backoff and Retry"); the installed system's phone-home is ``curl --retry
10 --retry-delay 5``, which retries 503 (curl(1), --retry: "transient" errors); iPXE's
chain to ``/ipxe`` goes round the loop in ``strata.boot.service.CHAIN``.

One exception: a request that already wrote — an Ignition config whose single-use
token was consumed before the freeze — keeps its answer when only its log entry is
refused (the token's use was copied with the state; a 503 would leave the machine a
spent token). The entry is said in the service's log instead.

Each refusal's reason (the lease holder) is logged once, as a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from strata.store.fence import WritesRefused

__all__ = ["RETRY_AFTER", "journaled", "unavailable"]

log = logging.getLogger("strata.boot")
RETRY_AFTER = 5  # seconds: Ignition's and curl's own retry delays are 5 s at most
_said: set[str] = set()  # the holders already logged


def unavailable(refused: WritesRefused) -> Response:
    """503 with Retry-After; the reason logged once per lease holder."""
    if refused.holder not in _said:
        _said.add(refused.holder)
        if refused.moved:
            log.warning(
                "the management plane moved: %s; this boot service records nothing more "
                "(every write is answered 503): stop it, its successor serves there",
                refused.holder,
            )
        else:
            log.warning(
                "writes refused (503, Retry-After %d s) while a move holds the state: %s",
                RETRY_AFTER,
                refused.holder,
            )
    text = "the management plane moved\n" if refused.moved else "a move is in progress\n"
    return PlainTextResponse(text, status_code=503, headers={"retry-after": str(RETRY_AFTER)})


def journaled(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """The route answers once what the request recorded is written (``Journal``); a
    write the store refuses (``WritesRefused``) answers 503 (``unavailable``), unless
    the request had already written (``request.state.committed``)."""

    async def handle(request: Request) -> Response:
        try:
            response = await handler(request)
        except WritesRefused as refused:
            return unavailable(refused)
        written = getattr(request.state, "written", None)
        if written is not None:
            try:
                await written
            except WritesRefused as refused:
                if not getattr(request.state, "committed", False):
                    return unavailable(refused)
                log.warning(
                    "%s answered, its log entry not recorded: %s", request.url.path, refused
                )
        return response

    return handle


def unrecorded(refused: WritesRefused, count: int) -> None:
    """Summaries of repeats (``strata.boot.tally``) the store refused: said, dropped."""
    log.warning("%d repeat summaries not recorded: %s", count, refused)
