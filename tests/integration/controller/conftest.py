"""Fixtures: an emulated fleet (sushy-tools systems + simulated machines) and its topology."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from strata.cli.app import cli
from strata.lab.image import stand_ins_for
from strata.plan import build_plan
from strata.topology import load
from tests.support.boot_server import free_port
from tests.support.fleet_topology import PASSWORD_ENV, fleet_yaml
from tests.support.machine_sim import MachineSimulator
from tests.support.redfish_emulator import Emulator, FakeSystem


@dataclass
class Fleet:
    file: Path
    systems: list[FakeSystem]
    machines: MachineSimulator
    port: int  # where `strata apply` serves the boot service

    def strata(self, *args: str) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    def apply(self, *args: str) -> Result:
        """`strata apply` on the fleet: to provisioned unless ``args`` say --until (these
        machines run no Kubernetes)."""
        target = () if "--until" in args else ("--until", "provisioned")
        return self.strata(
            "apply",
            "-f",
            str(self.file),
            "--listen",
            f"127.0.0.1:{self.port}",
            "--url",
            f"http://127.0.0.1:{self.port}",
            "-o",
            "plain",
            *target,
            *args,
        )

    def status(self) -> dict[str, Any]:
        result = self.strata("status", "-f", str(self.file), "-o", "json")
        assert result.exit_code == 0, result.output
        data: dict[str, Any] = json.loads(result.output)
        return data

    def states(self) -> dict[str, str]:
        return {name: n["state"] for name, n in self.status()["nodes"].items()}


@pytest.fixture
def make_fleet(
    emulator: Emulator, password: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    monkeypatch.setenv(PASSWORD_ENV, password)
    made: list[MachineSimulator] = []

    def make(count: int, **topology: Any) -> Fleet:
        systems = emulator.take(count)
        port = free_port()
        file = tmp_path / "topology.yaml"
        file.write_text(fleet_yaml(emulator.url, systems, **topology))
        stand_ins_for(tmp_path / "artifacts", build_plan(load(file)).nodes)  # what they "fetch"
        machines = MachineSimulator(emulator, systems, f"http://127.0.0.1:{port}")
        made.append(machines)
        return Fleet(file, systems, machines, port)

    yield make
    for machines in made:
        machines.close()
