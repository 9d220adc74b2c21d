"""Network boot: the boot service (iPXE, Ignition, events, artifacts), tokens, artifacts."""

from strata.boot.assets import AssetIndex, import_artifacts
from strata.boot.content import BootContent
from strata.boot.service import BootService
from strata.boot.tokens import Grant, Stage, TokenRejected, TokenSigner
from strata.provisioning import Attempt, BootState, UnknownMachine

__all__ = [
    "AssetIndex",
    "Attempt",
    "BootContent",
    "BootService",
    "BootState",
    "Grant",
    "Stage",
    "TokenRejected",
    "TokenSigner",
    "UnknownMachine",
    "import_artifacts",
]
