"""The in-cluster controller's manifests as code: its ServiceAccount, Role and
RoleBinding, the ConfigMap of its ``STRATA_*`` settings and its Deployment, for one
namespace — what ``kubectl apply -k deploy/`` installs (docs/in-cluster.md,
"Install"), and what ``strata pivot`` installs in its target (``strata.pivot.install``).

``deploy/rbac.yaml`` and ``deploy/deployment.yaml`` stay the files people read and
kustomize (with their comments); a test keeps them equal to these functions for the
namespace ``strata-system`` with kustomize's namespace and ``part-of`` label
(``tests/unit/operator/test_manifests.py``). The image is named once, ``IMAGE``.

Least privilege (docs/in-cluster.md): the controller's rights are a Role in its own
namespace, nothing cluster-wide — it reads each layer's Nodes with Strata's own
admin credential of that layer (``strata.kube.watch``), not its ServiceAccount. The
two ClusterRoles of ``deploy/rbac.yaml`` (``PEOPLE_ROLES``) are for people (aggregated
to ``edit``/``admin`` and ``view``), not for the controller.

Objects follow the Kubernetes API reference: core/v1 ServiceAccount and ConfigMap,
rbac.authorization.k8s.io/v1 Role and RoleBinding, apps/v1 Deployment.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "IMAGE",
    "NAME",
    "PART_OF",
    "PEOPLE_ROLES",
    "REPLICAS",
    "REPLICAS_ANNOTATION",
    "SETTINGS",
    "config_map",
    "controller_objects",
    "deployment",
    "dhcp_of",
    "object_path",
    "paused",
    "pinned",
    "pinned_to",
    "role",
    "role_binding",
    "service_account",
]

Obj = dict[str, Any]

NAME = "strata-controller"  # the ServiceAccount, Role, RoleBinding, ConfigMap, Deployment
IMAGE = "strata:latest"  # built from the Containerfile (docs/in-cluster.md, "The image")
REPLICAS = 1  # replicas split the racks into shards; one more is a warm spare
REPLICAS_ANNOTATION = "strata.dev/replicas"  # a paused Deployment's replicas to come
PART_OF = {"app.kubernetes.io/part-of": "strata"}  # deploy/kustomization.yaml's labels
SETTINGS = {  # deploy/kustomization.yaml's configMapGenerator literals
    "STRATA_UNTIL": "joined",
    "STRATA_HEALTH_ADDR": "0.0.0.0:8081",
    "STRATA_LISTEN": "0.0.0.0:8080",
}
_APP = {"app.kubernetes.io/name": NAME}

ROLE_RULES: list[Obj] = [
    {"apiGroups": ["strata.dev"], "resources": ["topologies"], "verbs": ["list"]},
    {"apiGroups": ["strata.dev"], "resources": ["topologies/status"], "verbs": ["patch"]},
    {
        "apiGroups": ["strata.dev"],
        "resources": ["servers"],
        "verbs": ["get", "list", "create", "update", "delete"],
    },
    {"apiGroups": ["strata.dev"], "resources": ["servers/status"], "verbs": ["update"]},
    {
        "apiGroups": ["coordination.k8s.io"],
        "resources": ["leases"],
        "verbs": ["get", "list", "create", "update", "delete"],
    },
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "get", "patch"]},
    {
        "apiGroups": [""],
        "resources": ["configmaps"],
        "verbs": ["get", "list", "create", "update", "patch", "delete"],
    },
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "create", "update"]},
]

_READ = ["get", "list", "watch"]
PEOPLE_ROLES: list[Obj] = [
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {
            "name": "strata-topology-editor",
            "labels": {
                "rbac.authorization.k8s.io/aggregate-to-edit": "true",
                "rbac.authorization.k8s.io/aggregate-to-admin": "true",
                **PART_OF,
            },
        },
        "rules": [
            {
                "apiGroups": ["strata.dev"],
                "resources": ["topologies"],
                "verbs": [*_READ, "create", "update", "patch", "delete"],
            },
            {
                "apiGroups": ["strata.dev"],
                "resources": ["servers", "topologies/status", "servers/status"],
                "verbs": _READ,
            },
        ],
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {
            "name": "strata-topology-viewer",
            "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true", **PART_OF},
        },
        "rules": [
            {
                "apiGroups": ["strata.dev"],
                "resources": ["topologies", "servers", "topologies/status", "servers/status"],
                "verbs": _READ,
            }
        ],
    },
]


def _meta(namespace: str, **labels: str) -> Obj:
    return {"name": NAME, "namespace": namespace, "labels": {**labels, **PART_OF}}


def service_account(namespace: str) -> Obj:
    """The controller's ServiceAccount ``strata-controller`` in ``namespace``."""
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(namespace)}


