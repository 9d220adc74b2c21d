"""Each layer's watch of Nodes: how Strata follows its nodes into their clusters.

ONE watch of Nodes per layer (not a request per node), on the layer's API at its VIP,
with Strata's own short-lived admin credential: a list (the API answers: its nodes as
they are now), then a watch from that list's resourceVersion; a watch the server ends
is resumed from the last version seen, one whose version is too old (410 Gone) starts
again from the current state (a list), and a failure to connect is retried with a
bounded backoff until the run stops. The Kubernetes API concepts this follows:
"Efficient detection of changes" (https://kubernetes.io/docs/reference/using-api/api-concepts/).
The watch's stream is read by ``strata.kube.watch_stream`` (the news of ``batch_seconds``
read at one wake-up of the thread, not one per event), the list and the writes by
lightkube.

What it sees goes to the event log, as the boot service's news does, and only when it
changes: ``api-answered`` / ``api-unreachable`` (on the layer's init node, detail: the
layer), ``node-registered`` (the node's Node exists and is not Ready: the Ready
condition's reason and message), ``node-ready``. A Node is the node's when its name is
the node's and its ``spec.providerID`` is the one Strata gave it (or not yet set); a
Node of that name with another providerID is reported, never taken for it. The entries
are written in batches (one thread, ``watch-log``, writes what every layer's watch said
within ``batch_seconds`` in one write): a news reaches the log at most twice that much
later (read from its stream after a pause of ``batch_seconds``, then written with the
others), and costs a row, not a transaction. News not yet written when the process dies
is not lost: a watch that starts lists every Node again and says all of it anew.

lightkube (not the official client) for the list and the writes: typed models, httpx
underneath, and a few hundred kB instead of the generated client.
"""

from __future__ import annotations

import logging
import ssl
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from lightkube import ApiError, Client, KubeConfig, codecs
from lightkube.resources.core_v1 import Node

from strata.kube.tokens import BootstrapToken
from strata.kube.watch_stream import WatchError, WatchStream
from strata.provisioning import LogKind

__all__ = ["AdminCredential", "LayerWatch", "NodeWatcher", "ensure_token", "node_condition"]

log = logging.getLogger("strata.kube.watch")
Entry = tuple[str, str, Mapping[str, Any]]  # (node, kind, detail): one log entry
Write = Callable[[Sequence[Entry]], None]  # appends entries to the log, in order
# the longest wait between two tries of an API that does not answer: a layer's API comes
# up when its init node's kubeadm init is done, and the rest of the layer waits for it
MAX_RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class AdminCredential:
    """What the watch authenticates with: the layer's CA and a client certificate."""

    ca_pem: str
    cert_pem: str
    key_pem: str = field(repr=False)


@dataclass(frozen=True)
class LayerWatch:
    """One layer to follow: its API (``server``: ``https://VIP:port``), its credential
    (asked for at every (re)connect; the client is made again when it is a new one), its
    init node (API news is logged on it) and its nodes by name, each with the providerID
    Strata gave it."""

    layer: str
    server: str
    credential: Callable[[], AdminCredential]
    init_node: str
    nodes: Mapping[str, str]  # node name -> providerID
    # what must be true of the cluster once its API answers (the current bootstrap token's
    # Secret); called at every (re)connect, so it must be idempotent
    on_answer: Callable[[Client], None] | None = None


def node_condition(node: Mapping[str, Any]) -> tuple[bool, str]:
    """(Ready, why): a Node's (its JSON object's) Ready condition's status, and its
    reason and message."""
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    if ready is None:
        return False, "no Ready condition yet"
    why = ": ".join(p for p in (ready.get("reason"), ready.get("message")) if p)
    return ready.get("status") == "True", why or f"Ready is {ready.get('status')}"


