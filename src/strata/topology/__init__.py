"""The topology.yaml model: load, validate and resolve a datacenter description."""

from strata.topology.diagnostics import Diagnostic, Severity, TopologyError
from strata.topology.loader import Checked, FragmentCheck, check_file, check_text, load
from strata.topology.model import BMC, NIC, OS, Boot, Disk, Node, Rack, Switch, Topology
from strata.topology.spec import API_VERSION, TopologySpec

__all__ = [
    "API_VERSION",
    "BMC",
    "NIC",
    "OS",
    "Boot",
    "Checked",
    "Diagnostic",
    "Disk",
    "FragmentCheck",
    "Node",
    "Rack",
    "Severity",
    "Switch",
    "Topology",
    "TopologyError",
    "TopologySpec",
    "check_file",
    "check_text",
    "load",
]
