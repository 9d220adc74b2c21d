"""The web face's REST API, ``/api/v1`` (docs/web.md, "API"): JSON answers whose shapes
are the pydantic models below, and the OpenAPI 3.1 document made from the same models
(``openapi``), so the document and the answers cannot drift apart.

- ``GET /api/v1/summary``: the topology's servers by state, and per layer (health:
  how many joined, how many failed).
- ``GET /api/v1/servers``: servers by name, filtered by ``state``, ``layer``,
  ``region``, ``zone``, ``rack``; ``limit`` (1 to 1000, default 100) a page, ``after``
  the last name of the page before (``next`` in an answer).
- ``GET /api/v1/servers/{name}``: one server and its plan (the NodePlan: credentials by
  name only, never a secret).
- ``GET /api/v1/servers/{name}/events``: its whole story, oldest first (state changes,
  BMC, DHCP, iPXE, Ignition, phone-home), the ``limit`` newest.
- ``POST /api/v1/servers/{name}/retry``: send a failed server back into the lifecycle,
  as ``strata retry`` does (the bearer token always: ``strata.web.access``).
- ``PUT /api/v1/servers/{name}/maintenance`` (body: none, or ``{"reason": TEXT}``) and
  ``DELETE`` of it: put the server in maintenance or take it out, as ``strata
  maintenance on|off`` does (the token always).

Errors are ``{"error": CODE, "detail": TEXT}`` with their HTTP status.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from strata.errors import StrataError
from strata.plan import NodePlan
from strata.plan.model import to_jsonable
from strata.store.records import LogEntry, NodeSummary
from strata.web.access import HEADERS, Access, refused, unknown_parameters
from strata.web.live import RacksView

__all__ = ["ACTIONS", "Act", "ApiSource", "api_routes", "openapi"]

FILTERS = ("state", "layer", "region", "zone", "rack")
MAX_PAGE = 1000
ACTIONS = ("retry", "maintenance-on", "maintenance-off")  # what ``Act`` is asked to do
MAX_BODY = 4096  # bytes of an action's JSON body


class ServerSummary(BaseModel):
    name: str
    state: str = Field(description="lifecycle state (docs/controller.md)")
    step: str | None = Field(description="where a failed server stopped")
    reason: str | None = Field(description="why it failed, or is held")
    updated: float = Field(description="its record's last write, unix seconds")
    layer: str
    region: str
    zone: str
    rack: str


class ServerPage(BaseModel):
    items: list[ServerSummary]
    total: int = Field(description="servers matching the filters, all pages")
    next: str | None = Field(description="give as `after` for the next page; null: the last")


class RoleHealth(BaseModel):
    role: str = Field(description="control-plane, worker, …; unknown: not in this plan")
    servers: int
    joined: int


class LayerHealth(BaseModel):
    name: str
    servers: int
    joined: int
    failed: int
    states: dict[str, int]
    roles: list[RoleHealth]


class ClusterScope(BaseModel):
    """Where a Topology object is: what each `strata` command the dashboard shows takes
    (``--kubeconfig FILE -n NAMESPACE -t TOPOLOGY``)."""

    namespace: str


class TopologySummary(BaseModel):
    topology: str
    servers: int
    states: dict[str, int]
    layers: list[LayerHealth]
    cluster: ClusterScope | None = Field(
        default=None, description="in a cluster: where the Topology object is; null: a state file"
    )


class ServerDetail(ServerSummary):
    plan: dict[str, Any] | None = Field(description="its NodePlan; null: not in this plan")


class ServerEvent(BaseModel):
    id: int = Field(description="position in the log: later events have larger ids")
    at: float = Field(description="unix seconds")
    kind: str
    detail: dict[str, Any]


class ServerEvents(BaseModel):
    name: str
    items: list[ServerEvent]


class ActionDone(BaseModel):
    nodes: list[str]
    controller: str | None = Field(description="the controller asked; null: done here")
    message: str


class MaintenanceRequest(BaseModel):
    """The body of ``PUT …/maintenance``: nothing, or the person's note."""

    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        pattern=r"^[^\x00-\x1f\x7f]*$",  # no control characters: shown in terminals
        description="a note for the others: the server's reason (printable characters)",
    )

    @field_validator("reason")
    @classmethod
    def _printable(cls, reason: str | None) -> str | None:
        """As ``strata.controller.requests`` takes it: printable (``str.isprintable``)."""
        if reason is not None and not reason.isprintable():
            raise ValueError("a reason is printable characters only")
        return reason