class NodeWatcher:
    """A thread per layer and one writing their news (``start``/``stop``: what runs
    beside the controller); ``write``: appends a batch of entries to the event log;
    ``retry_seconds``: the first wait after a failure, doubled up to
    ``MAX_RETRY_SECONDS``; ``batch_seconds``: how long news waits for more to be
    written with."""

    def __init__(
        self,
        layers: Sequence[LayerWatch],
        write: Write,
        retry_seconds: float = 2.0,
        batch_seconds: float = 0.1,
    ) -> None:
        self.layers, self.write, self.retry_seconds = layers, write, retry_seconds
        self.batch_seconds = batch_seconds
        self.requests = 0  # lists and watches sent, every layer (O(1) per layer and run)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        # layer -> its credential, its client and TLS context (for its watch's stream)
        self._clients: dict[str, tuple[AdminCredential, Client, ssl.SSLContext]] = {}
        self._streams: dict[str, WatchStream] = {}  # layer -> its watch's stream, open
        self._said: dict[tuple[str, str], object] = {}  # (layer|node, what) -> last said
        self._pending: list[Entry] = []  # said, not written yet
        self._news = threading.Event()  # set while something is pending
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        for layer in self.layers:
            thread = threading.Thread(
                target=self._follow, args=(layer,), name=f"watch-{layer.layer}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        self._writer = threading.Thread(target=self._write_news, name="watch-log", daemon=True)
        self._writer.start()

    def stop(self) -> None:
        """Every watch ends, then what they said is written."""
        self._stopping.set()
        with self._lock:
            streams = list(self._streams.values())
            clients = [held[1] for held in self._clients.values()]
        for stream in streams:  # ends a watch blocked on its stream
            stream.close()
        for client in clients:
            client.close()
        for thread in self._threads:
            thread.join(10)
        self._news.set()
        if self._writer is not None:
            self._writer.join(10)
        try:
            self._flush()
        except Exception:  # the next run's watch lists every Node again
            log.warning("the watches' last news could not be written", exc_info=True)

    def _write_news(self) -> None:
        """The writer thread: waits for news, and for ``batch_seconds`` more, then writes
        it all at once; a failed write is tried again (the news kept, in order)."""
        while not self._stopping.is_set():
            self._news.wait()
            self._stopping.wait(self.batch_seconds)
            try:
                self._flush()
            except Exception:
                log.warning("writing the watches' news failed; trying again", exc_info=True)
                self._stopping.wait(self.retry_seconds)

    def _flush(self) -> None:
        with self._lock:
            entries, self._pending = self._pending, []
            self._news.clear()
        if not entries:
            return
        try:
            self.write(entries)
        except Exception:
            with self._lock:
                self._pending[:0] = entries
                self._news.set()
            raise

    def _follow(self, layer: LayerWatch) -> None:
        try:
            self._follow_until_stopped(layer)
        finally:
            with self._lock:
                held = self._clients.pop(layer.layer, None)
            if held is not None:
                held[1].close()

    def _follow_until_stopped(self, layer: LayerWatch) -> None:
        backoff = self.retry_seconds
        while not self._stopping.is_set():
            try:
                self._watch(layer)
                backoff = self.retry_seconds
            except Exception as exc:  # any failure: said once, tried again
                if self._stopping.is_set():
                    return
                self._say(
                    layer.init_node,
                    ("api", layer.layer),
                    _why(exc),
                    LogKind.API_UNREACHABLE,
                    {"layer": layer.layer, "reason": _why(exc)},
                )
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, MAX_RETRY_SECONDS)

    def _client_for(self, layer: LayerWatch) -> tuple[Client, ssl.SSLContext]:
        """The layer's client and TLS context, made again only when its credential
        changed: a TLS context takes milliseconds to build, and an API not up yet is tried
        every few seconds."""
        credential = layer.credential()
        with self._lock:
            held = self._clients.get(layer.layer)
        if held is not None and held[0] is credential:
            return held[1], held[2]
        client, context = _client(layer, credential)
        with self._lock:
            self._clients[layer.layer] = (credential, client, context)
        if held is not None:
            held[1].close()
        return client, context

    def _watch(self, layer: LayerWatch) -> None:
        """A list, then a watch from its version, resumed from the last version seen
        when the API ends it; returns to list again when that version is gone (410)."""
        client, context = self._client_for(layer)
        self.requests += 1
        listed = client.list(Node)
        for node in listed:
            self._see(layer, node.to_dict())
        if layer.on_answer is not None:
            layer.on_answer(client)
        self._say(
            layer.init_node,
            ("api", layer.layer),
            "answered",
            LogKind.API_ANSWERED,
            {"layer": layer.layer},
        )
        version = listed.resourceVersion
        try:
            while not self._stopping.is_set():
                self.requests += 1
                version = self._stream(layer, context, version)
        except WatchError as exc:
            if exc.code != 410:
                raise

    def _stream(self, layer: LayerWatch, context: ssl.SSLContext, version: str) -> str:
        """One watch request from ``version``, followed to its end: the last version seen."""
        path = f"/api/v1/nodes?watch=true&resourceVersion={quote(version)}"
        with WatchStream(layer.server, path, context) as stream:
            with self._lock:
                self._streams[layer.layer] = stream
            try:
                batches = stream.batches(self.batch_seconds, self._stopping)
                for events in () if self._stopping.is_set() else batches:  # else stop() missed it
                    for event in events:
                        version = self._event(layer, event) or version
            finally:
                with self._lock:
                    self._streams.pop(layer.layer, None)
        return version

    def _event(self, layer: LayerWatch, event: Mapping[str, Any]) -> str | None:
        """One watch event seen: its object's resourceVersion."""
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            raise WatchError(int(obj.get("code") or 500), str(obj.get("message") or ""))
        if kind == "DELETED":
            self._forget(obj)
        elif kind != "BOOKMARK":
            self._see(layer, obj)
        version = (obj.get("metadata") or {}).get("resourceVersion")
        return str(version) if version else None

    def _see(self, layer: LayerWatch, node: Mapping[str, Any]) -> None:
        """A Node (its JSON object) as listed or watched."""
        name = (node.get("metadata") or {}).get("name")
        if name is None or name not in layer.nodes:
            return
        wanted, actual = layer.nodes[name], (node.get("spec") or {}).get("providerID")
        if actual and actual != wanted:
            why = f"a Node named {name} has providerID {actual}, not {wanted}"
            self._say(name, ("node", name), why, LogKind.NODE_REGISTERED, {"reason": why})
            return
        ready, why = node_condition(node)
        # the machine's boot: a reinstalled machine's kubelet, Ready again on a Node that
        # never stopped being Ready, is news (its boot ID is new), not a repeat
        boot = ((node.get("status") or {}).get("nodeInfo") or {}).get("bootID")
        if ready:
            self._say(name, ("node", name), ("ready", boot), LogKind.NODE_READY, {})
        else:
            said = (why, boot)
            self._say(name, ("node", name), said, LogKind.NODE_REGISTERED, {"reason": why})

    def _forget(self, node: Mapping[str, Any]) -> None:
        name = (node.get("metadata") or {}).get("name")
        if name:
            with self._lock:
                self._said.pop(("node", name), None)

    def _say(
        self, node: str, key: tuple[str, str], value: object, kind: str, detail: Mapping[str, Any]
    ) -> None:
        """Log the entry (with the next batch) unless the same was said last."""
        with self._lock:
            if self._said.get(key) == value:
                return
            self._said[key] = value
            self._pending.append((node, kind, detail))
            if not self._news.is_set():  # set() takes the event's lock and wakes waiters
                self._news.set()


