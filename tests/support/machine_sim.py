"""Machines behind sushy-tools' emulated BMCs: what a server does when its BMC powers it on.

The emulator keeps power and boot-override state but runs no machine. This
simulator watches what the controller asks the emulator (``Observed``) and,
when a system is powered on or reset with a one-time network boot set, does
over HTTP what a booting server does against the boot service:
``/boot.ipxe`` -> ``/ipxe?mac=…`` -> its kernel and initrd -> the live Ignition config named in the
script's kernel arguments -> the ``installed`` phone-home the config's unit
would post -> after the reboot into the installed OS, ``first-boot``.
With a one-time CD boot and virtual media inserted (``InsertMedia``), it reads the
image from the URL the controller gave its BMC and follows the iPXE script on it (the
chain to ``/ipxe``), then the same road. A machine with neither boots its disk and asks
nothing.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

import pycdlib

from tests.support.redfish_emulator import Emulator, FakeSystem

_SYSTEM = re.compile(r"^/redfish/v1/Systems/([^/]+)$")
_RESET = re.compile(r"^/redfish/v1/Systems/([^/]+)/Actions/ComputerSystem\.Reset$")
_POWER_ON = {"On", "ForceOn", "ForceRestart", "GracefulRestart", "PowerCycle"}
_NET = {"Pxe", "UefiHttp"}
_MEDIA = re.compile(
    r"^/redfish/v1/(?:Systems|Managers)/([^/]+)/VirtualMedia/[^/]+/Actions/VirtualMedia\.(\w+)$"
)
_IGNITION = re.compile(r"ignition\.config\.url=(\S+)")
_EVENTS = re.compile(r"(https?://[^\s\"'\\]+/events/[^\s\"'\\]+)")


@dataclass
class Machine:
    system: FakeSystem
    once: str | None = None  # the one-time boot override, as the controller set it
    power_ons: int = 0  # power-on and reset actions received
    power_ons_at_install: int | None = None  # power_ons when the OS was installed
    boots: list[str] = field(default_factory=list)  # "net" or "disk", in order
    skip_ignition: int = 0  # this many network boots stop after the iPXE script
    media: str | None = None  # the image URL in its virtual CD, as the controller inserted it
    media_fetched: list[str] = field(default_factory=list)  # the iPXE scripts read from it
    errors: list[str] = field(default_factory=list)


class MachineSimulator:
    def __init__(self, emulator: Emulator, systems: list[FakeSystem], boot_url: str) -> None:
        self.boot_url = boot_url.rstrip("/")
        self.machines = {s.uuid: Machine(s) for s in systems}
        self.install_seconds = 0.2
        # told each machine's first boot of its installed OS, with the live config it
        # installed from (the installed system's config inside): its Kubernetes, if any
        self.on_first_boot: Callable[[Machine, bytes], None] | None = None
        self._emulator = emulator
        self._threads: list[threading.Thread] = []
        emulator.app.observers.append(self.observe)

    def close(self) -> None:
        self._emulator.app.observers.remove(self.observe)
        for thread in self._threads:
            thread.join(10)

    def by_name(self, name: str) -> Machine:
        return next(m for m in self.machines.values() if m.system.name == name)

    def observe(self, method: str, path: str, body: bytes) -> None:
        media = _MEDIA.match(path)
        if media and media.group(1) in self.machines:
            image = json.loads(body or b"{}").get("Image")
            inserted = image if media.group(2) == "InsertMedia" else None
            self.machines[media.group(1)].media = inserted
            return
        patched, reset = _SYSTEM.match(path), _RESET.match(path)
        match = patched or reset
        machine = self.machines.get(match.group(1)) if match else None
        if machine is None:
            return
        data = json.loads(body or b"{}")
        if patched and method == "PATCH" and "Boot" in data:
            boot = data["Boot"]
            enabled = boot.get("BootSourceOverrideEnabled", "Once")
            machine.once = None if enabled == "Disabled" else boot.get("BootSourceOverrideTarget")
        elif reset and data.get("ResetType") in _POWER_ON:
            machine.power_ons += 1
            device = "net" if machine.once in _NET else "disk"
            if machine.once == "Cd" and machine.media:
                device = "cd"
            machine.once = None
            thread = threading.Thread(target=self._boot, args=(machine, device), daemon=True)
            self._threads.append(thread)
            thread.start()

    # -- what the machine does ------------------------------------------------

    def _boot(self, machine: Machine, device: str) -> None:
        machine.boots.append(device)
        if device == "disk":
            return
        try:
            self._network_boot(machine) if device == "net" else self._media_boot(machine)
        except Exception as exc:  # the test reads these; a real machine would just hang
            machine.errors.append(repr(exc))

    def _network_boot(self, machine: Machine) -> None:
        chain = _get(f"{self.boot_url}/boot.ipxe").decode()
        self._install(machine, chain.splitlines()[-1].removeprefix("chain ").strip())

    def _media_boot(self, machine: Machine) -> None:
        """What iPXE on the image does: its script's first chain (after ``dhcp &&``)."""
        script = iso_file(_get(machine.media or ""), "strata.ipxe").decode()
        machine.media_fetched.append(script)
        line = next(x for x in script.splitlines() if x.startswith("dhcp && chain "))
        self._install(machine, line.split()[3])

    def _install(self, machine: Machine, url: str) -> None:
        s = machine.system
        for var, value in {
            "${netX/mac}": s.mac,
            "${uuid}": s.uuid,
            "${serial}": s.name,
            "${buildarch}": "x86_64",
            "${platform}": "efi",
        }.items():
            url = url.replace(var, value)
        script = _get(url).decode()
        found = _IGNITION.search(script)
        if found is None:  # the disk script: nothing to install
            return
        for line in script.splitlines():  # iPXE loads the kernel and initrd first
            if line.startswith(("kernel ", "initrd ")):
                _get(next(w for w in line.split() if w.startswith(("http://", "https://"))))
        if machine.skip_ignition > 0:
            machine.skip_ignition -= 1
            return
        config = _get(found.group(1))
        live = config.decode()
        events = _EVENTS.findall(live)
        installed = next(e for e in events if e.endswith("event=installed"))
        time.sleep(self.install_seconds)
        _post(installed)
        machine.power_ons_at_install = machine.power_ons
        machine.boots.append("disk")  # the installer reboots into the installed OS
        _post(installed.replace("event=installed", "event=first-boot"))
        if self.on_first_boot is not None:
            self.on_first_boot(machine, config)


