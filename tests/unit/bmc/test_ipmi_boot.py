"""Set System Boot Options, parameter by parameter (IPMI v2.0 section 28.12, table 28-14):
the requests sent, in order, to a BMC that refuses some of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from strata.bmc.ipmi_boot import (
    BootFlagsRefused,
    TransportFault,
    boot_flags,
    set_boot_device,
)


class FakeBMC:
    """Answers Set System Boot Options with a completion code per parameter."""

    def __init__(self, codes: Mapping[int, int] | None = None, silent: bool = False) -> None:
        self.codes, self.silent = dict(codes or {}), silent
        self.sent: list[list[int]] = []

    def __call__(self, netfn: int, command: int, data: list[int]) -> Mapping[str, Any]:
        assert (netfn, command) == (0x00, 0x08)  # NetFn Chassis, Set System Boot Options
        self.sent.append(data)
        if self.silent:
            return {"error": "timeout", "code": 0xFFFF}
        code = self.codes.get(data[0], 0)
        return {"code": code, "data": b"", **({"error": "refused"} if code else {})}


def test_flags_bytes() -> None:
    assert boot_flags(0x04, uefi=True, persistent=False) == [0xA0, 0x04, 0, 0, 0]
    assert boot_flags(0x08, uefi=False, persistent=True) == [0xC0, 0x08, 0, 0, 0]


def test_the_whole_sequence_on_a_bmc_that_takes_everything() -> None:
    bmc = FakeBMC()
    assert set_boot_device(bmc, 0x04, uefi=True, persistent=False) == ()
    assert bmc.sent == [[0, 0x01], [3, 0x08], [5, 0xA0, 0x04, 0, 0, 0], [0, 0x00]]


def test_optional_parameters_refused_are_returned_and_the_flags_still_sent() -> None:
    bmc = FakeBMC({0: 0x80, 3: 0x80})
    refused = set_boot_device(bmc, 0x14, uefi=False, persistent=False)
    assert [str(r) for r in refused] == [
        "parameter 0 (set in progress) refused: 0x80, parameter not supported",
        "parameter 3 (boot flag valid bit clearing) refused: 0x80, parameter not supported",
    ]
    assert bmc.sent == [[0, 0x01], [3, 0x08], [5, 0x80, 0x14, 0, 0, 0]]  # no set-complete


def test_a_refused_flags_parameter_raises_and_the_update_is_still_completed() -> None:
    bmc = FakeBMC({5: 0xCC})
    with pytest.raises(BootFlagsRefused) as caught:
        set_boot_device(bmc, 0x04, uefi=True, persistent=True)
    assert str(caught.value) == (
        "parameter 5 (boot flags) refused: 0xCC, invalid data field in request"
    )
    assert bmc.sent[-1] == [0, 0x00]  # set complete: the parameters are not left locked


def test_no_answer_is_not_a_refusal() -> None:
    with pytest.raises(TransportFault, match="timeout"):
        set_boot_device(FakeBMC(silent=True), 0x04, uefi=True, persistent=False)
