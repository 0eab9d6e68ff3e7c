"""A write-ahead journal of the documents a submission stored and has not yet finished processing.

Processing a submission is several steps (documents stored, signals stored batch by batch, candidates
refreshed, the graph updated); a process killed between them leaves work half done that nothing in the
store records. So every submission that is to be processed writes the ids it stores to a journal entry
(one file under ``<var_dir>/journal/``) as it goes, and removes the entry only when candidates and graph
are up to date. An entry left behind is *adopted* by the next submission (or the API's recovery at
start-up): its documents still without a signal are processed and the candidate groups and graph of all
its documents refreshed, so a rerun after any interruption gives the uninterrupted result.

Entries are named for their owner: ``<host>-<pid>-<n>.ids`` for a process's submissions (adopted once
that process is gone), ``batch-<id>.ids`` for a station batch (adopted when the batch is resumed, see
:mod:`riskmine.station_intake`). Appends are line-buffered and fsync'd: an id in the file was stored.
"""

from __future__ import annotations

import itertools
import os
import socket
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["JournalEntry", "WorkJournal", "work_journal"]

_SUFFIX = ".ids"
_counter = itertools.count(1)
# The entries this process began: an entry with our pid that is not among them was left by an earlier
# process that had the same pid (a restarted container's process often does).
_begun: set[Path] = set()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class JournalEntry:
    """One submission's list of stored document ids (a file), appended to as documents are stored."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(_SUFFIX)

    def add(self, ids: Iterable[str]) -> None:
        """Record ids as stored (durably, before the caller goes on)."""
        lines = "".join(f"{i}\n" for i in ids)
        if not lines:
            return
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(lines)
            fh.flush()
            os.fsync(fh.fileno())

    def ids(self) -> list[str]:
        """The ids recorded, in order, each once (a torn last line is ignored)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        lines = text.split("\n")
        complete = lines[:-1]  # the part after the last newline was not finished
        return list(dict.fromkeys(line for line in complete if line))

    def exists(self) -> bool:
        return self.path.exists()

    def close(self) -> None:
        """The work is done: forget the entry."""
        self.path.unlink(missing_ok=True)
        _begun.discard(self.path)


class WorkJournal:
    """The journal directory (``<var_dir>/journal``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory).absolute()

    def _entry(self, name: str) -> JournalEntry:
        self.directory.mkdir(parents=True, exist_ok=True)
        return JournalEntry(self.directory / f"{name}{_SUFFIX}")

    def begin(self) -> JournalEntry:
        """A new entry owned by this process."""
        entry = self._entry(f"{socket.gethostname()}-{os.getpid()}-{next(_counter)}")
        _begun.add(entry.path)
        return entry

    def named(self, name: str) -> JournalEntry:
        """The entry of a named piece of work (a station batch), created on its first :meth:`JournalEntry.add`."""
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"invalid journal entry name {name!r}")
        return self._entry(name)

    def orphans(self, *, exclude: Sequence[JournalEntry] = ()) -> list[JournalEntry]:
        """Entries whose owning process on this host is gone (named entries are not orphans: their owner
        resumes them)."""
        if not self.directory.is_dir():
            return []
        host = socket.gethostname()
        skip = {e.path for e in exclude}
        found: list[JournalEntry] = []
        for path in sorted(self.directory.glob(f"*{_SUFFIX}")):
            if path in skip:
                continue
            owner, _, rest = path.name.removesuffix(_SUFFIX).rpartition("-")
            entry_host, _, pid = owner.rpartition("-")
            if not rest.isdigit() or not pid.isdigit() or entry_host != host:
                continue
            gone = path not in _begun if int(pid) == os.getpid() else not _alive(int(pid))
            if gone:
                found.append(JournalEntry(path))
        return found


def work_journal(var_dir: Path) -> WorkJournal:
    """The journal of a var dir (``<var_dir>/journal``)."""
    return WorkJournal(Path(var_dir) / "journal")
