"""The work journal: ids recorded durably as stored, entries of dead processes found as orphans."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from riskmine.store.journal import WorkJournal


def test_ids_are_recorded_in_order_once_and_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    entry = WorkJournal(tmp_path / "journal").begin()
    entry.add(["d1", "d2"])
    entry.add([])
    entry.add(["d2", "d3"])
    assert entry.ids() == ["d1", "d2", "d3"]
    with entry.path.open("a", encoding="utf-8") as fh:
        fh.write("d4")  # the process died while writing this line
    assert entry.ids() == ["d1", "d2", "d3"]
    entry.close()
    assert not entry.exists() and entry.ids() == []


def test_an_entry_of_a_live_process_is_not_an_orphan(tmp_path: Path) -> None:
    journal = WorkJournal(tmp_path / "journal")
    mine = journal.begin()
    mine.add(["d1"])
    assert journal.orphans() == []
    named = journal.named("batch-b123")
    named.add(["d2"])
    assert journal.orphans() == []  # named entries are resumed by their owner, never adopted


def test_the_entry_of_a_dead_process_is_an_orphan(tmp_path: Path) -> None:
    directory = tmp_path / "journal"
    script = (
        "import sys\n"
        "from riskmine.store.journal import WorkJournal\n"
        "WorkJournal(sys.argv[1]).begin().add(['x1', 'x2'])\n"
    )
    subprocess.run([sys.executable, "-c", script, str(directory)], check=True)
    journal = WorkJournal(directory)
    orphans = journal.orphans()
    assert [o.ids() for o in orphans] == [["x1", "x2"]]
    live = journal.begin()
    live.add(["y"])
    assert [o.path for o in journal.orphans(exclude=[live])] == [orphans[0].path]


def test_an_entry_with_this_pid_that_this_process_did_not_begin_is_an_orphan(tmp_path: Path) -> None:
    # a restarted container's server often has the pid its killed predecessor had
    directory = tmp_path / "journal"
    directory.mkdir()
    left = directory / f"{socket.gethostname()}-{os.getpid()}-1.ids"
    left.write_text("z1\n", encoding="utf-8")
    assert [o.ids() for o in WorkJournal(directory).orphans()] == [["z1"]]


@pytest.mark.parametrize("name", ["", "../x", ".hidden", "a/b"])
def test_a_named_entry_needs_a_plain_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="invalid journal entry name"):
        WorkJournal(tmp_path).named(name)
