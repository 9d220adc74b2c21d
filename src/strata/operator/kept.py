"""What runs beside a Topology's runs (the boot service, dnsmasq, each layer's watch of
Nodes), kept running from one run to the next while the Topology's generation stays:
a machine that reboots between two runs (a resync) still finds its boot service. A new
generation (a new plan, new boot content) restarts it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from strata.controller.manager import Beside

__all__ = ["Kept"]


class Kept:
    """``keep(key, build)``: started parts for ``key``, built and started once;
    ``stop()`` stops them in reverse order."""

    def __init__(self) -> None:
        self.key: object | None = None
        self.parts: list[Beside] = []

    def keep(self, key: object, build: Callable[[], Sequence[Beside]]) -> None:
        """Start ``build()``'s parts in order unless those of ``key`` run; a part that
        fails to start stops the ones started before it, and raises."""
        if self.key == key and self.parts:
            return
        self.stop()
        for part in build():
            try:
                part.start()
            except BaseException:
                self.stop()
                raise
            self.parts.append(part)
        self.key = key

    def stop(self) -> None:
        while self.parts:
            self.parts.pop().stop()
        self.key = None

    def media_url(self) -> Callable[[str, int], str] | None:
        """The running boot service's links to virtual media images (``ApplyOptions.media_url``),
        or None when no boot service runs here."""
        return next((p.media_url for p in self.parts if hasattr(p, "media_url")), None)
