"""Kubernetes layers: what each node needs to form or join its layer's cluster (pure)."""
