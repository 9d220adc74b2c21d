"""Clients that follow their kubeconfig file: a replaced file is read again, the way
client-go and the kubelet pick up rotated credentials (client-go's ``transport``
certificate reloading, the kubelet's ``--rotate-certificates``: the client certificate
is read from disk again when it changes), so a long-running process — the host
controller ``strata controller --kubeconfig K`` (``strata.pivot.host``), any store
opened from a kubeconfig path — goes on after ``strata pivot --back``/``--abort`` mint
the layer's kubeconfig again (``strata.cli.pivot_remint``) without a restart.

Before each request the file's identity is compared with the one read (``Stamp``: its
device, inode, modification time in ns and size — a file replaced by rename has
another inode, one rewritten in place another time or size); when it differs, or when
the API server answers 401 Unauthorized (an expired or no-longer-accepted credential:
a certificate file the kubeconfig names, replaced beside it, changes no stamp of the
kubeconfig), the file is loaded again (``strata.kube.kubeconfig_load``) and, after a
401, the request is sent once more with the new credential. A file rewritten in place
(``kubectl config …``, an editor, a ``>`` redirection: truncated, then written) can be
read half written: a load that fails is tried again until the file has stayed
unchanged for ``SETTLE`` seconds (``LONGEST`` at most). A file that still cannot be
loaded is an error naming the file and what is wrong with it (never its content:
tokens and keys), raised for that request and, without waiting again, for the next
ones (for ``REMEMBERED`` seconds, or until the file changes or a 401 asks for it to be
read again); the credential read before is not used past a change of its file.

Only for clients built from a path: a pod's service account (its token file is
re-read by lightkube's own auth flow on a 401) and ``$KUBECONFIG`` are left as they
are.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lightkube import Client
from lightkube.config.client_adapter import ConnectionParams
from lightkube.core.generic_client import GenericSyncClient

from strata.kube.kubeconfig_load import KubeconfigRefused, load_kubeconfig
from strata.store.kube_api import KubeStoreError
from strata.store.kube_http import KubeHttp, Response

__all__ = ["FollowingClient", "FollowingHttp", "Stamp", "following_client", "stamp"]

Stamp = tuple[int, int, int, int]  # st_dev, st_ino, st_mtime_ns, st_size
UNAUTHORIZED = 401
SETTLE = 2.0  # s a file that cannot be loaded must stay unchanged before that is an error
LONGEST = 10.0  # s a load waits at most for a file that keeps changing and stays broken
REMEMBERED = 10.0  # s a failed load is raised again at once for an unchanged file
_POLL = 0.05  # s between loads of a file being written
_LOAD_ERRORS = (KubeStoreError, KubeconfigRefused)


def stamp(path: Path) -> Stamp | None:
    """The file's identity (module doc); None when it cannot be read (then it differs
    from any, and loading it says why)."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_dev, found.st_ino, found.st_mtime_ns, found.st_size)


class _Follower:
    """The file, the stamp of what was last loaded from it and the lock a reload takes;
    ``build`` makes a client from the file (raising a located error)."""

    def __init__(self, path: Path, build: Callable[[Path], Any]) -> None:
        self.path, self._build = Path(path), build
        self._lock = threading.Lock()
        self._broken: tuple[Stamp | None, float, Exception] | None = None  # the last failure
        self.stamp: Stamp | None = None
        self.client: Any = None
        self._take(self._load(retry_broken=False))
        self.reloads = 0

    def current(self) -> Any:
        """The client for the file as it is now: loaded again when its stamp changed."""
        if stamp(self.path) == self.stamp:
            return self.client
        return self.reload(self.client, changed=True)

    def reload(self, used: Any, changed: bool = False) -> Any:
        """The client loaded again from the file, unless another thread already did so
        since ``used`` was taken (then that one). ``changed``: only when the stamp
        still differs (another thread may have reloaded it); not ``changed`` (a 401: a
        certificate file beside it may have been fixed), a failure remembered is no
        reason not to read the file again."""
        with self._lock:
            if self.client is not used or (changed and stamp(self.path) == self.stamp):
                return self.client
            self._take(self._load(retry_broken=not changed))
            self.reloads += 1
            return self.client

    def _take(self, loaded: tuple[Stamp | None, Any]) -> None:
        """The client first, then its stamp: ``current`` reads them without the lock, and
        must never pair the new stamp with the old client."""
        self.client = loaded[1]
        self.stamp = loaded[0]

    def _load(self, retry_broken: bool) -> tuple[Stamp | None, Any]:
        """(the file's stamp taken before reading it, the client built from it). A load
        that fails is tried again while the file keeps changing, until it has been
        unchanged for ``SETTLE`` s (one being written becomes whole) or ``LONGEST`` s have
        passed; a file that is not there is not waited for. The failure is then raised
        and remembered for ``REMEMBERED`` s: raised again at once for the same stamp
        (unless ``retry_broken``), not waited for at each request."""
        first = time.monotonic()
        before, since = stamp(self.path), first
        broken = self._broken
        if not retry_broken and broken is not None and self._remembered(broken, before):
            raise broken[2].with_traceback(None)  # not one frame more each time
        while True:
            try:
                client = self._build(self.path)
            except _LOAD_ERRORS as failure:
                now = time.monotonic()
                if before is None or now - since >= SETTLE or now - first >= LONGEST:
                    self._broken = (before, now, failure)
                    raise
            else:
                self._broken = None
                return before, client  # a change during the read is seen next time
            time.sleep(_POLL)
            changed = stamp(self.path)
            if changed != before:
                before, since = changed, time.monotonic()

    @staticmethod
    def _remembered(broken: tuple[Stamp | None, float, Exception], now: Stamp | None) -> bool:
        return broken[0] == now and time.monotonic() - broken[1] < REMEMBERED


