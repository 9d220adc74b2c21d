"""Strata: provision bare-metal datacenters from one declarative topology.yaml."""

__version__ = "0.1.0"
