"""The boot service: the HTTP side of network boot, in the manner of matchbox.

Routes (one handler each): ``/boot.ipxe`` (the generic entry every iPXE
chains to), ``/ipxe`` (this machine's script, found by MAC), ``/grub`` (the same for
GRUB, which virtual media starts on UEFI; ``strata.boot.loaders``), ``/ignition/{node}``
(a config, with a single-use token), ``/events/{node}`` (phone-home), and
``/assets/{os}/{version}/{file}`` (the artifact mirror, with Range and ETag), and
``/firmware/{file}`` (iPXE binaries for UEFI HTTP Boot clients; ``strata.boot.firmware``),
and ``/media/{node}.iso`` (a node's virtual media image, for its BMC; ``strata.boot.media``).
What a machine gets is decided by ``BootContent`` and the ``BootState``; the
handlers only translate. State calls run on the event loop: a SQLite call in WAL
mode with synchronous=NORMAL takes tens of microseconds (no fsync per commit),
while handing it to a worker thread cost four times the whole request
(bench/boot_storm.py: 0.51 against 0.10 ms of CPU per /ipxe); the rare WAL
checkpoint is the worst pause.

What a request may make the service write goes through a ``Tally``: a repeat within a
minute is counted, not written (``strata.boot.tally``); what is written goes in
batches, each request answered once its entries are (``strata.boot.journal``). Only the phone-home reads a
body, bounded, once its token is checked; any other request's body is never read and
its connection is closed after the answer (``strata.boot.body``). Connections are
bounded by the server (``strata.boot.server``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from strata.boot.assets import Asset, AssetIndex, serve_asset
from strata.boot.body import BadEvent, BodyRefused, UnreadBody, event_from_body, read_body
from strata.boot.content import BootContent
from strata.boot.firmware import firmware_assets
from strata.boot.frozen import journaled, unrecorded
from strata.boot.journal import Journal
from strata.boot.limits import DEFAULT_LIMITS, Limits
from strata.boot.loaders import GRUB, IPXE, Loader
from strata.boot.media import MediaError, MediaImages
from strata.boot.tally import OVER, Tally
from strata.boot.tokens import Grant, Stage, TokenRejected
from strata.ignition import BuildError
from strata.provisioning import PHONE_HOME, BootState, LogKind, UnknownMachine
from strata.store.fence import WritesRefused
from strata.web.metrics import BootMetrics, CountRequests

__all__ = [
    "FLUSH_SECONDS",
    "BadEvent",
    "BootService",
    "event_from_body",
]

UNKNOWN_MACHINE = "unknown-machine"  # the tally's name for a sighting of an unknown MAC
FLUSH_SECONDS = 5.0  # how often closed windows are looked for when no request comes
_MAC = re.compile(r"^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$")
_IPXE = "text/plain; charset=utf-8"
IGNITION_TYPE = "application/vnd.coreos.ignition+json"

# ${netX/mac}: the device iPXE booted from (netX is the most recently opened one;
# ipxe.org/cfg); ${uuid} and ${serial} come from SMBIOS; ${buildarch} and ${platform}
# say which kernel and firmware to serve.
_WHO = (  # the chain to this machine's script
    "chain {base}/ipxe?mac=${{netX/mac}}&uuid=${{uuid}}&serial=${{serial}}"
    "&buildarch=${{buildarch}}&platform=${{platform}}"
)
CHAIN = (  # asked again every 5 s for 2 min while it cannot answer (a 503 during a move;
    # ``cmd && exit ||``: ipxe.org/scripting), then failing as before: the next boot device
    "#!ipxe\n# Strata boot service: tell it who this machine is\n"
    + f"{_WHO} && exit ||\nsleep 5\n" * 24
    + f"{_WHO}\n"
)


class BootService:
    def __init__(
        self,
        content: BootContent,
        state: BootState,
        assets: AssetIndex,
        clock: Callable[[], float] = time.time,
        limits: Limits = DEFAULT_LIMITS,
        tally: Tally | None = None,
        firmware: Mapping[str, Asset] | None = None,
        linger: float = 0.0,
        metrics: BootMetrics | None = None,
    ) -> None:
        """``linger``: seconds a batch of log entries waits for more (``Journal``);
        ``metrics``: where each request is counted (``strata.web.metrics``)."""
        self.content, self.state, self.assets, self.clock = content, state, assets, clock
        self.journal = Journal(state, linger)
        self.firmware = firmware_assets() if firmware is None else firmware
        self.tally = tally or Tally()
        self.limits = limits
        self.media = MediaImages()
        self.app = Starlette(
            routes=[
                Route("/boot.ipxe", self.boot_ipxe),
                Route("/ipxe", journaled(self.ipxe)),
                Route("/grub", journaled(self.grub)),
                Route("/ignition/{node}", journaled(self.ignition)),
                Route("/events/{node}", journaled(self.events), methods=["POST"]),
                Route(
                    "/assets/{os}/{version}/{file}", journaled(self.asset), methods=["GET", "HEAD"]
                ),
                Route("/firmware/{file}", self.firmware_file, methods=["GET", "HEAD"]),
                Route("/media/{node}.iso", self.media_image, methods=["GET", "HEAD"]),
            ],
            middleware=[
                *([Middleware(CountRequests, metrics=metrics)] if metrics is not None else []),
                Middleware(UnreadBody),
            ],
            lifespan=self._lifespan,
        )

    def reload(self, content: BootContent) -> None:
        """A new plan: new content, and with it empty caches."""
        self.content = content

    async def boot_ipxe(self, request: Request) -> Response:
        return PlainTextResponse(CHAIN.format(base=self.content.base_url), media_type=_IPXE)

    async def ipxe(self, request: Request) -> Response:
        return self._boot_script(request, IPXE)

    async def grub(self, request: Request) -> Response:
        return self._boot_script(request, GRUB)

    def _boot_script(self, request: Request, loader: Loader) -> Response:
        """The machine's boot recipe in ``loader``'s language, found by its ``mac``: the
        install while its attempt is open (and ``ipxe-fetched`` recorded), else the boot
        from disk; an unknown MAC is recorded as a sighting."""
        query = request.query_params
        mac = query.get("mac", "").strip().lower().replace("-", ":")
        if not _MAC.match(mac):
            return PlainTextResponse("a mac query parameter is required\n", status_code=400)
        node = self.content.node_for_mac(mac)
        if node is None:
            machine = UnknownMachine(
                mac,
                _opt(query, "uuid"),
                _opt(query, "serial"),
                _opt(query, "buildarch"),
                _opt(query, "platform"),
            )
            self._sighted(request, machine)
            return PlainTextResponse(loader.unknown(mac), media_type=loader.media_type)
        attempt = self.state.attempt(node.name)
        if attempt is None or attempt.expires < self.clock():
            return PlainTextResponse(loader.disk(node), media_type=loader.media_type)
        try:
            script = self.content.install_script(node, attempt, loader)
        except BuildError as exc:
            failed = {"reason": str(exc)}
            self._write(request, node.name, LogKind.BOOT_RECIPE_FAILED, failed, ("reason",))
            return PlainTextResponse(loader.failed(str(exc)), media_type=loader.media_type)
        detail = {
            "mac": mac,
            "attempt": attempt.number,
            "arch": query.get("buildarch"),
            "platform": query.get("platform"),
            **({"via": _opt(query, "via")} if query.get("via") else {}),
            **({"loader": loader.name} if loader is not IPXE else {}),
        }
        self._write(request, node.name, LogKind.IPXE_FETCHED, detail, ("attempt",))
        return PlainTextResponse(script, media_type=loader.media_type)

    async def ignition(self, request: Request) -> Response:
        name = request.path_params["node"]
        node = self.content.nodes.get(name)
        if node is None:
            return PlainTextResponse("not found\n", status_code=404)
        grant = self._grant(request, name, (Stage.LIVE, Stage.FINAL), "ignition")
        if grant is None:
            return _forbidden()
        attempt = self.state.attempt(name)
        if attempt is None or attempt.number != grant.attempt:
            return self._refuse(request, name, "ignition", "not the attempt in progress")
        try:  # before the token is spent: a node refused now may fetch once it is fixed
            body = self.content.config(node, attempt, grant.stage)
        except BuildError as exc:
            failed = {"reason": str(exc), "stage": grant.stage.name.lower()}
            self._write(request, name, LogKind.BOOT_RECIPE_FAILED, failed, ("reason",))
            return PlainTextResponse(f"Strata: {exc}\n", status_code=500)
        if not self.state.consume(name, grant.attempt, grant.stage):
            return self._refuse(request, name, "ignition", "replayed (this token was used)")
        request.state.committed = True  # answered even if its entry is refused (frozen.py)
        detail = {"stage": grant.stage.name.lower(), "attempt": attempt.number}
        self._write(request, name, LogKind.IGNITION_FETCHED, detail, ("stage", "attempt"))
        return Response(body, media_type=IGNITION_TYPE)

    async def events(self, request: Request) -> Response:
        """Phone-home. The node and its token are checked before any body is read, and
        the body only when the query names no event: the one route that waits for a
        body waits only for a machine holding the node's events token."""
        name = request.path_params["node"]
        if name not in self.content.nodes:
            return PlainTextResponse("not found\n", status_code=404)
        grant = self._grant(request, name, (Stage.EVENTS,), "events")
        if grant is None:
            return _forbidden()
        try:
            event = request.query_params.get("event") or event_from_body(
                await read_body(request, self.limits.max_body_bytes, self.limits.body_timeout)
            )
        except BodyRefused as exc:
            return exc.response()
        except BadEvent as exc:
            return PlainTextResponse(f"{exc}\n", status_code=400)
        if event not in PHONE_HOME:
            return PlainTextResponse(
                f"event must be one of {', '.join(sorted(PHONE_HOME))}\n", status_code=400
            )
        self._write(request, name, event, {"attempt": grant.attempt}, ("attempt",))
        return Response(status_code=204)

    async def asset(self, request: Request) -> Response:
        """An artifact, with Range and ETag; a missing one is a ``404`` and, when the
        request proves it is a node's install asking, an event on that node
        (``_missing``)."""
        p = request.path_params
        found = self.assets.get(p["os"], p["version"], p["file"])
        if found is not None and not found.path.is_file():  # removed since it was indexed
            found = None
        if found is None:
            self._missing(request, f"{p['os']}/{p['version']}/{p['file']}")
        return serve_asset(request, found)

    def _missing(self, request: Request, file: str) -> None:
        """Record ``artifact-missing`` on the node the request names, which fails the node
        at once, only when the request proves it comes from that node's install: the
        recipe's URLs carry ``?node=NAME&token=T`` with the node's artifact token of the
        attempt in progress, and ``file`` must be one that install fetches. Anything else
        (no token, a forged one, another node's, an earlier attempt's, a file the client
        made up) is a plain ``404`` and writes nothing. The keys are (node, file, attempt)
        from that short list, never a name the client chose, and the tally writes each
        at most once a minute (and its repeats once)."""
        query = request.query_params
        node = self.content.nodes.get(query.get("node", ""))
        if node is None or file not in self.content.install_files(node):
            return
        now = self.clock()
        try:
            number = self.content.signer.check_artifacts(node.name, query.get("token", ""), now)
        except TokenRejected:
            return
        attempt = self.state.attempt(node.name)
        if attempt is None or attempt.number != number or attempt.expires < now:
            return
        detail = {"file": file, "attempt": attempt.number}
        self._write(request, node.name, LogKind.ARTIFACT_MISSING, detail, ("file", "attempt"))

    async def firmware_file(self, request: Request) -> Response:
        """An iPXE binary, for UEFI HTTP Boot clients (DHCP points them here)."""
        return serve_asset(request, self.firmware.get(request.path_params["file"]))

    async def media_image(self, request: Request) -> Response:
        """A node's virtual media image, with ETag and Range, to the bearer of its media
        token (``403`` and a refusal on the node otherwise)."""
        node = self.content.nodes.get(request.path_params["node"])
        if node is None:
            return _forbidden()
        try:
            token = request.query_params.get("token", "")
            self.content.signer.check_media(node.name, token, self.clock())
        except TokenRejected as exc:
            self._record_refusal(request, node.name, "media", str(exc))
            return _forbidden()
        try:
            image = await asyncio.to_thread(self.media.image, node, self.content.base_url)
        except MediaError as exc:
            return PlainTextResponse(f"{exc}\n", status_code=500)
        return serve_asset(request, image)

    def _grant(
        self, request: Request, node: str, stages: tuple[Stage, ...], route: str
    ) -> Grant | None:
        token = request.query_params.get("token", "")
        try:
            grant = self.content.signer.check(node, token, self.clock())
        except TokenRejected as exc:
            self._record_refusal(request, node, route, str(exc))
            return None
        if grant.stage not in stages:
            self._record_refusal(request, node, route, f"a {grant.stage.name.lower()} token")
            return None
        return grant

    def _refuse(self, request: Request, node: str, route: str, reason: str) -> Response:
        self._record_refusal(request, node, route, reason)
        return _forbidden()

    def _record_refusal(self, request: Request, node: str, route: str, reason: str) -> None:
        detail = {"route": route, "reason": reason}
        self._write(request, node, LogKind.TOKEN_REJECTED, detail, ("route", "reason"), capped=True)

    # -- what requests make the service write --------------------------------

    def _write(
        self,
        request: Request,
        node: str,
        event: str,
        detail: Mapping[str, object],
        ident: tuple[str, ...],
        capped: bool = False,
    ) -> None:
        """Record ``event`` unless the same (node, event, ``ident`` fields of ``detail``)
        was recorded within the tally's window: then it is counted for the summary.
        ``capped``: a key any client can make up, tracked within the tally's bounds."""
        self.flush()
        source = _source(request)
        key = (node, event, tuple((k, detail[k]) for k in ident))
        if self.tally.offer(key, source, self.clock(), capped):  # answered once written
            written = self.journal.add(node, event, {**detail, "source": source})
            written.add_done_callback(lambda done: self._refused(done, key))
            request.state.written = written

    def _refused(self, written: asyncio.Future[None], key: Any) -> None:
        """A refused write (a move: ``strata.boot.frozen``) is not a repeat's first."""
        if not written.cancelled() and isinstance(written.exception(), WritesRefused):
            self.tally.forget(key)

    def _sighted(self, request: Request, machine: UnknownMachine) -> None:
        """Record a machine in no topology, once a window per MAC (its row keeps the last
        sighting); MACs are the client's to invent, so they are tracked within bounds."""
        self.flush()
        key = (OVER, UNKNOWN_MACHINE, (("mac", machine.mac),))
        if self.tally.offer(key, _source(request), self.clock(), capped=True):
            try:
                self.state.record_unknown(machine)
            except WritesRefused:
                self.tally.forget(key)
                raise

    def flush(self, everything: bool = False) -> None:
        """Write the summaries of the windows that have closed (all of them: stopping).
        One unknown machine's repeats need none (its row says when it was last seen); the
        count of those beyond the bounds (no MAC) is written."""
        closed = self.tally.drain() if everything else self.tally.closed(self.clock())
        summaries = [r for r in closed if r.event != UNKNOWN_MACHINE or not r.ident]
        for done, repeats in enumerate(summaries):
            try:
                self.state.record(repeats.node, LogKind.REPEATED, repeats.detail())
            except WritesRefused as refused:  # a move holds the state: dropped, said
                unrecorded(refused, len(summaries) - done)
                return

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        """While the server runs, summaries are written even when no request comes; when
        it stops, the open windows are closed so that no count is lost."""
        task = asyncio.create_task(self._flush_every(FLUSH_SECONDS))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self.journal.write()
            self.flush(everything=True)
            self.media.close()

    async def _flush_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            self.flush()


def _forbidden() -> Response:
    return PlainTextResponse("forbidden\n", status_code=403)


def _opt(query: Any, key: str) -> str | None:
    value = query.get(key)
    return value[:128] if value else None


def _source(request: Request) -> str:
    """The client's address as the connection shows it (the server trusts no proxy header)."""
    return request.client.host if request.client else "local"
