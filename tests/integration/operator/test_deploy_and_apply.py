"""deploy/ and `strata topology apply` against the real API server (v1.20.2):
``kubectl apply --dry-run=server -k`` accepts the base and the host-network overlay,
``kubectl get topologies`` prints the CRD's columns, and the command validates before it
sends anything and then server-side applies (field manager strata)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from strata.cli.app import cli
from tests.support.kube_api import ControlPlane

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "examples/lab/topology.yaml"
FIVE = ROOT / "tests/unit/topology/files/five-mistakes.yaml"
NAMESPACES = "/api/v1/namespaces"


def _kubectl(plane: ControlPlane, *args: str) -> subprocess.CompletedProcess[str]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is missing (apt-get install kubernetes-client)")
    return subprocess.run(
        [kubectl, "--kubeconfig", str(plane.admin_kubeconfig()), *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _namespace(plane: ControlPlane, name: str) -> None:
    with plane.client() as api:
        made = api.post(
            NAMESPACES, json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        )
        assert made.status_code in (201, 409), made.text


def _topology(plane: ControlPlane, namespace: str, name: str) -> dict[str, object] | None:
    with plane.client() as api:
        got = api.get(f"/apis/strata.dev/v1alpha1/namespaces/{namespace}/topologies/{name}")
    assert got.status_code in (200, 404), got.text
    return got.json() if got.status_code == 200 else None


def _strata(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


OVERLAY = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [{root}/deploy]
components: [{root}/deploy/components/{component}]
"""


@pytest.mark.parametrize("component", [None, "host-network", "web-face"])
def test_kubectl_server_dry_run_accepts_the_manifests(
    plane: ControlPlane, component: str | None, tmp_path: Path
) -> None:
    """deploy/ as it is, and an overlay with each of its components as
    docs/in-cluster.md and docs/web.md show them."""
    target = ROOT / "deploy"
    if component is not None:
        root = os.path.relpath(ROOT, tmp_path)  # kustomize: relative
        (tmp_path / "kustomization.yaml").write_text(OVERLAY.format(root=root, component=component))
        target = tmp_path
    _namespace(plane, "strata-system")  # a dry run creates no namespace for what follows
    done = _kubectl(plane, "apply", "--dry-run=server", "-k", str(target))
    assert done.returncode == 0, done.stderr
    for kind in (
        "customresourcedefinition.apiextensions.k8s.io/topologies.strata.dev",
        "customresourcedefinition.apiextensions.k8s.io/servers.strata.dev",
        "serviceaccount/strata-controller",
        "role.rbac.authorization.k8s.io/strata-controller",
        "deployment.apps/strata-controller",
        "service/strata-boot",
    ):
        assert kind in done.stdout, done.stdout
    web = "clusterrolebinding.rbac.authorization.k8s.io/strata-controller-auth-delegator"
    assert (web in done.stdout) is (component == "web-face")
    assert ("service/strata-web" in done.stdout) is (component == "web-face")
    built = _kubectl(plane, "kustomize", str(target))
    assert built.returncode == 0, built.stderr
    assert ("hostNetwork: true" in built.stdout) is (component == "host-network")
    assert ("STRATA_WEB_LISTEN" in built.stdout) is (component == "web-face")


def test_apply_dry_run_stores_nothing(plane: ControlPlane) -> None:
    _namespace(plane, "dry")
    kubeconfig = str(plane.admin_kubeconfig())
    code, out = _strata(
        "topology", "apply", "-f", str(LAB), "--kubeconfig", kubeconfig, "-n", "dry", "--dry-run"
    )
    assert code == 0, out
    assert "topology.strata.dev/lab in namespace dry: checked by the API server" in out
    assert _topology(plane, "dry", "lab") is None


def test_an_invalid_file_sends_nothing(plane: ControlPlane) -> None:
    _namespace(plane, "invalid")
    code, out = _strata(
        "topology",
        "apply",
        "-f",
        str(FIVE),
        "--kubeconfig",
        str(plane.admin_kubeconfig()),
        "-n",
        "invalid",
    )
    assert code == 1
    assert out.count(": error: ") == 5 and "nothing sent" in out
    with plane.client() as api:
        listed = api.get("/apis/strata.dev/v1alpha1/namespaces/invalid/topologies").json()
    assert listed["items"] == []


def test_apply_is_server_side_and_keeps_a_consent_written_by_others(plane: ControlPlane) -> None:
    _namespace(plane, "lab")
    kubeconfig = str(plane.admin_kubeconfig())
    code, out = _strata(
        "topology", "apply", "-f", str(LAB), "--kubeconfig", kubeconfig, "-n", "lab"
    )
    assert code == 0, out
    stored = _topology(plane, "lab", "lab")
    assert stored is not None
    managers = {m["manager"]: m["operation"] for m in stored["metadata"]["managedFields"]}  # type: ignore[index]
    assert managers == {"strata": "Apply"}
    # someone (kubectl, a GitOps tool) writes a consent; strata's next apply keeps it
    patched = _kubectl(
        plane,
        "-n",
        "lab",
        "patch",
        "topology",
        "lab",
        "--type=merge",
        "-p",
        '{"spec": {"consent": {"allowReprovision": ["lab-worker-1"]}}}',
    )
    assert patched.returncode == 0, patched.stderr
    code, out = _strata(
        "topology", "apply", "-f", str(LAB), "--kubeconfig", kubeconfig, "-n", "lab"
    )
    assert code == 0, out
    again = _topology(plane, "lab", "lab")
    assert again is not None
    assert again["spec"]["consent"] == {"allowReprovision": ["lab-worker-1"]}  # type: ignore[index]
    assert again["metadata"]["generation"] == 2  # type: ignore[index]
    # the consent given on the command line is strata's own
    code, out = _strata(
        "topology", "apply", "-f", str(LAB), "--kubeconfig", kubeconfig, "-n", "lab", "--prune"
    )
    assert code == 0, out
    assert _topology(plane, "lab", "lab")["spec"]["consent"]["prune"] is True  # type: ignore[index]
    # ... and withdrawn by the next apply that does not give it; the other consent stays
    code, out = _strata(
        "topology", "apply", "-f", str(LAB), "--kubeconfig", kubeconfig, "-n", "lab"
    )
    assert code == 0, out
    consent = _topology(plane, "lab", "lab")["spec"]["consent"]  # type: ignore[index]
    assert consent == {"allowReprovision": ["lab-worker-1"]}


def test_kubectl_get_prints_the_columns(plane: ControlPlane) -> None:
    _namespace(plane, "columns")
    code, out = _strata(
        "topology",
        "apply",
        "-f",
        str(LAB),
        "--kubeconfig",
        str(plane.admin_kubeconfig()),
        "-n",
        "columns",
    )
    assert code == 0, out
    got = _kubectl(plane, "-n", "columns", "get", "topologies")
    assert got.returncode == 0, got.stderr
    assert got.stdout.split("\n")[0].split() == ["NAME", "VALID", "READY", "SERVERS", "AGE"]
    assert got.stdout.split("\n")[1].split()[0] == "lab"


def test_a_refusal_is_one_line_naming_the_field(plane: ControlPlane, tmp_path: Path) -> None:
    """The file is valid to Strata's own checks only when it is also valid to the CRD; a
    namespace that does not exist is the API server's refusal, shown as Strata shows
    errors."""
    code, out = _strata(
        "topology",
        "apply",
        "-f",
        str(LAB),
        "--kubeconfig",
        str(plane.admin_kubeconfig()),
        "-n",
        "no-such-namespace",
    )
    assert code == 1
    assert "error: the API server refused Topology no-such-namespace/lab" in out