class ApiError(BaseModel):
    error: str
    detail: str


class ApiSource(Protocol):
    """What the API reads of a store."""

    def summaries(self) -> list[NodeSummary]: ...

    def events(self, node: str) -> list[LogEntry]: ...


@dataclass(frozen=True)
class Api:
    source: ApiSource
    topology: str
    plan_of: Callable[[str], NodePlan | None]
    access: Access
    act: Act | None  # None: no controller to ask
    namespace: str | None = None  # in a cluster: the Topology object's


# (one of ``ACTIONS``, the server, a person's note or None) -> what was done
Act = Callable[[str, str, str | None], ActionDone]


def api_routes(
    source: ApiSource,
    topology: str,
    plan_of: Callable[[str], NodePlan | None],
    access: Access,
    act: Act | None = None,
    namespace: str | None = None,
) -> list[Route]:
    """The ``/api/v1`` routes over ``source`` (a store), for the topology named
    ``topology`` (in a cluster: the Topology object in ``namespace``); ``plan_of``
    gives a server's NodePlan; ``access`` says who may see and act
    (``strata.web.access``); ``act`` does an action (a retry, maintenance on or off)
    and says what it did (``ActionDone``), or raises a ``StrataError`` that says why
    not."""
    api = Api(source, topology, plan_of, access, act, namespace)
    return [
        Route("/api/v1/summary", _view(api, _summary)),
        Route("/api/v1/servers", _view(api, _servers, (*FILTERS, "limit", "after"))),
        Route("/api/v1/servers/{name}", _view(api, _server)),
        Route("/api/v1/servers/{name}/events", _view(api, _events, ("limit",))),
        Route("/api/v1/servers/{name}/retry", _action(api), methods=["POST"]),
        Route("/api/v1/servers/{name}/maintenance", _action(api), methods=["PUT", "DELETE"]),
        Route("/api/v1/openapi.json", _view(api, lambda _api, _request: openapi())),
    ]


Handler = Callable[[Api, Request], BaseModel | dict[str, Any]]


def _view(api: Api, handler: Handler, known: tuple[str, ...] = ()) -> Callable[[Request], Any]:
    async def view(request: Request) -> Response:
        refusal = await refused(api.access, request) or unknown_parameters(request, known)
        if refusal is not None:
            return refusal
        try:
            answer = await asyncio.to_thread(handler, api, request)
        except _NotFound as exc:
            return _error(404, "not-found", str(exc))
        except ValueError as exc:
            return _error(400, "bad-request", str(exc))
        body = answer.model_dump(mode="json") if isinstance(answer, BaseModel) else answer
        return JSONResponse(body, headers=HEADERS)

    return view


def _action(api: Api) -> Callable[[Request], Any]:
    """A route's action: a retry (POST …/retry), maintenance on (PUT …/maintenance,
    with an optional ``MaintenanceRequest``) or off (DELETE …/maintenance)."""

    async def action(request: Request) -> Response:
        refusal = await refused(api.access, request, action=True)
        if refusal is not None:
            return refusal
        if api.act is None:
            return _error(409, "no-controller", "this process runs no controller to ask")
        which = {"POST": "retry", "PUT": "maintenance-on"}.get(request.method, "maintenance-off")
        try:
            reason = await _reason(request) if which == "maintenance-on" else None
        except ValueError as exc:  # pydantic's ValidationError too
            return _error(400, "bad-request", str(exc))
        name = request.path_params["name"]
        if not any(s.name == name for s in await asyncio.to_thread(api.source.summaries)):
            return _error(404, "not-found", f"no server {name} in {api.topology}")
        try:
            done = await asyncio.to_thread(api.act, which, name, reason)
        except StrataError as exc:
            return _error(409, "refused", str(exc))
        return JSONResponse(done.model_dump(mode="json"), headers=HEADERS)

    return action


