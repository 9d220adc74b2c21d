"""The systemd units that start Kubernetes on a node, as their own projects ship them.

- ``kubelet.service`` and its drop-in ``10-kubeadm.conf``: the files of kubeadm's own
  packages, kubernetes/release ``cmd/krel/templates/latest/kubelet/kubelet.service`` and
  ``cmd/krel/templates/latest/kubeadm/10-kubeadm.conf`` (v0.16.2; the rpm spec
  ``kubeadm.spec`` installs the drop-in under ``kubelet.service.d``), with ``/usr/bin``
  turned into the directory the binaries are in, as the kubeadm install page does
  "without a package manager"
  (https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/install-kubeadm/).
  The rpm form reads ``/etc/sysconfig/kubelet`` (FCOS and RHCOS are rpm systems). On
  Flatcar the Kubernetes sysext ships both, with ``Upholds=kubelet.service`` on
  ``multi-user.target`` (flatcar/sysext-bakery ``kubernetes.sysext/files/``).
- ``k3s.service`` / ``k3s-agent.service``: as the k3s install script writes them
  (k3s-io/k3s ``install.sh``, ``create_systemd_service_file``; ``Type=notify`` for a
  server, ``exec`` for an agent), the flags coming from ``/etc/rancher/k3s/config.yaml``.
  On Flatcar the k3s sysext ships them under ``/usr/local/lib/systemd/system``.
- ``strata-kubeadm.service``: Strata's own one-shot, ``kubeadm init`` or ``join`` once.
"""

from __future__ import annotations

__all__ = [
    "KUBEADM_SENTINEL",
    "k3s_unit",
    "kubeadm_dropin",
    "kubeadm_unit",
    "kubelet_unit",
]

KUBEADM_SENTINEL = "/var/lib/strata/kubeadm.done"
"""Touched once ``kubeadm init``/``join`` succeeded; while it exists the unit never runs."""

_KUBELET = """\
[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart={bin}/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
"""

_KUBEADM_DROPIN = """\
# Note: This dropin only works with kubeadm and kubelet v1.11+
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
# This is a file that "kubeadm init" and "kubeadm join" generates at runtime, populating the KUBELET_KUBEADM_ARGS variable dynamically
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# This is a file that the user can use for overrides of the kubelet args as a last resort. Preferably, the user should use
# the .NodeRegistration.KubeletExtraArgs object in the configuration files instead. KUBELET_EXTRA_ARGS should be sourced from this file.
EnvironmentFile=-/etc/sysconfig/kubelet
ExecStart=
ExecStart={bin}/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
"""

_K3S = """\
[Unit]
Description=Lightweight Kubernetes
Documentation=https://k3s.io
Wants=network-online.target
After=network-online.target

[Install]
WantedBy=multi-user.target

[Service]
Type={type}
EnvironmentFile=-/etc/default/%N
EnvironmentFile=-/etc/sysconfig/%N
EnvironmentFile=-/etc/systemd/system/{name}.env
KillMode=process
Delegate=yes
User=root
# Having non-zero Limit*s causes performance problems due to accounting overhead
# in the kernel. We recommend using cgroups to do container-local accounting.
LimitNOFILE=1048576
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStartPre=-/sbin/modprobe br_netfilter
ExecStartPre=-/sbin/modprobe overlay
ExecStart={bin}/k3s \\
    {command}
"""


def kubelet_unit(bin_dir: str) -> str:
    """kubeadm's packaged ``kubelet.service``, the kubelet in ``bin_dir``."""
    return _KUBELET.format(bin=bin_dir)


def kubeadm_dropin(bin_dir: str) -> str:
    """kubeadm's packaged ``kubelet.service.d/10-kubeadm.conf`` (rpm form)."""
    return _KUBEADM_DROPIN.format(bin=bin_dir)


def k3s_unit(server: bool, bin_dir: str = "/usr/local/bin") -> tuple[str, str]:
    """(unit name, contents): ``k3s.service`` running ``k3s server`` on a server,
    ``k3s-agent.service`` running ``k3s agent`` on an agent, as install.sh writes them."""
    name = "k3s.service" if server else "k3s-agent.service"
    text = _K3S.format(
        type="notify" if server else "exec",
        name=name,
        bin=bin_dir,
        command="server" if server else "agent",
    )
    return name, text


def kubeadm_unit(
    command: str, *, after: tuple[str, ...], requires: tuple[str, ...], description: str
) -> str:
    """``strata-kubeadm.service``: runs ``command`` (``kubeadm init …`` or ``join …``)
    once, after the network and the container runtime, then touches
    ``KUBEADM_SENTINEL``; ``ConditionPathExists=!`` skips it on every later boot.

    A oneshot's ``ExecStart=`` lines run in order and the first that fails stops the
    rest (systemd.service(5), ``Type=oneshot``), so the sentinel exists only after
    kubeadm succeeded. A failure is not retried: a half-done init or join must be
    ``kubeadm reset`` first (kubeadm's troubleshooting page), which is a person's call;
    the unit stays failed and the controller's ``joining`` timeout reports the node."""
    lines = [
        "[Unit]",
        f"Description={description}",
        "Documentation=https://kubernetes.io/docs/reference/setup-tools/kubeadm/",
        "Wants=network-online.target",
        f"After={' '.join(('network-online.target', *after))}",
    ]
    if requires:
        lines.append(f"Requires={' '.join(requires)}")
    lines += [
        f"ConditionPathExists=!{KUBEADM_SENTINEL}",
        "",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
        f"ExecStart={command}",
        f"ExecStart=/usr/bin/mkdir -p {KUBEADM_SENTINEL.rsplit('/', 1)[0]}",
        f"ExecStart=/usr/bin/touch {KUBEADM_SENTINEL}",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ]
    return "\n".join(lines)
