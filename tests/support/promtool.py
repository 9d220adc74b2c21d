"""``promtool check metrics`` (Debian's ``prometheus``): Prometheus' own reading of an
exposition. Absent, the calling test is skipped saying so, and fails under ``CI=true``
(``./dev test`` installs it)."""

from __future__ import annotations

import shutil
import subprocess

from tests.support.shared import absent


def promtool_check(exposition: bytes) -> str:
    """What ``promtool check metrics`` says of ``exposition`` (its stdout and stderr);
    the calling test fails when promtool rejects it."""
    promtool = shutil.which("promtool")
    if promtool is None:
        absent("promtool is missing (apt-get install prometheus)", "./dev test installs it")
    done = subprocess.run(
        [promtool, "check", "metrics"], input=exposition, capture_output=True, timeout=60
    )
    said = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode == 0, said
    return said