def ensure_token(token: BootstrapToken) -> Callable[[Client], None]:
    """An ``on_answer`` that makes ``token`` real in the cluster: its bootstrap-token
    Secret in kube-system, as ``kubeadm token create`` makes it (a token rotated after
    the init node's ``kubeadm init`` made the first one is otherwise unknown to the API,
    and every node installed with it would fail to join). Already there: nothing to do."""

    def ensure(client: Client) -> None:
        try:
            client.create(codecs.from_dict(token.secret_manifest()))
        except ApiError as exc:
            if exc.status.code != 409:  # AlreadyExists: the same id holds the same secret
                raise

    return ensure


def _client(layer: LayerWatch, credential: AdminCredential) -> tuple[Client, ssl.SSLContext]:
    """A client on the layer's API with ``credential``, and a TLS context with the same
    (for the watch's stream); its keys are read from a private directory that is gone
    once both hold them (no secret left on disk)."""
    with tempfile.TemporaryDirectory(prefix="strata-watch-") as directory:
        files = {
            "ca.crt": credential.ca_pem,
            "tls.crt": credential.cert_pem,
            "tls.key": credential.key_pem,
        }
        for name, text in files.items():
            (Path(directory) / name).write_text(text)
        config = KubeConfig.from_dict(
            {
                "clusters": [
                    {
                        "name": layer.layer,
                        "cluster": {
                            "server": layer.server,
                            "certificate-authority": f"{directory}/ca.crt",
                        },
                    }
                ],
                "users": [
                    {
                        "name": "strata",
                        "user": {
                            "client-certificate": f"{directory}/tls.crt",
                            "client-key": f"{directory}/tls.key",
                        },
                    }
                ],
                "contexts": [
                    {"name": layer.layer, "context": {"cluster": layer.layer, "user": "strata"}}
                ],
                "current-context": layer.layer,
            }
        )
        context = ssl.create_default_context(cadata=credential.ca_pem)
        context.load_cert_chain(f"{directory}/tls.crt", f"{directory}/tls.key")
        return Client(config, lazy=False, trust_env=False), context


def _why(exc: BaseException) -> str:
    """One line about a failure, without anything it may carry from a request."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__
