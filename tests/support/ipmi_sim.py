"""OpenIPMI's ipmi_sim (a BMC simulator in C) on 127.0.0.1, with a machine and a FRU.

Power control follows ipmi_sim(1) and ipmi_lan(5): "power on" runs ``startcmd``
(here a process standing for the machine), "power off" signals it, and the
power state is whether that process is alive; the VM serial codec must be
configured for chassis control to be offered at all. FRU 0 holds board and
product areas encoded as the IPMI Platform Management FRU Information Storage
Definition v1.0 describes (common header; areas of 8-byte multiples with
type/length-prefixed strings, 0xC1 end marker and a zero checksum).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

LAN_CONF = """\
name "strata-test"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 {port}
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  serial 15 127.0.0.1 {serial_port} codec VM
  startcmd "sleep 86400"
  startnow false
  poweroff_wait 1
  kill_wait 1
  user 2 true "{user}" "{password}" admin 10 none md2 md5 straight
"""


@dataclass(frozen=True)
class FRU:
    manufacturer: str
    product: str
    model: str
    serial: str
    board_manufacturer: str
    board_serial: str


def _field(text: str) -> bytes:
    raw = text.encode("ascii")
    return bytes([0xC0 | len(raw)]) + raw  # type 11b: 8-bit ASCII + Latin-1


def _area(body: bytes) -> bytes:
    body += b"\xc1"  # end of fields
    length = -(-(len(body) + 1) // 8) * 8  # with the checksum, padded to 8 bytes
    body = body[:1] + bytes([length // 8]) + body[2:] + b"\0" * (length - len(body) - 1)
    return body + bytes([(-sum(body)) & 0xFF])


def encode_fru(fru: FRU) -> bytes:
    board = _area(
        b"\x01\x00\x00\x00\x00\x00"  # version, length (set by _area), language, mfg date
        + _field(fru.board_manufacturer)
        + _field("Mainboard")
        + _field(fru.board_serial)
        + _field("PN-1")
        + _field("")
    )
    product = _area(
        b"\x01\x00\x00"  # version, length, language
        + _field(fru.manufacturer)
        + _field(fru.product)
        + _field(fru.model)
        + _field("A1")
        + _field(fru.serial)
        + _field("")
        + _field("")
    )
    header = bytes([0x01, 0, 0, 1, 1 + len(board) // 8, 0, 0])
    return header + bytes([(-sum(header)) & 0xFF]) + board + product


def emulator_commands(fru: FRU) -> str:
    data = encode_fru(fru)
    return "\n".join(
        [
            "mc_setbmc 0x20",
            "mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr",
            f"mc_add_fru_data 0x20 0 {len(data)} data " + " ".join(f"0x{b:02x}" for b in data),
            "mc_enable 0x20",
            "",
        ]
    )


class IPMISim:
    def __init__(
        self, workdir: Path, port: int, serial_port: int, user: str, password: str, fru: FRU
    ) -> None:
        binary = shutil.which("ipmi_sim")
        assert binary, "ipmi_sim is missing: ./dev test installs it (apt-get install openipmi)"
        (workdir / "state").mkdir(parents=True, exist_ok=True)
        (workdir / "lan.conf").write_text(
            LAN_CONF.format(port=port, serial_port=serial_port, user=user, password=password)
        )
        (workdir / "lan.conf").chmod(0o600)
        (workdir / "bmc.emu").write_text(emulator_commands(fru))
        self.port = port
        self.process = subprocess.Popen(
            [
                binary,
                "-c",
                str(workdir / "lan.conf"),
                "-f",
                str(workdir / "bmc.emu"),
                "-s",
                str(workdir / "state"),
                "-n",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its machine process goes with it when the group is killed
        )

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(5)

    def machine_running(self) -> bool:
        result = subprocess.run(
            ["pgrep", "-g", str(os.getpgid(self.process.pid)), "-f", "sleep 86400"],
            capture_output=True,
            text=True,
        )
        return bool(result.stdout.strip())