def role(namespace: str) -> Obj:
    """The controller's Role: exactly the calls it makes, all in ``namespace``."""
    rules = [{**r, "verbs": list(r["verbs"])} for r in ROLE_RULES]
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _meta(namespace),
        "rules": rules,
    }


def role_binding(namespace: str) -> Obj:
    """The Role bound to the ServiceAccount of ``namespace``. The subject names no
    namespace: RBAC takes the RoleBinding's (and kustomize would not rewrite one)."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _meta(namespace),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
        "subjects": [{"kind": "ServiceAccount", "name": NAME}],
    }


def config_map(namespace: str, settings: dict[str, str] | None = None) -> Obj:
    """The ConfigMap of ``strata controller``'s settings (every flag has a ``STRATA_*``
    variable): ``SETTINGS``, then ``settings`` over them."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(namespace),
        "data": {**SETTINGS, **(settings or {})},
    }


def deployment(namespace: str, image: str = IMAGE, replicas: int = REPLICAS) -> Obj:
    """The controller's Deployment: non-root, read-only root filesystem, no
    capabilities; ``/readyz`` and ``/healthz`` on port 8081, the boot service on 8080;
    its settings from the ConfigMap ``strata-controller``."""
    volumes: list[Obj] = [{"name": n, "emptyDir": {}} for n in ("artifacts", "dhcp", "tmp")]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(namespace, **_APP),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(_APP)},
            "template": {
                "metadata": {"labels": dict(_APP)},
                "spec": {
                    "serviceAccountName": NAME,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "runAsGroup": 10001,
                        "fsGroup": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [_container(image)],
                    "volumes": volumes,
                },
            },
        },
    }


def _container(image: str) -> Obj:
    def field(path: str) -> Obj:
        return {"fieldRef": {"fieldPath": path}}

    return {
        "name": "controller",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["controller"],
        "envFrom": [{"configMapRef": {"name": NAME}}],
        "env": [
            {"name": "STRATA_NAMESPACE", "valueFrom": field("metadata.namespace")},
            {"name": "STRATA_IDENTITY", "valueFrom": field("metadata.name")},
        ],
        "ports": [
            {"name": "boot", "containerPort": 8080},
            {"name": "health", "containerPort": 8081},
        ],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "health"}, "periodSeconds": 5},
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "health"},
            "initialDelaySeconds": 15,
            "periodSeconds": 10,
        },
        "resources": {"requests": {"cpu": "200m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "artifacts", "mountPath": "/var/lib/strata/artifacts"},
            {"name": "dhcp", "mountPath": "/var/lib/strata/dhcp"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }


def paused(obj: Obj) -> Obj:
    """``obj`` (a Deployment) started paused: ``replicas`` 0, the replicas it is to have
    written in the annotation ``strata.dev/replicas`` (scaled up by whoever resumes it)."""
    metadata = obj["metadata"]
    annotations = {**(metadata.get("annotations") or {})}
    annotations[REPLICAS_ANNOTATION] = str(obj["spec"].get("replicas", REPLICAS))
    return {
        **obj,
        "metadata": {**metadata, "annotations": annotations},
        "spec": {**obj["spec"], "replicas": 0},
    }


def pinned(obj: Obj, nodes: list[str], dhcp_interface: str | None = None) -> Obj:
    """``obj`` (the controller's Deployment) run only on the Nodes named ``nodes`` and on
    their network, for a controller that serves boots and DHCP on a provisioning
    network only those Nodes are on (docs/pivot.md, "Pinned to the provisioning
    network"): a required node affinity on the Nodes' ``metadata.name`` (a
    NodeSelectorTerm's ``matchFields``, as the DaemonSet controller pins its pods to a
    Node: one term per Node, sorted, as the API server takes one value per field
    selector and ORs the terms), ``hostNetwork`` with ``dnsPolicy: ClusterFirstWithHostNet``
    (its boot service listens on the Node's address, which the machines reach; a pod's
    address is not on their network), and the ``Recreate`` strategy (two pods on one
    Node's network would want the same ports). With ``dhcp_interface``, DHCP and TFTP
    (dnsmasq) on that interface of the Node too, as ``deploy/components/host-network``
    gives them: ``STRATA_DHCP_INTERFACE``, and the capabilities NET_ADMIN, NET_RAW and
    NET_BIND_SERVICE (ports 67 and 69) with privilege escalation allowed (dnsmasq's
    file capabilities apply only without no_new_privs). ``ValueError`` for no Node:
    ``In`` takes at least one value."""
    if not nodes:
        raise ValueError("a Deployment is pinned to at least one Node")
    terms = [  # one value per field selector (the API server's rule): terms are ORed
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [name]}]}
        for name in sorted(nodes)
    ]
    required = {"nodeSelectorTerms": terms}
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}}
    spec = obj["spec"]
    template = spec["template"]
    pod = {
        **template["spec"],
        "affinity": affinity,
        "hostNetwork": True,
        "dnsPolicy": "ClusterFirstWithHostNet",
    }
    if dhcp_interface is not None:
        pod["containers"] = [_with_dhcp(c, dhcp_interface) for c in pod["containers"]]
    return {
        **obj,
        "spec": {**spec, "strategy": {"type": "Recreate"}, "template": {**template, "spec": pod}},
    }


