"""The one place the boot service's HTTP server is built, for ``strata serve`` and
``strata apply`` alike: uvicorn with Strata's limits (``strata.boot.limits``).

From uvicorn it takes its own knobs where they do the job: ``timeout_keep_alive`` for
idle kept-alive connections, ``ws="none"`` (the service speaks no WebSocket) and
``proxy_headers=False`` (machines reach the service directly: a client must not name
its own address in ``X-Forwarded-For`` and escape its per-address bound). It leaves
``limit_concurrency`` unset: that counts the connections held, idle ones included,
and answers 503 to everyone once slow clients fill it; the connection guard
(``strata.boot.protocol``) bounds connections instead, closing idle ones to make
room. ``h11_max_incomplete_event_size`` bounds heads only under h11; the service runs
uvicorn's httptools protocol (its default, and the faster), which the guard extends.

Importing this module imports uvicorn: the CLI imports it only to serve.
"""

from __future__ import annotations

import logging
import resource
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from strata.boot.limits import DEFAULT_LIMITS, Limits
from strata.boot.protocol import Guard, guarded_protocol

__all__ = ["OpenFiles", "boot_server", "raise_open_file_limit"]

log = logging.getLogger("strata.boot")


@dataclass(frozen=True, slots=True)
class OpenFiles:
    """The process's open-file limit before and after Strata asked for more."""

    before: int
    soft: int
    hard: int
    max_connections: int  # the connection bound this soft limit leaves room for
    backlog: int  # the listen backlog that goes with it

    def describe(self) -> str:
        raised = f"raised from {self.before} to" if self.soft != self.before else "kept at"
        return (
            f"open files: soft limit {raised} {self.soft} (hard {self.hard}); "
            f"up to {self.max_connections} connections, a backlog of {self.backlog}"
        )


def raise_open_file_limit(limits: Limits = DEFAULT_LIMITS) -> OpenFiles:
    """Raise RLIMIT_NOFILE's soft limit toward the hard limit, as far as
    ``limits.max_connections`` can use (getrlimit(2): an unprivileged process may raise
    its soft limit up to the hard one). Many systems start a process at 1,024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = limits.open_files_wanted()
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    got = soft
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            got = target
        except (ValueError, OSError) as exc:  # e.g. a hard limit above fs.nr_open
            log.warning("event=open-file-limit-kept soft=%d wanted=%d error=%s", soft, target, exc)
    usable = wanted if got == resource.RLIM_INFINITY else got
    bound = limits.connection_budget(usable)
    files = OpenFiles(soft, got, hard, bound, limits.backlog(bound))
    if files.max_connections < limits.max_connections:
        log.warning("event=connections-bounded-by-open-files %s", files.describe())
    return files


def boot_server(
    app: ASGIApp, host: str, port: int, limits: Limits = DEFAULT_LIMITS
) -> tuple[uvicorn.Server, OpenFiles]:
    """The server for the boot service's ``app`` on ``host:port``, and the open-file
    limit it got (which bounds its connections). Run it with ``server.run()``."""
    files = raise_open_file_limit(limits)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=guarded_protocol(Guard(limits, files.max_connections)),
        ws="none",
        lifespan="on",
        proxy_headers=False,
        timeout_keep_alive=limits.keep_alive_timeout,
        backlog=limits.backlog(files.max_connections),
        log_level="warning",
        access_log=False,
    )
    return uvicorn.Server(config), files
