"""The OpenAPI 3.1 document of ``/api/v1`` (spec.openapis.org/oas/v3.1.0), its schemas
made by pydantic from the models the answers are made of (``strata.web.api``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

__all__ = ["document"]

REF = "#/components/schemas/{model}"
FILTERS = {
    "state": "lifecycle state, e.g. failed",
    "layer": "the server's layer",
    "region": "its region",
    "zone": "its zone",
    "rack": "its rack",
}


def document(models: Sequence[type[BaseModel]]) -> dict[str, Any]:
    """The whole document: info, the bearer scheme, every path and ``models``' schemas."""
    _, top = models_json_schema([(m, "serialization") for m in models], ref_template=REF)
    view: list[dict[str, list[str]]] = [{}, {"bearer": []}]  # the loopback open, else the token
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Strata web face",
            "version": "1",
            "description": "A Strata run seen over HTTP (docs/web.md).",
        },
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/api/v1/summary": {"get": _get("the topology's servers by state and layer",
                                            "TopologySummary", view, bad=True)},
            "/api/v1/servers": {"get": _get("servers, filtered and paged", "ServerPage", view,
                                            _servers_parameters(), bad=True)},
            "/api/v1/servers/{name}": {"get": _get("one server and its plan", "ServerDetail",
                                                   view, [_name()], missing=True, bad=True)},
            "/api/v1/servers/{name}/events": {"get": _get(
                "a server's events, oldest first", "ServerEvents", view,
                [_name(), _query("limit", "the newest N (1-1000)", "integer")], missing=True,
                bad=True)},
            "/api/v1/servers/{name}/retry": {"post": _action(
                "send a failed server back into the lifecycle (as `strata retry`)",
                "not failed")},
            "/api/v1/servers/{name}/maintenance": {
                "put": {**_action("put the server in maintenance: hands off (as `strata "
                                  "maintenance on`)", "already in maintenance"),
                        "requestBody": {"required": False, "content": {"application/json": {
                            "schema": _ref("MaintenanceRequest")}}}},
                "delete": _action("take the server out of maintenance (as `strata "
                                  "maintenance off`)", "not in maintenance"),
            },
            "/api/v1/racks": {"get": _get("every server as a slot of its rack, and the "
                                          "log's position", "RacksView", view, bad=True)},
            "/api/v1/changes": {"get": {
                "summary": "server-sent events: one per state change after `after`",
                "security": view,
                "parameters": [_query("after", "a log position: `cursor` of /api/v1/racks",
                                      "integer")],
                "responses": {
                    "200": {"description": "`data: {\"id\", \"node\", \"state\", \"at\"}` "
                            "per change", "content": {"text/event-stream": {
                                "schema": {"type": "string"}}}},
                    "400": _error("not a log position"),
                    "401": _error("no bearer token"),
                },
            }},
            "/api/v1/openapi.json": {"get": {
                "summary": "this document", "security": view,
                "responses": {"200": _json({"type": "object"}, "the OpenAPI document")},
            }},
        },
    }  # fmt: skip


def _get(
    summary: str,
    model: str,
    security: list[dict[str, list[str]]],
    parameters: list[dict[str, Any]] | None = None,
    *,
    missing: bool = False,
    bad: bool = False,
) -> dict[str, Any]:
    responses = {"200": _json(_ref(model), summary), "401": _error("no bearer token")}
    if missing:
        responses["404"] = _error("no such server")
    if bad:
        responses["400"] = _error("a query parameter that is not one")
    operation: dict[str, Any] = {"summary": summary, "security": security, "responses": responses}
    if parameters:
        operation["parameters"] = parameters
    return operation


def _action(summary: str, refused: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "security": [{"bearer": []}],
        "parameters": [_name()],
        "responses": {
            "200": _json(_ref("ActionDone"), "asked, or done"),
            "400": _error("a body that is not a MaintenanceRequest"),
            "401": _error("no bearer token"),
            "404": _error("no such server"),
            "409": _error(f"refused: {refused}, or no controller to ask"),
        },
    }


def _servers_parameters() -> list[dict[str, Any]]:
    return [
        *(_query(name, text, "string") for name, text in FILTERS.items()),
        _query("limit", "servers a page (1-1000, default 100)", "integer"),
        _query("after", "the `next` of the page before", "string"),
    ]


def _name() -> dict[str, Any]:
    return {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, text: str, kind: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": text,
            "schema": {"type": kind}}  # fmt: skip


def _ref(model: str) -> dict[str, str]:
    return {"$ref": REF.format(model=model)}


def _json(schema: dict[str, Any], text: str) -> dict[str, Any]:
    return {"description": text, "content": {"application/json": {"schema": schema}}}


def _error(text: str) -> dict[str, Any]:
    return _json(_ref("ApiError"), text)
