"""Which Strata a move works with: the same major.minor (``versions.compatible``); a
journal another one wrote is refused with the reason, before anything is done."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from strata import __version__
from strata.pivot import End, Options, Pivot
from strata.pivot.journal import Journal, JournalVersion
from strata.pivot.versions import compatible
from strata.store import RecordWrite, SQLiteStore


def test_compatible_is_the_same_major_minor() -> None:
    assert compatible("0.1.9", "0.1.0") and compatible("1.4.0rc1", "1.4.2")
    assert not compatible("0.2.0", "0.1.0") and not compatible("1.1.0", "0.1.0")
    assert not compatible("", "0.1.0") and not compatible("dev", "0.1.0")


def test_a_journal_of_another_strata_is_refused_with_the_reason(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    store = SQLiteStore(a)
    store.write_records([RecordWrite("n0", 0, "provisioned", plan={}, event=("s", {}))])
    journal = Journal.new(End.sqlite(a, "lab"), End.sqlite(b, "lab"))
    assert journal.strata == __version__  # a journal says which Strata began the move
    value = json.loads(journal.to_text()) | {"strata": "0.99.0"}
    assert store.set_note("pivot", json.dumps(value), None)
    lines: list[str] = []
    with pytest.raises(JournalVersion, match=r"written by Strata 0\.99\.0, this is Strata"):
        Pivot(End.sqlite(a, "lab"), End.sqlite(b, "lab"), Options(say=lines.append)).run()
    assert store.writer() is None and not b.exists() and not lines  # nothing done
    value |= {"strata": __version__, "fields_of_tomorrow": 1}
    with pytest.raises(JournalVersion, match="does not know"):
        Journal.from_text(json.dumps(value))
    del value["strata"], value["fields_of_tomorrow"]  # written before journals said it
    assert Journal.from_text(json.dumps(value)).move == journal.move
