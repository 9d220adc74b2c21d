"""The web face: what a person or a monitoring system sees of a run over HTTP, on its
own address and port, apart from the machines' boot service.

So far Prometheus metrics (``strata.web.metrics``, served by ``strata.web.app``); the
REST API and the dashboard are to come (docs/web.md).
"""
