"""The boot service's integration tests share ``serve``: the service on a real server."""

from tests.integration.boot.served import serve

__all__ = ["serve"]
