"""The issue's acceptance file: five planted mistakes, all reported, each at its line and column."""

from __future__ import annotations

from pathlib import Path

from strata.topology import check_file

FILE = Path(__file__).parent / "files" / "five-mistakes.yaml"


def _position(needle: str, column_of: str | None = None) -> tuple[int, int]:
    for number, line in enumerate(FILE.read_text().splitlines(), start=1):
        if needle in line:
            return number, line.index(column_of or needle) + 1
    raise AssertionError(needle)


def test_all_five_mistakes_are_reported_in_one_run() -> None:
    checked = check_file(FILE)
    assert checked.topology is None
    found = {(d.line, d.column, d.message.split(" ")[0]) for d in checked.errors}
    expected = {
        # duplicate MAC: at the second use
        (
            *_position('"52:54:00:10:00:01", network: provisioning, ip: 192.168.110.12', '"52'),
            "MAC",
        ),
        # IP outside its network's CIDR
        (*_position("192.168.120.13"), "192.168.120.13"),
        # unknown key, at the key itself
        (*_position("rol: worker"), "unknown"),
        # credentials reference to nothing
        (*_position("credentials: lab-bcm", "lab-bcm"), "unknown"),
        # the layer has no control-plane node: at the layer's name
        (*_position("- name: mgmt", "mgmt"), "layer"),
    }
    assert found == expected
    assert len(checked.errors) == 5


def test_messages_say_how_to_fix() -> None:
    by_message = {d.message: d.hint for d in check_file(FILE).errors}
    assert by_message["unknown key 'rol'"] == "did you mean 'role'?"
    assert by_message["unknown credentials 'lab-bcm'"] == "did you mean 'lab-bmc'?"