TRANSIENT_FOR = 120.0  # s a machine keeps retrying a transient answer
_TRANSIENT = frozenset({408, 429, 500, 502, 503, 504})


def _get(url: str) -> bytes:
    return _retry(lambda: urllib.request.urlopen(url, timeout=10).read())


def _post(url: str) -> None:
    request = urllib.request.Request(url, data=b"", method="POST")
    _retry(lambda: urllib.request.urlopen(request, timeout=10).read())


def _retry(call: Callable[[], bytes]) -> bytes:
    """A booting machine's tools retry when the service is away or says to come back: so
    does the simulator. A connection refused is tried again 20 times, 0.25 s apart (curl
    --retry); a transient status (RFC 9110: 408, 429, 500, 502, 503, 504 — curl
    --retry's list; Ignition retries its fetches on them too) after its Retry-After
    (1 s without one, at most 10 s) for up to ``TRANSIENT_FOR`` seconds, as Strata's
    iPXE script retries for 2 minutes. Any other HTTP error answer is final."""
    refused, deadline = 0, time.monotonic() + TRANSIENT_FOR
    while True:
        try:
            return call()
        except urllib.error.HTTPError as answer:
            if answer.code not in _TRANSIENT or time.monotonic() > deadline:
                raise
            time.sleep(_retry_after(answer.headers.get("Retry-After")))
        except (urllib.error.URLError, ConnectionError):
            refused += 1
            if refused == 20:
                raise
            time.sleep(0.25)


def _retry_after(value: str | None) -> float:
    try:
        return min(max(float(value or 1), 0.1), 10.0)
    except ValueError:  # an HTTP date: not what Strata sends
        return 1.0


def iso_file(image: bytes, name: str) -> bytes:
    """A file of an ISO 9660 image, by its Rock Ridge name (pycdlib reads it)."""
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(image))
    try:
        out = io.BytesIO()
        iso.get_file_from_iso_fp(out, rr_path=f"/{name}")
        return out.getvalue()
    finally:
        iso.close()
