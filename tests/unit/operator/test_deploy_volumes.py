"""deploy/: the controller runs with a read-only root filesystem, so every path it
writes by default (the artifact mirror, dnsmasq's directory beside it, the temporary
directory; a --state-dir when the ConfigMap sets one) is on a mounted volume — in the
base and with the host-network component, which turns DHCP on."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from strata.cli.controller_cmd import controller, dhcp_directory

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"


def _default(name: str) -> Any:
    return next(p.default for p in controller.params if p.name == name)


def _container() -> dict[str, Any]:
    deployment = yaml.safe_load((DEPLOY / "deployment.yaml").read_text())
    spec = deployment["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    volumes = {v["name"] for v in spec["volumes"]}
    assert {m["name"] for m in container["volumeMounts"]} <= volumes
    return dict(container)


def _config() -> dict[str, str]:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    literals = kustomization["configMapGenerator"][0]["literals"]
    return dict(item.split("=", 1) for item in literals)


def _written() -> list[PurePosixPath]:
    """Every directory the controller writes in the pod, with deploy/'s settings."""
    config = _config()
    artifacts = Path(config.get("STRATA_ARTIFACTS", _default("artifact_dir")))
    paths = [artifacts, dhcp_directory(artifacts), Path("/tmp")]  # no TMPDIR in the pod
    if "STRATA_STATE_DIR" in config:
        paths.append(Path(config["STRATA_STATE_DIR"]))
    return [PurePosixPath(p) for p in paths]


def test_the_root_filesystem_is_read_only_and_every_written_path_is_a_volume() -> None:
    container = _container()
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = [PurePosixPath(m["mountPath"]) for m in container["volumeMounts"]]
    for path in _written():
        assert any(path == m or m in path.parents for m in mounts), f"{path} is not mounted"


def test_the_host_network_component_mounts_nothing_away() -> None:
    """The component turns DHCP on (STRATA_DHCP_INTERFACE) and touches no volume."""
    component = yaml.safe_load((DEPLOY / "components/host-network/kustomization.yaml").read_text())
    ops = yaml.safe_load(component["patches"][0]["patch"])
    assert not [op for op in ops if "volume" in op["path"].lower()]
    assert any(
        op.get("value", {}).get("name") == "STRATA_DHCP_INTERFACE"
        for op in ops
        if isinstance(op.get("value"), dict)
    )
