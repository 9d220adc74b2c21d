"""Strata in a Kubernetes cluster: the in-cluster controller's home.

Its custom resources (``crds``: the Topology kind generated from the topology model,
and the Server kind from ``strata.store.server_crd``), the conversion between a
topology document and a Topology object (``objects``), and, as they are added, the
controller process that watches them (``strata controller``). Like ``strata.cli`` it
may import every other package of Strata.
"""
