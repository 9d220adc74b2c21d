"""What each machine is served, rendered from the plan and cached per node and attempt.

A new plan means a new ``BootContent`` (the service swaps it in), so caches
never outlive the plan they were rendered from; nothing here reads a file.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from strata.boot.loaders import GRUB, Loader
from strata.boot.tokens import Grant, Stage, TokenSigner
from strata.ignition import (
    Callbacks,
    Config,
    RecipeURLs,
    final_config,
    install_script,
    live_config,
    profile_for,
)
from strata.ignition.recipe import grub_config, install_recipe
from strata.plan import NodePlan, Plan
from strata.provisioning import Attempt

__all__ = ["BootContent"]

T = TypeVar("T")


class BootContent:
    def __init__(
        self,
        plan: Plan,
        base_url: str,
        signer: TokenSigner,
        fragments: Mapping[str, Sequence[Config]] | None = None,
        kube: Callable[[NodePlan], Config | None] | None = None,
    ) -> None:
        """``fragments``: the person's Ignition fragments per node; ``kube``: a node's
        fragment installing its layer's Kubernetes (``boot.kube_content.KubeSource``),
        merged before the person's, which may override its files."""
        self.plan, self.base_url, self.signer = plan, base_url.rstrip("/"), signer
        self.fragments, self.kube = fragments or {}, kube
        self.nodes = {n.name: n for n in plan.nodes}
        self._by_mac: dict[str, NodePlan] = {}
        for node in plan.nodes:
            for mac in (node.boot_mac, *(i.mac for i in node.interfaces)):
                self._by_mac.setdefault(mac, node)
        self._cache: dict[tuple[str, int, str], object] = {}
        self._lock = threading.Lock()

    def node_for_mac(self, mac: str) -> NodePlan | None:
        return self._by_mac.get(mac)

    def install_script(self, node: NodePlan, attempt: Attempt, loader: Loader | None = None) -> str:
        """The boot recipe of ``node``'s ``attempt`` for ``loader`` (iPXE by default);
        ``BuildError`` when none can be made (``strata.ignition.recipe``)."""
        name = loader.name if loader is not None else "ipxe"
        return self._cached(node, attempt, name, lambda: self._script(node, attempt, name))

    def config(self, node: NodePlan, attempt: Attempt, stage: Stage) -> bytes:
        def render() -> bytes:
            profile = profile_for(node.os_name)
            hooks = self._callbacks(node, attempt)
            kube = self.kube(node) if self.kube is not None else None
            fragments = [*([kube] if kube else []), *self.fragments.get(node.name, ())]
            final = final_config(node, profile, fragments, hooks)
            chosen = final if stage is Stage.FINAL else live_config(node, profile, final, hooks)
            return json.dumps(chosen, sort_keys=True).encode()

        return self._cached(node, attempt, stage.name, render)

    def token(self, node: NodePlan, attempt: Attempt, stage: Stage) -> str:
        return self.signer.issue(Grant(node.name, attempt.number, stage, attempt.expires))

    def install_files(self, node: NodePlan) -> frozenset[str]:
        """The mirror's files (``OS/VERSION/FILE``) the node's network install fetches: the
        only ones whose absence is news about that node (``strata.boot.preflight`` checks
        the same list before anything is powered on)."""
        names = profile_for(node.os_name).artifacts.network_install(node.os_version)
        return frozenset(f"{node.os_name}/{node.os_version}/{name}" for name in names)

    def _cached(self, node: NodePlan, attempt: Attempt, what: str, render: Callable[[], T]) -> T:
        key = (node.name, attempt.number, what)
        with self._lock:
            hit = self._cache.get(key)
        if hit is None:
            hit = render()
            with self._lock:
                self._cache[key] = hit
        return hit  # type: ignore[return-value]  # one key, one type: str for ipxe, bytes for configs

    def _script(self, node: NodePlan, attempt: Attempt, loader: str) -> str:
        profile = profile_for(node.os_name)
        ignition = f"{self.base_url}/ignition/{node.name}?token="
        urls = RecipeURLs(
            assets=self._assets(node),
            asset_query=f"?node={node.name}&token={self._artifact_token(node, attempt)}",
            live_config=ignition + self.token(node, attempt, Stage.LIVE),
            final_config=ignition + self.token(node, attempt, Stage.FINAL),
        )
        if loader == GRUB.name:
            return grub_config(install_recipe(node, profile, urls), node.boot_mac)
        return install_script(node, profile, urls)

    def _artifact_token(self, node: NodePlan, attempt: Attempt) -> str:
        """What the script's artifact URLs carry: proof that a request for a file comes
        from this node's install of this attempt (``TokenSigner.issue_artifacts``)."""
        return self.signer.issue_artifacts(node.name, attempt.number, attempt.expires)

    def _callbacks(self, node: NodePlan, attempt: Attempt) -> Callbacks:
        events = (
            f"{self.base_url}/events/{node.name}?token={self.token(node, attempt, Stage.EVENTS)}"
        )
        return Callbacks(events=events, assets=self._assets(node))

    def _assets(self, node: NodePlan) -> str:
        return f"{self.base_url}/assets/{node.os_name}/{node.os_version}"
