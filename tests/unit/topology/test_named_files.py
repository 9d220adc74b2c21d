"""Every file topology.yaml names is checked at `strata validate`, at its file:line:column.

Each input an attacker or an unlucky operator tried (issue 11, section 2) is here with
the right answer: a path outside the topology's directory, a link leading out, a
device, a FIFO, a directory, a file too large, a password file of two lines or open
to the group, a fragment that is not Ignition. Real files in tmp_path throughout.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from strata.ignition import fragment_problems
from strata.topology import Checked, Severity, check_file, named_files
from strata.topology.named_files import ALLOWED_DIRS_ENV, CREDENTIALS, IGNITION_FRAGMENT
from tests.unit.topology.named import certificate_pem, laughs, line_of, write_topology

SECRET = "hunter2-correct-horse"


@pytest.fixture(autouse=True)
def _no_allowance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOWED_DIRS_ENV, raising=False)


def only_error(checked: Checked) -> str:
    assert checked.topology is None
    assert len(checked.errors) == 1, [d.render() for d in checked.diagnostics]
    return checked.errors[0].render()


def password_file(directory: Path, text: str = SECRET + "\n", mode: int = 0o600) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "bmc-password"
    path.write_text(text)
    path.chmod(mode)
    return path


def at_password(topology: Path) -> str:
    line, column = line_of(topology, "{file:")
    return f"{topology}:{line}:{column + 7}: error: credentials[0].password.file: "


# -- where a file may be ---------------------------------------------------------------


def test_an_absolute_path_outside_is_refused_at_its_line(tmp_path: Path) -> None:
    topology = write_topology(tmp_path / "dc", password_file="/etc/shadow")
    rendered = only_error(check_file(topology))
    assert rendered.startswith(at_password(topology))
    assert "'/etc/shadow' is outside the topology's directory" in rendered
    assert ALLOWED_DIRS_ENV in rendered


def test_a_relative_path_climbing_out_is_refused(tmp_path: Path) -> None:
    topology = write_topology(tmp_path / "dc", password_file="../../../../etc/shadow")
    rendered = only_error(check_file(topology))
    assert rendered.startswith(at_password(topology))
    assert "is outside the topology's directory" in rendered


def test_a_link_leading_out_is_refused_and_says_where_it_leads(tmp_path: Path) -> None:
    outside = password_file(tmp_path / "elsewhere")
    (tmp_path / "dc").mkdir()
    (tmp_path / "dc" / "pw").symlink_to(outside)
    rendered = only_error(check_file(write_topology(tmp_path / "dc", password_file="pw")))
    assert f"it resolves to {outside}" in rendered
    assert SECRET not in rendered


def test_a_link_to_a_directory_leading_out_is_refused(tmp_path: Path) -> None:
    password_file(tmp_path / "elsewhere")
    (tmp_path / "dc").mkdir()
    (tmp_path / "dc" / "secrets").symlink_to(tmp_path / "elsewhere")
    topology = write_topology(tmp_path / "dc", password_file="secrets/bmc-password")
    assert "is outside the topology's directory" in only_error(check_file(topology))


def test_a_link_staying_inside_is_followed(tmp_path: Path) -> None:
    password_file(tmp_path / "dc" / "secrets")
    (tmp_path / "dc" / "pw").symlink_to("secrets/bmc-password")
    checked = check_file(write_topology(tmp_path / "dc", password_file="pw"))
    assert checked.topology is not None, [d.render() for d in checked.diagnostics]


def test_the_allowance_lets_the_person_running_strata_widen_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = password_file(tmp_path / "etc-strata")
    topology = write_topology(tmp_path / "dc", password_file=str(outside))
    assert check_file(topology).topology is None
    monkeypatch.setenv(ALLOWED_DIRS_ENV, f"/nonexistent{os.pathsep}{tmp_path / 'etc-strata'}")
    checked = check_file(topology)
    assert checked.topology is not None, [d.render() for d in checked.diagnostics]


def test_a_relative_allowance_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOWED_DIRS_ENV, "secrets")
    topology = write_topology(tmp_path / "dc", password_file="pw")
    assert f"{ALLOWED_DIRS_ENV} holds 'secrets', not an absolute directory" in only_error(
        check_file(topology)
    )


# -- what a file may be ----------------------------------------------------------------


def test_dev_zero_is_refused_even_when_its_directory_is_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topology = write_topology(tmp_path / "dc", password_file="/dev/zero")
    assert "is outside the topology's directory" in only_error(check_file(topology))
    monkeypatch.setenv(ALLOWED_DIRS_ENV, "/dev")
    assert "'/dev/zero' is a character device, not a regular file" in only_error(
        check_file(topology)
    )


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    (tmp_path / "dc").mkdir()
    os.mkfifo(tmp_path / "dc" / "pw", 0o600)
    topology = write_topology(tmp_path / "dc", password_file="pw")
    assert "'pw' is a FIFO, not a regular file" in only_error(check_file(topology))


def test_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dc" / "pw").mkdir(parents=True)
    topology = write_topology(tmp_path / "dc", password_file="pw")
    assert "'pw' is a directory, not a regular file" in only_error(check_file(topology))


def test_an_oversize_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    (tmp_path / "dc").mkdir()
    big = tmp_path / "dc" / "extra.ign"
    with big.open("wb") as out:
        out.truncate(IGNITION_FRAGMENT.max_bytes + 1)  # sparse: nothing to read anyway
    topology = write_topology(tmp_path / "dc", fragment_file="extra.ign")
    rendered = only_error(check_file(topology))
    assert f"is {IGNITION_FRAGMENT.max_bytes + 1:,} bytes; the limit is" in rendered


def test_an_oversize_password_file_is_refused(tmp_path: Path) -> None:
    password_file(tmp_path / "dc", "x" * (CREDENTIALS.max_bytes + 1))
    topology = write_topology(tmp_path / "dc", password_file="bmc-password")
    assert f"the limit is {CREDENTIALS.max_bytes:,}" in only_error(check_file(topology))


# -- password files --------------------------------------------------------------------


def test_a_password_file_of_one_line_is_valid(tmp_path: Path) -> None:
    password_file(tmp_path / "dc")
    checked = check_file(write_topology(tmp_path / "dc", password_file="bmc-password"))
    assert checked.topology is not None and checked.diagnostics == ()


def test_a_two_line_password_file_is_refused_without_showing_it(tmp_path: Path) -> None:
    password_file(tmp_path / "dc", f"{SECRET}\nroot:x:0:0::/root:/bin/sh\n")
    topology = write_topology(tmp_path / "dc", password_file="bmc-password")
    rendered = only_error(check_file(topology))
    assert rendered.startswith(at_password(topology))
    assert "holds more than one line" in rendered
    assert SECRET not in rendered and "root:x" not in rendered


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o660])
def test_a_password_file_open_to_others_is_refused(tmp_path: Path, mode: int) -> None:
    password_file(tmp_path / "dc", mode=mode)
    topology = write_topology(tmp_path / "dc", password_file="bmc-password")
    rendered = only_error(check_file(topology))
    assert f"is open to group or others (mode {mode:04o})" in rendered
    assert "chmod 600" in rendered and SECRET not in rendered


def test_an_empty_password_file_is_refused(tmp_path: Path) -> None:
    password_file(tmp_path / "dc", "\n")
    topology = write_topology(tmp_path / "dc", password_file="bmc-password")
    assert "is empty" in only_error(check_file(topology))


def test_a_missing_password_file_is_read_when_used_as_an_environment_variable_is(
    tmp_path: Path,
) -> None:
    checked = check_file(write_topology(tmp_path / "dc", password_file="bmc-password"))
    assert checked.topology is not None and checked.diagnostics == ()


def test_a_password_file_this_user_cannot_open_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validate may run as another user than apply; root opens anything, so deny by hand."""
    locked = password_file(tmp_path / "dc")
    real_open = named_files.os.open

    def denying_open(path: os.PathLike[str] | str, flags: int, *args: int) -> int:
        if Path(path) == locked:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(named_files.os, "open", denying_open)
    checked = check_file(write_topology(tmp_path / "dc", password_file="bmc-password"))
    assert checked.topology is not None
    assert [d.severity for d in checked.diagnostics] == [Severity.WARNING]
    assert "cannot be opened: permission denied" in checked.diagnostics[0].message


