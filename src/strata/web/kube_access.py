"""The web face's access in a cluster (`strata controller --web-listen`): the cluster's
own authentication and authorization decide, as for ``kubectl``, the way
kube-rbac-proxy and the API server's delegated auth do it.

- A client sends its Kubernetes bearer token (a service account's, an OIDC ID token:
  whatever the API server accepts) in ``Authorization: Bearer TOKEN``. The face asks
  the API server who that is (a ``TokenReview``, authentication.k8s.io/v1), then
  whether that user may act on the Topology (a ``SubjectAccessReview``,
  authorization.k8s.io/v1): a view needs ``get`` on ``topologies.strata.dev`` NAME in
  its namespace, an action (retry, maintenance) ``update`` on it — what reading and
  changing the Topology object with ``kubectl`` takes.
- No token, or one the API server does not accept: ``401``; accepted but not allowed:
  ``403`` naming the verb and the object; the API server not answering: ``503``
  (never let through). There is no loopback exception here: in a
  pod, ``kubectl port-forward`` connections arrive from the loopback.
- Answers are kept ``TTL`` seconds (keyed by the token's SHA-256, never the token),
  as the API server's own webhook authenticator caches them, so a dashboard's polls
  cost no review each; a revoked right takes effect within that time.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from strata.web.access import HEADERS, bearer_token, unauthorized

__all__ = ["GROUP", "RESOURCE", "TTL", "ClusterAccess", "ReviewCache", "Reviewer", "User"]

log = logging.getLogger("strata.web")
TTL = 10.0  # seconds an answer is kept
KEPT = 4096  # answers kept at most (the least recently used go first)
GROUP, RESOURCE = "strata.dev", "topologies"


@dataclass(frozen=True, slots=True)
class User:
    """Who a token is (``TokenReview.status.user``)."""

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()  # e.g. scopes, for a webhook authorizer


class Reviewer(Protocol):
    """The API server's answers (``strata.operator.reviews.KubeReviewer``)."""

    def authenticate(self, token: str) -> User | None:
        """The token's user, or None when the API server does not accept it."""
        ...

    def allowed(self, user: User, verb: str, namespace: str, name: str | None) -> bool:
        """May ``user`` ``verb`` ``topologies.strata.dev`` ``name`` (all: None) in
        ``namespace``?"""
        ...


class ClusterAccess:
    """``Access`` for the Topology ``name`` in ``namespace`` (None: the namespace's
    list of them) through ``reviewer``, its answers kept in ``cache``."""

    blocking = True  # each review is a request to the API server

    def __init__(
        self,
        reviewer: Reviewer,
        namespace: str,
        name: str | None,
        cache: ReviewCache | None = None,
    ) -> None:
        self.reviewer, self.namespace, self.name = reviewer, namespace, name
        self.cache = cache or ReviewCache()

    def refusal(self, request: Request, action: bool) -> Response | None:
        token = bearer_token(request)
        if token is None:
            return unauthorized("a Kubernetes bearer token: Authorization: Bearer TOKEN")
        try:
            return self._reviewed(token, action)
        except Exception as exc:  # the API server could not be asked: refused, said
            log.warning("web face: review failed: %s", type(exc).__name__, exc_info=True)
            detail = "the API server could not review this request; try again"
            return JSONResponse({"error": "unavailable", "detail": detail}, 503, headers=HEADERS)

    def _reviewed(self, token: str, action: bool) -> Response | None:
        key = hashlib.sha256(token.encode()).hexdigest()
        user = self.cache.get(("user", key), lambda: self.reviewer.authenticate(token))
        if not isinstance(user, User):
            return unauthorized("the cluster does not accept this token")
        verb = "update" if action else "get" if self.name is not None else "list"
        decide = lambda: self.reviewer.allowed(user, verb, self.namespace, self.name)  # noqa: E731
        if self.cache.get(("allowed", key, verb, self.namespace, self.name or ""), decide):
            return None
        what = f"{RESOURCE}.{GROUP}" + (f" {self.name}" if self.name else "")
        return unauthorized(f"{user.name} may not {verb} {what} in {self.namespace}", 403)


class ReviewCache:
    """Answers kept ``ttl`` seconds, at most ``size`` of them; one shared by the faces
    of every Topology (a token's user is the same for all)."""

    def __init__(
        self, ttl: float = TTL, size: int = KEPT, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl, self.size, self.clock = ttl, size, clock
        self._kept: OrderedDict[Sequence[str], tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Sequence[str], compute: Callable[[], object]) -> object:
        """The answer kept for ``key``, else ``compute()``'s, kept (an exception is not)."""
        now = self.clock()
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and kept[0] > now:
                self._kept.move_to_end(key)
                return kept[1]
        answer = compute()
        with self._lock:
            self._kept[key] = (now + self.ttl, answer)
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return answer