class FollowingHttp:
    """A ``KubeHttp`` (``strata.store.kube_api.client_from_kubeconfig``) for the
    kubeconfig at ``path`` that follows the file (module doc); any other attribute is
    the current client's. Raises ``KubeStoreError`` (``OPEN <path>``) when the file
    cannot be loaded, at first or after a change."""

    def __init__(self, path: Path) -> None:
        from strata.store.kube_api import client_from_kubeconfig

        self._follower = _Follower(path, client_from_kubeconfig)

    @property
    def reloads(self) -> int:
        """How many times the file was loaded again."""
        return self._follower.reloads

    def request(
        self,
        verb: str,
        path: str,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """``KubeHttp.request`` with the file's current credential; after a 401, once
        more with the file loaded again."""
        client: KubeHttp = self._follower.current()
        response = client.request(verb, path, json=json, params=params, headers=headers)
        if response.status_code == UNAUTHORIZED:
            client = self._follower.reload(client)
            response = client.request(verb, path, json=json, params=params, headers=headers)
        return response

    def close(self) -> None:
        self._follower.client.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._follower.client, name)


class _FollowingGeneric(GenericSyncClient):
    """lightkube's sync client whose HTTP client follows the kubeconfig file."""

    def __init__(self, path: Path, params: ConnectionParams, namespace: str | None) -> None:
        self._params = params
        self._follower = _Follower(path, self._adapter)
        super().__init__(params, self.config, namespace=namespace)
        self._client.close()  # made by lightkube's init from the same config: unused
        self._client = self._follower.client

    def _adapter(self, path: Path) -> Any:
        """An httpx2 client for the file's current context (lightkube's adapter)."""
        self.config = load_kubeconfig(path).get()
        try:
            return self.AdapterClient(self.config, self._params)
        except (TypeError, ValueError, OSError) as exc:  # a field lightkube cannot use
            raise KubeconfigRefused(
                f"{path}: not a usable kubeconfig: {type(exc).__name__}"
            ) from None

    def send(self, req: Any, stream: bool = False) -> Any:
        client = self._follower.current()
        response = client.send(req, stream=stream)
        if response.status_code == UNAUTHORIZED:
            response.close()
            client = self._follower.reload(client)
            response = client.send(req, stream=stream)
        self._client = client  # what build_request and watches use next
        return response


class FollowingClient(Client):
    """lightkube's ``Client`` for the kubeconfig at ``path`` and ``namespace``,
    following the file (module doc). ``KubeconfigRefused`` when it cannot be loaded,
    at first or after a change."""

    def __init__(self, path: Path, namespace: str | None = None, timeout: float = 10.0) -> None:
        import httpx2

        params = ConnectionParams(timeout=httpx2.Timeout(timeout), trust_env=False)
        following = _FollowingGeneric(Path(path), params, namespace)
        super().__init__(following.config, namespace=namespace, trust_env=False)
        self._client.close()  # type: ignore[no-untyped-call]  # lightkube's own: unused
        self._client = following


def following_client(path: Path, namespace: str) -> FollowingClient:
    """``FollowingClient(path, namespace)``."""
    return FollowingClient(path, namespace)