# -- Ignition fragments ----------------------------------------------------------------


def test_a_fragment_that_is_not_ignition_is_located_in_both_files(tmp_path: Path) -> None:
    (tmp_path / "dc").mkdir()
    (tmp_path / "dc" / "extra.yaml").write_text(
        "storage:\n  files:\n    - path: /etc/motd\n      mode: rw-r--r--\n"
    )
    topology = write_topology(tmp_path / "dc", fragment_file="extra.yaml")
    checked = check_file(topology, fragment_check=fragment_problems)
    line, column = line_of(topology, "extra.yaml")
    rendered = only_error(checked)
    assert rendered.startswith(f"{topology}:{line}:{column - 1}: error: defaults.ignition[0].file")
    assert "extra.yaml:4:13: storage.files[0].mode: must be integer" in rendered
    assert "rw-r--r--" not in rendered


def test_a_json_fragment_with_an_unknown_key(tmp_path: Path) -> None:
    (tmp_path / "dc").mkdir()
    (tmp_path / "dc" / "extra.ign").write_text('{"systemd": {"units": [{"nme": "a.service"}]}}')
    topology = write_topology(tmp_path / "dc", fragment_file="extra.ign")
    checked = check_file(topology, fragment_check=fragment_problems)
    assert {d.message.split(": ", 1)[1] for d in checked.errors} == {
        "systemd.units[0].nme: unknown key 'nme' in Ignition",
        "systemd.units[0]: 'name' is a required property",
    }