async def _reason(request: Request) -> str | None:
    """The ``reason`` of a ``MaintenanceRequest`` body (none: None); ``ValueError`` for a
    body that is not one, or longer than ``MAX_BODY`` bytes."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise ValueError(f"a body of more than {MAX_BODY} bytes")
    if not body.strip():
        return None
    return MaintenanceRequest.model_validate_json(body).reason


class _NotFound(Exception):
    pass


def _error(status: int, code: str, detail: str) -> Response:
    return JSONResponse(ApiError(error=code, detail=detail).model_dump(), status, headers=HEADERS)


def _summary(api: Api, _request: Request) -> TopologySummary:
    servers = api.source.summaries()
    layers: dict[str, list[NodeSummary]] = {}
    for s in servers:
        layers.setdefault(s.layer, []).append(s)
    states = Counter(s.state for s in servers)
    return TopologySummary(
        topology=api.topology,
        servers=len(servers),
        states=dict(sorted(states.items())),
        layers=[_layer(api, name, members) for name, members in sorted(layers.items())],
        cluster=ClusterScope(namespace=api.namespace) if api.namespace is not None else None,
    )


def _layer(api: Api, name: str, members: list[NodeSummary]) -> LayerHealth:
    states = Counter(s.state for s in members)
    roles: dict[str, Counter[str]] = {}
    for s in members:
        plan = api.plan_of(s.name)
        roles.setdefault(plan.role if plan else "unknown", Counter())[s.state] += 1
    return LayerHealth(
        name=name,
        servers=len(members),
        joined=states["joined"],
        failed=states["failed"],
        states=dict(sorted(states.items())),
        roles=[
            RoleHealth(role=role, servers=sum(c.values()), joined=c["joined"])
            for role, c in sorted(roles.items())
        ],
    )


def _servers(api: Api, request: Request) -> ServerPage:
    query = request.query_params
    limit = _limit(query.get("limit", "100"))
    wanted = {k: query[k] for k in FILTERS if k in query}
    chosen = sorted(
        (s for s in api.source.summaries() if all(getattr(s, k) == v for k, v in wanted.items())),
        key=lambda s: s.name,
    )
    after = query.get("after")
    start = next((i for i, s in enumerate(chosen) if s.name > after), len(chosen)) if after else 0
    page = chosen[start : start + limit]
    more = start + limit < len(chosen)
    return ServerPage(
        items=[_summary_of(s) for s in page],
        total=len(chosen),
        next=page[-1].name if more and page else None,
    )


def _limit(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
        raise ValueError(f"limit {text!r}: give a whole number from 1 to {MAX_PAGE}")
    return int(text)


def _server(api: Api, request: Request) -> ServerDetail:
    summary = _find(api, request.path_params["name"])
    plan = api.plan_of(summary.name)
    return ServerDetail(
        **_summary_of(summary).model_dump(), plan=to_jsonable(plan) if plan else None
    )


def _events(api: Api, request: Request) -> ServerEvents:
    name = _find(api, request.path_params["name"]).name
    limit = _limit(request.query_params.get("limit", str(MAX_PAGE)))
    entries = api.source.events(name)[-limit:]
    items = [ServerEvent(id=e.id, at=e.at, kind=e.kind, detail=dict(e.detail)) for e in entries]
    return ServerEvents(name=name, items=items)


def _find(api: Api, name: str) -> NodeSummary:
    found = next((s for s in api.source.summaries() if s.name == name), None)
    if found is None:
        raise _NotFound(f"no server {name} in {api.topology}")
    return found


def _summary_of(s: NodeSummary) -> ServerSummary:
    return ServerSummary(
        name=s.name, state=s.state, step=s.step, reason=s.reason, updated=s.updated,
        layer=s.layer, region=s.region, zone=s.zone, rack=s.rack,
    )  # fmt: skip


MODELS: Sequence[type[BaseModel]] = (
    TopologySummary, ServerPage, ServerDetail, ServerEvents, ActionDone, ApiError, RacksView,
    MaintenanceRequest,
)  # fmt: skip


def openapi() -> dict[str, Any]:
    """The API's OpenAPI 3.1 document, its schemas those of the answers' models."""
    from strata.web.openapi import document

    return document(MODELS)
