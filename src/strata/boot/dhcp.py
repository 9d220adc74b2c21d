"""DHCP and TFTP for network boot: a dnsmasq configuration, and the dnsmasq process.

The PXE chain (dnsmasq(8): --dhcp-match, --dhcp-boot, --pxe-service; iPXE's
"chainloading" documentation): a machine whose firmware is not iPXE gets the iPXE
binary ``strata.boot.firmware.ARCHITECTURES`` names for its client architecture
(DHCP option 93, RFC 4578 section 2.1) — over TFTP for PXE clients, as an
``http://`` URL to the boot service with option 60 ``HTTPClient`` for UEFI HTTP Boot
clients (UEFI 2.9 section 24.7) — and an architecture without a binary gets no boot
file. iPXE, which sends DHCP option 175, gets the boot service's ``/boot.ipxe``. Each node's boot MAC on the network gets a static
reservation (its address when topology.yaml gives one). Proxy mode
(``dhcp-range=NET,proxy``) serves only boot information, for networks whose
addresses another DHCP server hands out. Reservations live in a hosts file that
dnsmasq re-reads on SIGHUP, so a new plan reloads without a restart.
"""

from __future__ import annotations

import ctypes
import grp
import os
import pwd
import signal
import subprocess
from dataclasses import dataclass
from ipaddress import ip_interface
from pathlib import Path

from strata.boot.firmware import ARCHITECTURES, IPXE_BINARIES
from strata.plan import Plan
from strata.topology.spec import NetworkSpec

__all__ = [
    "IPXE_BINARIES",
    "LOG",
    "DHCPConfig",
    "Dnsmasq",
    "Lease",
    "die_with_parent",
    "render",
]

LOG = "dnsmasq.log"  # dnsmasq's --log-dhcp output, in its config directory


@dataclass(frozen=True, slots=True)
class DHCPConfig:
    interface: str
    network: NetworkSpec  # the provisioning network
    boot_url: str  # the boot service as machines reach it, e.g. http://192.168.110.2:8080
    directory: Path  # config, hosts file, leases, pid
    tftp_root: Path = IPXE_BINARIES
    proxy: bool = False
    lease_time: str = "12h"


@dataclass(frozen=True, slots=True)
class Lease:
    expires: int
    mac: str
    ip: str
    hostname: str | None


def render(plan: Plan, config: DHCPConfig) -> tuple[str, str]:
    """(dnsmasq.conf, hosts file) for ``config``'s network."""
    net = config.network
    lines = [
        "# Strata: DHCP and TFTP for network boot. Generated: edit topology.yaml instead.",
        "port=0",  # no DNS service
        # Stay the user Strata runs as: dnsmasq otherwise drops to "nobody", who cannot read
        # the reservations (re-read on SIGHUP) or write the leases in Strata's private directory.
        f"user={pwd.getpwuid(os.getuid()).pw_name}",
        # ...and its group (Debian's default is "dip"): a credentials change would also clear
        # the parent-death signal that ties dnsmasq's life to Strata's (prctl(2)).
        f"group={grp.getgrgid(os.getgid()).gr_name}",
        f"interface={config.interface}",
        "bind-interfaces",
        f"dhcp-leasefile={config.directory / 'dnsmasq.leases'}",
        f"dhcp-hostsfile={config.directory / 'hosts'}",
        "enable-tftp",
        f"tftp-root={config.tftp_root}",
        "dhcp-match=set:ipxe,175",  # iPXE sends option 175 (its "encapsulated options")
        "dhcp-match=set:arch,option:client-arch",  # any option 93 at all
        *(f"dhcp-match=set:{a.tag},option:client-arch,{a.code}" for a in ARCHITECTURES),
    ]
    netmask = str(net.cidr.netmask)
    if config.proxy:
        lines += [
            f"dhcp-range={net.cidr.network_address},proxy,{netmask}",
            *_proxy_services(config.boot_url),
        ]
    else:
        if net.dhcp_range is not None:
            lines.append(
                f"dhcp-range={net.dhcp_range.start},{net.dhcp_range.end},{netmask},{config.lease_time}"
            )
        else:
            lines.append(
                f"dhcp-range={net.cidr.network_address},static,{netmask},{config.lease_time}"
            )
        if net.gateway is not None:
            lines.append(f"dhcp-option=option:router,{net.gateway}")
        if net.dns:
            lines.append("dhcp-option=option:dns-server," + ",".join(str(d) for d in net.dns))
        lines += _boot_files(config.boot_url)
    return "\n".join(lines) + "\n", _hosts(plan, net)


