"""The lab BMC's virtual media: one virtual CD per machine, under its System (the newer
Redfish layout, as sushy-tools' emulator and iDRAC 6+ have it; DMTF's VirtualMedia
schema, DSP0268).

``InsertMedia`` downloads the image from the URL it is given (as the emulator does,
and as a BMC that copies an image before it presents it does), at most ``MAX_IMAGE``
bytes, into the machine's work directory, and puts it in the machine's drive (QEMU's
CD at its next power-on); a URL that does not answer 200 is refused with ``400``.
``EjectMedia`` takes it out. A machine whose ``virtual_media`` is off (a BMC without the
feature) lists no drive, as such BMCs do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from strata.lab.machines import LabMachine

__all__ = ["MAX_IMAGE", "VirtualMedia"]

MAX_IMAGE = 64 << 20  # bytes: a boot image, not an OS
MEDIA_TYPES = ["CD", "DVD"]


class VirtualMedia:
    """Routes under ``{system}`` (``/redfish/v1/Systems/{id}``) for ``machines``;
    ``guard`` answers a request that is not authenticated."""

    def __init__(self, machines: dict[str, LabMachine], system: str, guard: Any) -> None:
        self.machines, self._guard = machines, guard
        self.routes = [
            Route(system + "/VirtualMedia", self.collection),
            Route(system + "/VirtualMedia/Cd", self.drive),
            Route(
                system + "/VirtualMedia/Cd/Actions/VirtualMedia.InsertMedia",
                self.insert,
                methods=["POST"],
            ),
            Route(
                system + "/VirtualMedia/Cd/Actions/VirtualMedia.EjectMedia",
                self.eject,
                methods=["POST"],
            ),
        ]

    async def collection(self, request: Request) -> Response:
        machine, denied = self._machine(request)
        if denied is not None or machine is None:
            return denied or _error(404, "no such system")
        path = str(request.url.path)
        members = [{"@odata.id": f"{path}/Cd"}] if machine.virtual_media else []
        return _json({"@odata.id": path, "Members@odata.count": len(members), "Members": members})

    async def drive(self, request: Request) -> Response:
        machine, denied = self._drive(request)
        if denied is not None or machine is None:
            return denied or _error(404, "no such drive")
        path = str(request.url.path)
        return _json(
            {
                "@odata.id": path,
                "Id": "Cd",
                "Name": "Virtual CD",
                "MediaTypes": MEDIA_TYPES,
                "Image": machine.media_url,
                "Inserted": machine.media_url is not None,
                "WriteProtected": True,
                "Actions": {
                    "#VirtualMedia.InsertMedia": {
                        "target": f"{path}/Actions/VirtualMedia.InsertMedia"
                    },
                    "#VirtualMedia.EjectMedia": {
                        "target": f"{path}/Actions/VirtualMedia.EjectMedia"
                    },
                },
            }
        )

    async def insert(self, request: Request) -> Response:
        machine, denied = self._drive(request)
        if denied is not None or machine is None:
            return denied or _error(404, "no such drive")
        url = (await request.json()).get("Image")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return _error(400, "Image must be an http:// or https:// URL")
        target = machine.workdir / f"{machine.name}.virtual-media.iso"
        problem = await _download(url, target)
        if problem is not None:
            return _error(400, f"the image could not be read: {problem}")
        machine.medium, machine.media_url = target, url
        return Response(status_code=204)

    async def eject(self, request: Request) -> Response:
        machine, denied = self._drive(request)
        if denied is not None or machine is None:
            return denied or _error(404, "no such drive")
        if machine.media_url is not None:
            machine.medium, machine.media_url = None, None
        return Response(status_code=204)

    def _machine(self, request: Request) -> tuple[LabMachine | None, Response | None]:
        return self.machines.get(request.path_params["id"]), self._guard(request)

    def _drive(self, request: Request) -> tuple[LabMachine | None, Response | None]:
        machine, denied = self._machine(request)
        return (machine if machine is not None and machine.virtual_media else None), denied


async def _download(url: str, target: Path) -> str | None:
    """``url``'s body into ``target`` (at most ``MAX_IMAGE`` bytes); why not, else None.
    The reason names the status or the error, never the URL (its query is a token)."""
    partial = target.with_suffix(".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        async with httpx.AsyncClient(timeout=60) as client, client.stream("GET", url) as answer:
            if answer.status_code != 200:
                return f"HTTP {answer.status_code}"
            size = 0
            with partial.open("wb") as out:
                async for chunk in answer.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_IMAGE:
                        return f"larger than {MAX_IMAGE} bytes"
                    out.write(chunk)
    except httpx.HTTPError as exc:
        return type(exc).__name__
    partial.replace(target)
    return None


def _json(body: dict[str, Any]) -> Response:
    return JSONResponse(body, headers={"OData-Version": "4.0"})


def _error(status: int, message: str) -> Response:
    return JSONResponse(
        {"error": {"code": "Base.1.0.GeneralError", "message": message}}, status_code=status
    )
