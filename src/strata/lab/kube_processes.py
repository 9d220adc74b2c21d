"""The Kubernetes programs the lab runs on its machines' behalf, and where it finds them.

Binaries come the ecosystem's way: ``KUBEBUILDER_ASSETS`` names a directory holding
kube-apiserver, kube-controller-manager and kubelet (controller-runtime's envtest
convention; ``./dev`` exports it, see ``scripts/kube-assets.sh``). etcd is Debian's
``etcd-server``, containerd Debian's ``containerd`` (with ``runc``), the CNI plugins
Debian's ``containernetworking-plugins`` (``/usr/lib/cni``).

Each process runs in a session of its own, its output in ``<name>.log`` in its
directory; ``stop`` ends its whole process group, SIGTERM then SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from strata.errors import StrataError

__all__ = [
    "KubeProcess",
    "LabKubeError",
    "binary",
    "check_binaries",
    "cni_bin_dir",
    "spawn",
    "write_file",
]

CNI_DIRS = ("/usr/lib/cni", "/opt/cni/bin")  # Debian's containernetworking-plugins; upstream's


class LabKubeError(StrataError):
    """The lab could not run Kubernetes on a machine's behalf (a binary missing, a
    process that exited, an API that never answered)."""

    kind = "lab-kube"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def binary(name: str) -> str:
    """The path of ``name``: from ``KUBEBUILDER_ASSETS`` for Kubernetes' own binaries,
    else from ``PATH`` (``/usr/sbin`` and ``/usr/bin`` included). Raises
    ``LabKubeError`` naming what installs it."""
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if name.startswith("kube"):
        found = Path(assets, name) if assets else None
        if found is not None and os.access(found, os.X_OK):
            return str(found)
        raise LabKubeError(
            f"no {name}: KUBEBUILDER_ASSETS={assets or '(unset)'}",
            hint="export KUBEBUILDER_ASSETS=$(scripts/kube-assets.sh) — it extracts the "
            "binaries from ../shared/kube-assets or builds them; ./dev demo does this",
        )
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin", "/sbin"])
    located = shutil.which(name, path=path)
    if located is None:
        raise LabKubeError(
            f"no {name} on this machine", hint=f"apt-get install {_PACKAGES.get(name, name)}"
        )
    return located


_PACKAGES = {"etcd": "etcd-server", "nsenter": "util-linux", "unshare": "util-linux"}


def check_binaries() -> None:
    """Raises ``LabKubeError`` for the first program the lab's Kubernetes lacks."""
    for name in ("kube-apiserver", "kube-controller-manager", "kubelet", "etcd"):
        binary(name)
    for name in ("containerd", "runc", "nsenter", "unshare"):
        binary(name)
    cni_bin_dir()


def cni_bin_dir() -> str:
    """Where the reference CNI plugins are (``LabKubeError`` if nowhere)."""
    for directory in CNI_DIRS:
        if Path(directory, "bridge").exists():
            return directory
    raise LabKubeError(
        "no CNI plugins in " + " or ".join(CNI_DIRS),
        hint="apt-get install containernetworking-plugins",
    )


@dataclass
class KubeProcess:
    """One running program: its name, process and log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {self.name} ({self.log}), last {len(text)} lines\n" + "\n".join(text)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to its process group; SIGKILL after ``grace`` seconds."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(grace)


def spawn(
    name: str,
    args: Sequence[str],
    directory: Path,
    *,
    before_exec: Callable[[], None] | None = None,
) -> KubeProcess:
    """Starts ``args`` in ``directory``, output to ``directory/<name>.log``.
    ``before_exec`` runs in the child (e.g. a death signal tied to the spawning thread)."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / f"{name}.log"
    with log.open("ab") as out:
        popen = subprocess.Popen(
            list(args),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=directory,
            start_new_session=True,
            preexec_fn=before_exec,
        )
    return KubeProcess(name, popen, log)


def write_file(path: Path, text: str, mode: int) -> None:
    """Writes ``text`` to ``path`` created with ``mode`` (chmod'ed too: an earlier file
    keeps no wider mode), its directories 0700: keys never world-readable, not even
    for an instant."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.touch(mode=mode)
    path.chmod(mode)
    path.write_text(text)