def test_a_fragment_that_is_not_json_or_yaml(tmp_path: Path) -> None:
    (tmp_path / "dc").mkdir()
    (tmp_path / "dc" / "extra.ign").write_text('{"storage": ')
    topology = write_topology(tmp_path / "dc", fragment_file="extra.ign")
    assert "extra.ign:1:13: not JSON" in only_error(check_file(topology))


def test_an_inline_fragment_is_located_in_topology_yaml(tmp_path: Path) -> None:
    inline = "        passwd:\n          users:\n            - {name: core, groups: wheel}\n"
    topology = write_topology(tmp_path / "dc", inline_fragment=inline)
    rendered = only_error(check_file(topology, fragment_check=fragment_problems))
    line, column = line_of(topology, "wheel")
    assert rendered.startswith(
        f"{topology}:{line}:{column}: error: "
        "defaults.ignition[0].inline.passwd.users[0].groups: must be array"
    )


def test_a_valid_fragment_passes(tmp_path: Path) -> None:
    (tmp_path / "dc").mkdir()
    (tmp_path / "dc" / "extra.yaml").write_text(
        "ignition: {version: 3.4.0}\n"
        "storage:\n  files:\n    - {path: /etc/motd, mode: 420, contents: {source: 'data:,hi'}}\n"
        "systemd:\n  units:\n    - {name: hello.service, enabled: true, contents: '[Unit]'}\n"
    )
    topology = write_topology(tmp_path / "dc", fragment_file="extra.yaml")
    checked = check_file(topology, fragment_check=fragment_problems)
    assert checked.topology is not None and checked.diagnostics == ()


def test_an_alias_bomb_in_a_fragment_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dc").mkdir()
    (tmp_path / "dc" / "extra.yaml").write_text(laughs())
    topology = write_topology(tmp_path / "dc", fragment_file="extra.yaml")
    assert "expands to more than" in only_error(check_file(topology))


# -- CA bundles ------------------------------------------------------------------------


def test_a_ca_bundle_must_hold_certificates(tmp_path: Path) -> None:
    (tmp_path / "dc").mkdir()
    (tmp_path / "dc" / "ca.pem").write_text("not a certificate\n")
    topology = write_topology(tmp_path / "dc", ca_bundle="ca.pem")
    assert "CA bundle 'ca.pem' holds no PEM certificate" in only_error(check_file(topology))
    (tmp_path / "dc" / "ca.pem").write_bytes(certificate_pem())
    assert check_file(topology).topology is not None


def test_a_missing_ca_bundle_is_an_error(tmp_path: Path) -> None:
    topology = write_topology(tmp_path / "dc", ca_bundle="ca.pem")
    assert "CA bundle 'ca.pem' does not exist" in only_error(check_file(topology))
