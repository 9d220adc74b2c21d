"""The API server's word on a web client (``strata.web.kube_access.Reviewer``): who a
bearer token is (``TokenReview``, authentication.k8s.io/v1) and what that user may do
(``SubjectAccessReview``, authorization.k8s.io/v1). The controller's service account
needs ``create`` on both, which the built-in ClusterRole ``system:auth-delegator``
grants (deploy/components/web-face binds it)."""

from __future__ import annotations

from lightkube import Client
from lightkube.models.authentication_v1 import TokenReviewSpec
from lightkube.models.authorization_v1 import ResourceAttributes, SubjectAccessReviewSpec
from lightkube.resources.authentication_v1 import TokenReview
from lightkube.resources.authorization_v1 import SubjectAccessReview

from strata.web.kube_access import GROUP, RESOURCE, User

__all__ = ["KubeReviewer"]


class KubeReviewer:
    """Reviews through ``client`` (the controller's own), the user's groups, uid and
    extra passed on as the API server's delegated authorizer does. An API server that
    cannot be asked raises (``ApiError``, an HTTP error): the face answers 503, never
    lets the request through."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def authenticate(self, token: str) -> User | None:
        """``Reviewer.authenticate``: a ``TokenReview`` of ``token``."""
        review = self.client.create(TokenReview(spec=TokenReviewSpec(token=token)))
        status = review.status
        if status is None or not status.authenticated or status.user is None:
            return None
        user = status.user
        extra = tuple((k, tuple(v)) for k, v in sorted((user.extra or {}).items()))
        return User(user.username or "", tuple(user.groups or ()), user.uid or "", extra)

    def allowed(self, user: User, verb: str, namespace: str, name: str | None) -> bool:
        """``Reviewer.allowed``: a ``SubjectAccessReview`` of ``user`` doing ``verb`` on
        ``topologies.strata.dev`` ``name`` in ``namespace``."""
        attributes = ResourceAttributes(
            group=GROUP, resource=RESOURCE, verb=verb, namespace=namespace, name=name
        )
        spec = SubjectAccessReviewSpec(
            user=user.name, groups=list(user.groups), uid=user.uid or None,
            extra={k: list(v) for k, v in user.extra} or None, resourceAttributes=attributes,
        )  # fmt: skip
        review = self.client.create(SubjectAccessReview(spec=spec))
        return bool(review.status is not None and review.status.allowed)