def _with_dhcp(container: Obj, interface: str) -> Obj:
    security = {
        **container.get("securityContext", {}),
        "allowPrivilegeEscalation": True,
        "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN", "NET_RAW", "NET_BIND_SERVICE"]},
    }
    env = [e for e in container.get("env", []) if e.get("name") != "STRATA_DHCP_INTERFACE"]
    env.append({"name": "STRATA_DHCP_INTERFACE", "value": interface})
    return {**container, "securityContext": security, "env": env}


def dhcp_of(obj: Obj) -> str | None:
    """The interface a Deployment's controller serves DHCP on (None: no DHCP)."""
    pod = _pod_spec(obj)
    for container in pod.get("containers") or []:
        for env in container.get("env") or []:
            if env.get("name") == "STRATA_DHCP_INTERFACE":
                return str(env.get("value"))
    return None


def _pod_spec(obj: Obj) -> Obj:
    """A Deployment's pod template spec ({} where it has none)."""
    return (((obj.get("spec") or {}).get("template") or {}).get("spec")) or {}


def pinned_to(obj: Obj) -> list[str] | None:
    """The Node names a Deployment is ``pinned`` to (None: it is not)."""
    pod = _pod_spec(obj)
    required = ((pod.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    names = [
        value
        for term in required.get("nodeSelectorTerms") or []
        for field in term.get("matchFields") or []
        if field.get("key") == "metadata.name" and field.get("operator") == "In"
        for value in field.get("values") or []
    ]
    return names or None


def controller_objects(namespace: str, image: str = IMAGE) -> list[Obj]:
    """Everything the controller needs in ``namespace``, in the order to create it:
    ServiceAccount, Role, RoleBinding, ConfigMap, Deployment (as deploy/ has it: not
    paused; see ``paused``)."""
    return [
        service_account(namespace),
        role(namespace),
        role_binding(namespace),
        config_map(namespace),
        deployment(namespace, image),
    ]


_COLLECTIONS = {
    "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "Secret": "/api/v1/namespaces/{ns}/secrets",
    "Role": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
    "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
    "ClusterRole": "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    "ClusterRoleBinding": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
    "Topology": "/apis/strata.dev/v1alpha1/namespaces/{ns}/topologies",
}


def object_path(obj: Obj, collection: bool = False) -> str:
    """The API path of ``obj`` (one of the kinds above), or of its collection.
    ``KeyError`` for another kind."""
    metadata = obj["metadata"]
    base = _COLLECTIONS[obj["kind"]].format(ns=metadata.get("namespace", ""))
    return base if collection else f"{base}/{metadata['name']}"