def _boot_files(boot_url: str) -> list[str]:
    """Each client its boot file: iPXE the boot service's script; PXE firmware its iPXE
    binary over TFTP (legacy PXE without option 93 is BIOS: PXE 2.1 section 2.2.1); UEFI
    HTTP Boot firmware an http:// URL, and HTTPClient in option 60, without which it
    ignores the offer (UEFI 2.9 section 24.7.4). The tags never overlap: order is moot."""
    lines = [
        f"dhcp-boot=tag:ipxe,{boot_url}/boot.ipxe",
        "dhcp-boot=tag:!ipxe,tag:!arch,undionly.kpxe",
    ]
    for arch in ARCHITECTURES:
        if arch.binary is None:
            continue  # refused: no boot file (strata.boot.firmware says why)
        if arch.http:
            lines.append(f"dhcp-option-force=tag:{arch.tag},option:vendor-class,HTTPClient")
            lines.append(f"dhcp-boot=tag:!ipxe,tag:{arch.tag},{boot_url}/firmware/{arch.binary}")
        else:
            lines.append(f"dhcp-boot=tag:!ipxe,tag:{arch.tag},{arch.binary}")
    return lines


# dnsmasq's names for option 93 values in --pxe-service (dnsmasq(8)); HTTP Boot has none:
# a proxy DHCP server cannot answer UEFI HTTP Boot clients through pxe-service.
_PXE_SERVICE_TYPES = {
    0: "x86PC",
    6: "IA32_EFI",
    7: "BC_EFI",
    9: "X86-64_EFI",
    10: "ARM32_EFI",
    11: "ARM64_EFI",
}


def _proxy_services(boot_url: str) -> list[str]:
    """Proxy mode (addresses from another DHCP server): the same binaries, as PXE services."""
    lines = []
    for arch in ARCHITECTURES:
        csa = _PXE_SERVICE_TYPES.get(arch.code)
        if csa is None or arch.binary is None:
            continue
        lines.append(f'pxe-service=tag:!ipxe,{csa},"Strata: iPXE",{arch.binary}')
        lines.append(f'pxe-service=tag:ipxe,{csa},"Strata",{boot_url}/boot.ipxe')
    return lines


def _hosts(plan: Plan, net: NetworkSpec) -> str:
    """dhcp-hostsfile lines: ``MAC,IP,NAME`` or ``MAC,NAME`` (dnsmasq(8), --dhcp-host)."""
    out = []
    for node in plan.nodes:
        nic = next((i for i in node.interfaces if i.mac == node.boot_mac), None)
        if nic is not None and nic.network != net.name:
            continue
        address = str(ip_interface(nic.address).ip) if nic is not None and nic.address else None
        out.append(",".join(x for x in (node.boot_mac, address, node.name) if x))
    return "\n".join(out) + ("\n" if out else "")


def die_with_parent() -> None:
    """In the child: get SIGTERM when Strata exits, however it exits (prctl(2), PR_SET_PDEATHSIG)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


class Dnsmasq:
    """A supervised dnsmasq: start, reload on a new plan, stop, read its leases."""

    def __init__(
        self, config: DHCPConfig, binary: str = "dnsmasq", prefix: tuple[str, ...] = ()
    ) -> None:
        """``prefix``: a command to run dnsmasq under, e.g. ``("ip", "netns", "exec", "NS")``."""
        self.config, self.binary, self.prefix = config, binary, prefix
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def conf_path(self) -> Path:
        return self.config.directory / "dnsmasq.conf"

    def write(self, plan: Plan) -> bool:
        """Write config and hosts; True when the main config changed (a restart is needed)."""
        self.config.directory.mkdir(parents=True, exist_ok=True)
        conf, hosts = render(plan, self.config)
        (self.config.directory / "hosts").write_text(hosts)
        changed = not self.conf_path.exists() or self.conf_path.read_text() != conf
        self.conf_path.write_text(conf)
        return changed

    def check(self) -> str | None:
        """dnsmasq's own syntax check of the written config; None when it is fine."""
        result = subprocess.run(
            [self.binary, "--test", f"--conf-file={self.conf_path}"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return None if result.returncode == 0 else (result.stderr or result.stdout).strip()

    def start(self, plan: Plan, extra: tuple[str, ...] = ()) -> None:
        self.write(plan)
        self.process = subprocess.Popen(
            [
                *self.prefix,
                self.binary,
                "--keep-in-foreground",
                "--log-facility=-",
                "--log-dhcp",
                f"--conf-file={self.conf_path}",
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self.config.directory / LOG).open("ab"),
            preexec_fn=die_with_parent,
        )

    def reload(self, plan: Plan) -> None:
        if self.write(plan) or self.process is None or self.process.poll() is not None:
            self.stop()
            self.start(plan)
        else:
            os.kill(self.process.pid, signal.SIGHUP)  # re-reads the hosts file

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def leases(self) -> list[Lease]:
        path = self.config.directory / "dnsmasq.leases"
        if not path.exists():
            return []
        out = []
        for line in path.read_text().splitlines():  # "expiry mac ip hostname client-id"
            parts = line.split()
            if len(parts) >= 4:
                out.append(
                    Lease(int(parts[0]), parts[1], parts[2], None if parts[3] == "*" else parts[3])
                )
        return out
