"""The dedup stage: exact and near-duplicate groups, remembered across batches and runs.

Exact duplicates share a content hash (normalize's, which ignores punctuation,
whitespace and case). Near duplicates are found with MinHash LSH (datasketch) over
character shingles of the compact text, and every candidate the index returns is
checked against the stored signatures (estimated Jaccard ≥ threshold), so LSH's
false positives do not merge unrelated texts. Texts shorter than `min_chars`
(compact) get exact dedup only: a handful of shingles says nothing.

The first document seen of a group gives the group its id. Later members get
``duplicate_group = first id`` and ``is_duplicate = True``; the first member gets its
own id and False. A document seen before (same id) gets the answer it got then.
Nothing is dropped: spread is counted later from the groups.

Persistence: the index is an append-only journal under ``<var_dir>/dedup/`` (one
checksummed frame of entries per batch: id, content hash, group, signature), replayed
into a fresh LSH index when a process starts. Appending keeps each batch's cost
independent of the index size, and replaying from raw signatures keeps the file
independent of datasketch's pickle format and lets the threshold change between runs.
Writers take an exclusive file lock and first read what other processes appended,
so concurrent processes share one consistent index. Changing num_perm, the shingle
size or the seed starts a separate journal (signatures are not comparable).

With a task queue on Redis (``RISKMINE_QUEUE_URL``), workers on several hosts share no var dir, so the same
frames go to a Redis list instead, appended under a Redis lock (:class:`RedisJournal`): every worker replays
what the others appended before it assigns groups, and two workers never both accept one of two near
duplicates. (datasketch's own Redis storage would share the LSH bands only, not the signatures, groups and
content hashes they are checked against, nor make a look-up and its insertion one step.)
"""

from __future__ import annotations

import io
import os
import struct
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, cast

import numpy as np

from riskmine.nlp.base import BatchFn, StageContext, stage
from riskmine.schema import Signal, stable_id
from riskmine.schema.errors import RiskmineError
from riskmine.text.normalize import compact, content_hash

JOURNAL_VERSION = 1
_MAGIC = b"RMDJ"
_FRAME_HEADER = struct.Struct("<4sII")  # magic, payload length, crc32 of payload
_STR_LEN = struct.Struct("<H")
# Golden-ratio style odd multipliers, one per shingle position.
_POSITION_KEYS = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD,
     0xC4CEB9FE1A85EC53, 0x27D4EB2F165667C5, 0x94D049BB133111EB],
    dtype=np.uint64,
)  # fmt: skip
_CHUNK = 1024  # shingles permuted at a time: _CHUNK × num_perm × 4 bytes, small enough to stay in cache
_EMPTY = np.iinfo(np.uint32).max  # signature value of an empty shingle set


class DedupError(RiskmineError, ValueError):
    code = "dedup_invalid"
    status = 500


# ---------------------------------------------------------------- signatures


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser, vectorised (wrapping arithmetic)."""
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)


class Signer:
    """MinHash signatures of character shingles, with datasketch's permutations.

    Shingles are hashed in bulk with numpy (a position-keyed sum of code points,
    then a 64-bit finaliser), and each permutation is datasketch's affine map
    ``a·h + b mod 2³²`` (scheme "affine32"); the result is the `hashvalues` of a
    datasketch MinHash and goes straight into a MinHashLSH.
    """

    def __init__(self, num_perm: int = 128, shingle: int = 3, seed: int = 1) -> None:
        from datasketch import MinHash

        if not 1 <= shingle <= len(_POSITION_KEYS):
            raise DedupError(f"shingle size must be between 1 and {len(_POSITION_KEYS)}, got {shingle}")
        if num_perm < 16:
            raise DedupError(f"num_perm must be at least 16, got {num_perm}")
        template = MinHash(num_perm=num_perm, seed=seed, scheme="affine32")
        a, b = template.permutations
        # as columns: permutations × shingles is the layout numpy broadcasts fastest
        self._a = np.asarray(a, dtype=np.uint32).reshape(-1, 1)
        self._b = np.asarray(b, dtype=np.uint32).reshape(-1, 1)
        self.num_perm = num_perm
        self.shingle = shingle
        self.seed = seed

    def _window_hashes(self, cps: np.ndarray) -> np.ndarray:
        """32-bit hash of every k-character window of the code points `cps` (uint64)."""
        k = self.shingle
        n = len(cps) - k + 1
        h = np.zeros(max(n, 0), dtype=np.uint64)
        for j in range(k):
            h += cps[j : j + n] * _POSITION_KEYS[j]
        return (_fmix64(h) >> np.uint64(32)).astype(np.uint32)

    def shingle_hashes(self, text: str) -> np.ndarray:
        """Distinct 32-bit hashes of the text's character shingles."""
        return np.unique(self._window_hashes(_code_points(text)))

    def signature(self, text: str) -> np.ndarray:
        """The num_perm minimum hash values of the text's shingles (uint32); all-max for a text shorter than k."""
        hashes = self._window_hashes(_code_points(text))
        sig = np.full(self.num_perm, _EMPTY, dtype=np.uint32)
        for start in range(0, len(hashes), _CHUNK):
            hv = hashes[start : start + _CHUNK].reshape(1, -1)
            np.minimum(sig, (self._a * hv + self._b).min(axis=1), out=sig)  # uint32 arithmetic wraps
        return sig

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        """Signatures of many texts at once (one row each); the same values as :meth:`signature`.

        Texts are signed together in groups of up to _CHUNK shingles, so numpy works on a few
        large arrays instead of many small ones; a text longer than that is signed alone.
        """
        out = np.full((len(texts), self.num_perm), _EMPTY, dtype=np.uint32)
        group: list[int] = []
        size = 0
        for i, text in enumerate(texts):
            n = len(text) - self.shingle + 1
            if n <= 0:
                continue
            if n > _CHUNK:
                out[i] = self.signature(text)
                continue
            if size + n > _CHUNK:
                self._sign_group(texts, group, out)
                group, size = [], 0
            group.append(i)
            size += n
        if group:
            self._sign_group(texts, group, out)
        return out

    def _sign_group(self, texts: Sequence[str], rows: list[int], out: np.ndarray) -> None:
        k = self.shingle
        cps = _code_points("".join(texts[i] for i in rows))
        lengths = np.array([len(texts[i]) for i in rows], dtype=np.int64)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        windows = lengths - k + 1  # every text here has at least one window
        # window positions that lie inside one text (none straddles two)
        inside = np.repeat(starts - np.concatenate(([0], np.cumsum(windows)[:-1])), windows) + np.arange(windows.sum())
        hashes = self._window_hashes(cps)[inside].reshape(1, -1)
        permuted = self._a * hashes + self._b  # (num_perm, shingles); uint32 arithmetic wraps
        seg = np.concatenate(([0], np.cumsum(windows)[:-1]))
        out[rows] = np.minimum.reduceat(permuted, seg, axis=1).T

    def minhash(self, signature: np.ndarray) -> Any:
        from datasketch import LeanMinHash

        return LeanMinHash(seed=self.seed, hashvalues=signature, scheme="affine32")


# ---------------------------------------------------------------- LSH bands


@lru_cache(maxsize=16)
def _band_shape(threshold: float, num_perm: int, weights: tuple[float, float]) -> tuple[int, int]:
    """datasketch MinHashLSH's bands and rows per band for these parameters (its checks and its optimum)."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=weights)
    return int(lsh.b), int(lsh.r)


class Bands:
    """datasketch's MinHashLSH banding over signatures, without its per-call overheads.

    The same bands as a ``MinHashLSH(threshold, num_perm, weights)``: ``b`` bands of ``r`` rows;
    a query returns every key that shares all the values of at least one band with the query
    signature, as MinHashLSH's does (``tests/nlp/test_dedup.py`` compares the two). A bucket
    holds a key alone until a second one joins it, and a key's band values are not stored:
    :meth:`remove` is given the signature the key was inserted with.
    """

    def __init__(self, threshold: float, num_perm: int, weights: tuple[float, float]) -> None:
        self.b, self.r = _band_shape(threshold, num_perm, weights)
        self._cuts = [(i * self.r * 4, (i + 1) * self.r * 4) for i in range(self.b)]  # byte ranges of uint32 values
        self._tables: list[dict[bytes, int | set[int]]] = [{} for _ in range(self.b)]

    def _keys(self, sig: np.ndarray) -> list[bytes]:
        raw = np.ascontiguousarray(sig, dtype=np.uint32).tobytes()
        return [raw[lo:hi] for lo, hi in self._cuts]

    def bands(self, sig: np.ndarray) -> list[bytes]:
        """The band values of `sig`, for :meth:`query` and :meth:`insert` (computed once for both)."""
        return self._keys(sig)

    def insert(self, key: int, sig: np.ndarray, bands: list[bytes] | None = None) -> None:
        for band, table in zip(bands or self._keys(sig), self._tables, strict=True):
            held = table.get(band)
            if held is None:
                table[band] = key
            elif isinstance(held, set):
                held.add(key)
            else:
                table[band] = {held, key}

    def remove(self, key: int, sig: np.ndarray) -> None:
        for band, table in zip(self._keys(sig), self._tables, strict=True):
            held = table.get(band)
            if held == key:
                del table[band]
            elif isinstance(held, set):
                held.discard(key)
                if len(held) == 1:
                    table[band] = next(iter(held))

    def query(self, sig: np.ndarray, bands: list[bytes] | None = None) -> set[int]:
        found: set[int] = set()
        for band, table in zip(bands or self._keys(sig), self._tables, strict=True):
            held = table.get(band)
            if held is None:
                continue
            if isinstance(held, set):
                found.update(held)
            else:
                found.add(held)
        return found


# ---------------------------------------------------------------- journal frames


@dataclass(frozen=True)
class Entry:
    doc_id: str
    content_hash: str
    group: str
    signature: bytes | None  # num_perm uint32 values, little-endian; None: exact dedup only


def _put_str(out: list[bytes], s: str) -> None:
    raw = s.encode("utf-8", "surrogatepass")
    if len(raw) > 0xFFFF:
        raise DedupError(f"identifier too long for the dedup journal ({len(raw)} bytes): {s[:60]!r}...")
    out.append(_STR_LEN.pack(len(raw)))
    out.append(raw)


def encode_frame(entries: Sequence[Entry], sig_bytes: int) -> bytes:
    parts: list[bytes] = []
    for e in entries:
        _put_str(parts, e.doc_id)
        _put_str(parts, e.content_hash)
        _put_str(parts, e.group)
        if e.signature is None:
            parts.append(b"\x00")
        else:
            if len(e.signature) != sig_bytes:
                raise DedupError(f"signature of {e.doc_id!r} has {len(e.signature)} bytes, expected {sig_bytes}")
            parts.append(b"\x01")
            parts.append(e.signature)
    payload = b"".join(parts)
    return _FRAME_HEADER.pack(_MAGIC, len(payload), zlib.crc32(payload)) + payload


def decode_payload(payload: bytes, sig_bytes: int) -> list[Entry]:
    entries: list[Entry] = []
    view = memoryview(payload)
    pos = 0

    def get_str() -> str:
        nonlocal pos
        (n,) = _STR_LEN.unpack_from(view, pos)
        pos += _STR_LEN.size
        s = bytes(view[pos : pos + n]).decode("utf-8", "surrogatepass")
        pos += n
        return s

    while pos < len(view):
        doc_id, chash, group = get_str(), get_str(), get_str()
        flag = view[pos]
        pos += 1
        sig = None
        if flag:
            sig = bytes(view[pos : pos + sig_bytes])
            pos += sig_bytes
        entries.append(Entry(doc_id, chash, group, sig))
    return entries


def read_frames(f: IO[bytes], sig_bytes: int) -> Iterator[tuple[int, list[Entry]]]:
    """(offset after the frame, entries) for each whole, intact frame from the current position.

    Stops at the first torn or corrupt frame (a writer killed mid-append); the caller
    truncates the file there when it next writes.
    """
    while True:
        header = f.read(_FRAME_HEADER.size)
        if len(header) < _FRAME_HEADER.size:
            return
        magic, length, crc = _FRAME_HEADER.unpack(header)
        if magic != _MAGIC:
            return
        payload = f.read(length)
        if len(payload) < length or zlib.crc32(payload) != crc:
            return
        try:
            entries = decode_payload(payload, sig_bytes)
        except (struct.error, UnicodeDecodeError, IndexError):
            return
        yield f.tell(), entries


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes, held on a separate lock file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as lock:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            import msvcrt

            lock.seek(0)
            msvcrt.locking(lock.fileno(), msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]
            try:
                yield
            finally:
                lock.seek(0)
                msvcrt.locking(lock.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
            return
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


class RedisJournal:
    """The journal's frames as a Redis list, appended under a Redis lock, for processes on several hosts."""

    LOCK_SECONDS = 60.0  # a holder that dies releases the lock this late; assigning a batch takes far less

    def __init__(self, url: str, name: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.key = f"riskmine:{name}:frames"
        self.lock_key = f"riskmine:{name}:lock"

    @contextmanager
    def locked(self) -> Iterator[None]:
        with self.client.lock(self.lock_key, timeout=self.LOCK_SECONDS, blocking_timeout=10 * self.LOCK_SECONDS):
            yield

    def length(self) -> int:
        return int(self.client.llen(self.key))

    def frames(self, start: int) -> list[bytes]:
        return cast("list[bytes]", self.client.lrange(self.key, start, -1))  # raw bytes: no decode_responses

    def append(self, frame: bytes) -> int:
        """Append one frame; the number of frames now."""
        return int(self.client.rpush(self.key, frame))


# ---------------------------------------------------------------- the index


@dataclass(frozen=True)
class Assignment:
    group: str
    is_duplicate: bool
    near: bool = False  # matched by MinHash rather than by content hash or id


class DedupIndex:
    """Exact + near-duplicate memory for one process, optionally persisted to a journal in `directory`."""

    def __init__(
        self,
        *,
        threshold: float = 0.8,
        num_perm: int = 128,
        shingle: int = 3,
        min_chars: int = 20,
        seed: int = 1,
        recall_weight: float = 0.9,
        max_signatures: int | None = None,
        directory: Path | None = None,
        redis_url: str | None = None,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise DedupError(f"threshold must lie in (0, 1], got {threshold}")
        if not 0.0 < recall_weight < 1.0:
            raise DedupError(f"recall_weight must lie in (0, 1), got {recall_weight}")
        if min_chars < shingle:
            raise DedupError(f"min_chars ({min_chars}) must be at least the shingle size ({shingle})")
        if max_signatures is not None and max_signatures < 1:
            raise DedupError(f"max_signatures must be at least 1 (or None for no bound), got {max_signatures}")
        # Near-duplicate memory is bounded by keeping the newest `max_signatures` signatures
        # (a ring: the oldest is dropped from the LSH index when a new one arrives); exact
        # duplicates (content hashes) and the members' groups are remembered for ever.
        self.max_signatures = max_signatures
        self._inserted = 0  # signatures ever added; the LSH key of the next one
        self.signer = Signer(num_perm, shingle, seed)
        self.threshold = threshold
        self.min_chars = min_chars
        self.recall_weight = recall_weight
        self._lsh = self._new_lsh()
        self._members: dict[str, str] = {}  # doc id -> group id
        self._exact: dict[str, str] = {}  # content hash -> group id
        self._row_group: list[str] = []  # slot (LSH key modulo max_signatures) -> group id
        self._sigs = np.empty((0, num_perm), dtype=np.uint32)
        self._lock = threading.Lock()
        self._sig_bytes = num_perm * 4
        self.directory = directory
        self.journal: Path | None = None
        self._lock_file: Path | None = None
        self._offset = 0  # bytes of the file journal read, or frames of the Redis one
        name = f"dedup-v{JOURNAL_VERSION}-k{shingle}-p{num_perm}-s{seed}"
        # the journal in Redis (shared between hosts) when a URL is given, else in `directory`, if any
        self._remote = RedisJournal(redis_url, name) if redis_url else None
        if directory is not None and self._remote is None:
            self.journal = directory / f"{name}.journal"
            self._lock_file = directory / f"{name}.lock"

    def __len__(self) -> int:
        return len(self._members)

    @property
    def indexed(self) -> int:
        """How many near-dedup signatures the LSH index holds now."""
        return len(self._row_group)

    @property
    def evicted(self) -> int:
        """How many of the oldest signatures were dropped to keep within max_signatures."""
        return self._inserted - len(self._row_group)

    # -- state

    def _slot(self, key: int) -> int:
        return key % self.max_signatures if self.max_signatures else key

    def _add_signature(self, sig: np.ndarray, group: str, bands: list[bytes] | None = None) -> None:
        key = self._inserted
        slot = self._slot(key)
        if slot < len(self._row_group):  # the ring is full: the oldest signature makes room
            self._lsh.remove(key - len(self._row_group), self._sigs[slot])
            self._row_group[slot] = group
        else:
            if slot >= len(self._sigs):
                size = max(1024, 2 * len(self._sigs))
                if self.max_signatures:
                    size = min(size, self.max_signatures)
                grown = np.empty((size, self.signer.num_perm), dtype=np.uint32)
                grown[:slot] = self._sigs[:slot]
                self._sigs = grown
            self._row_group.append(group)
        self._sigs[slot] = sig
        self._inserted += 1
        self._lsh.insert(key, sig, bands)

    def _apply(self, entry: Entry) -> None:
        if entry.doc_id in self._members:
            return
        self._members[entry.doc_id] = entry.group
        self._exact.setdefault(entry.content_hash, entry.group)
        if entry.signature is not None:
            sig = np.frombuffer(entry.signature, dtype="<u4").astype(np.uint32)
            self._add_signature(sig, entry.group)

    def _near_group(self, sig: np.ndarray, bands: list[bytes] | None = None) -> str | None:
        rows = self._lsh.query(sig, bands)
        if not rows:
            return None
        keys = np.fromiter(rows, dtype=np.int64, count=len(rows))
        slots = keys % self.max_signatures if self.max_signatures else keys
        sims = (self._sigs[slots] == sig).mean(axis=1)
        ok = sims >= self.threshold
        if not ok.any():
            return None
        # Most similar first; among equals, the earliest indexed.
        candidates = sorted(zip(-sims[ok], keys[ok].tolist(), strict=True))
        return self._row_group[self._slot(candidates[0][1])]

    def _assign_one(self, doc_id: str, chash: str, sig: np.ndarray | None) -> tuple[Assignment, Entry | None]:
        group = self._members.get(doc_id)
        if group is not None:
            return Assignment(group, group != doc_id), None
        group = self._exact.get(chash)
        near = False
        bands = None
        if group is not None:
            sig = None  # an exact duplicate adds nothing to the near-duplicate index
        elif sig is not None:
            bands = self._lsh.bands(sig)  # looked up, then inserted under
            group = self._near_group(sig, bands)
            near = group is not None
        if group is None:
            group = doc_id
        entry = Entry(doc_id, chash, group, None if sig is None else sig.astype("<u4").tobytes())
        self._members[doc_id] = group
        self._exact.setdefault(chash, group)
        if sig is not None:
            self._add_signature(sig, group, bands)
        return Assignment(group, group != doc_id, near), entry

    def _sign(
        self, items: Sequence[tuple[str, str, str]], compacted: Sequence[str] | None = None
    ) -> dict[int, np.ndarray]:
        """Signatures, by position, of every text that may need one: unknown id and hash, long enough.

        compacted: ``compact(text)`` of each item, where the caller has it already."""
        keys = {}
        for i, (doc_id, chash, text) in enumerate(items):
            if doc_id not in self._members and chash not in self._exact:
                key = compact(text) if compacted is None else compacted[i]
                if len(key) >= self.min_chars:
                    keys[i] = key
        return dict(zip(keys, self.signer.signatures(list(keys.values())), strict=True)) if keys else {}

    def _assign_batch(
        self,
        items: Sequence[tuple[str, str, str]],
        signed: dict[int, np.ndarray] | None = None,
        compacted: Sequence[str] | None = None,
    ) -> tuple[list[Assignment], list[Entry]]:
        # Sign, in one go, every text that may need it and was not signed before (``signed``).
        rows = dict(signed or {})
        unsigned = [i for i in range(len(items)) if i not in rows]
        rest = None if compacted is None else [compacted[i] for i in unsigned]
        rows.update((unsigned[j], sig) for j, sig in self._sign([items[i] for i in unsigned], rest).items())
        results: list[Assignment] = []
        entries: list[Entry] = []
        for i, (doc_id, chash, _) in enumerate(items):
            assignment, entry = self._assign_one(doc_id, chash, rows.get(i))
            results.append(assignment)
            if entry is not None:
                entries.append(entry)
        return results, entries

    # -- journal

    def _new_lsh(self) -> Bands:
        """MinHashLSH's bands, chosen to favour recall: their false positives are weeded out by the signature check."""
        w = self.recall_weight
        return Bands(self.threshold, self.signer.num_perm, (round(1 - w, 6), w))

    def _reset(self) -> None:
        self._lsh = self._new_lsh()
        self._members.clear()
        self._exact.clear()
        self._row_group.clear()
        self._inserted = 0
        self._offset = 0

    def _catch_up_remote(self, remote: RedisJournal) -> None:
        if remote.length() < self._offset:  # the list was removed: start again from what is there
            self._reset()
        for frame in remote.frames(self._offset):
            for _, entries in read_frames(io.BytesIO(frame), self._sig_bytes):
                for entry in entries:
                    self._apply(entry)
            self._offset += 1

    @contextmanager
    def _journal_locked(self) -> Iterator[bool]:
        """Under the journal's lock (Redis's or the file's), with what other processes appended read;
        yields False for an in-memory index (no lock, nothing to read)."""
        if self._remote is not None:
            with self._remote.locked():
                self._catch_up_remote(self._remote)
                yield True
        elif self._lock_file is not None:
            with _file_lock(self._lock_file):
                self._catch_up()
                yield True
        else:
            yield False

    def _catch_up(self) -> None:
        assert self.journal is not None
        size = self.journal.stat().st_size if self.journal.exists() else 0
        if size < self._offset:  # the journal was removed or replaced: start again from what is there
            self._reset()
        if size == 0:
            return
        with self.journal.open("rb") as f:
            f.seek(self._offset)
            for offset, entries in read_frames(f, self._sig_bytes):
                for entry in entries:
                    self._apply(entry)
                self._offset = offset

    def _append(self, entries: Sequence[Entry]) -> None:
        if not entries:
            return
        frame = encode_frame(entries, self._sig_bytes)
        if self._remote is not None:
            self._offset = self._remote.append(frame)
            return
        assert self.journal is not None
        with self.journal.open("r+b" if self.journal.exists() else "w+b") as f:
            f.truncate(self._offset)  # drop a torn frame left by a killed writer
            f.seek(self._offset)
            f.write(frame)
            f.flush()
            os.fsync(f.fileno())
            self._offset = f.tell()

    def load(self) -> None:
        """Read the journal (under the lock); a no-op for an in-memory index."""
        with self._lock, self._journal_locked():
            pass

    def assign(self, items: Sequence[tuple[str, str, str]], compacted: Sequence[str] | None = None) -> list[Assignment]:
        """Groups for (doc id, content hash, text) triples, in order; remembers them (and persists).

        compacted: ``compact(text)`` of each item, where the caller has it already (else it is computed)."""
        with self._lock:
            # Before the journal's lock, which other processes wait for: what they appended so far is read and
            # the texts are signed (signatures do not depend on the index); under it only the rest is done.
            if self._remote is not None:
                self._catch_up_remote(self._remote)
            signed = self._sign(items, compacted)
            with self._journal_locked() as persisted:
                results, entries = self._assign_batch(items, signed, compacted)
                if persisted:
                    self._append(entries)
            return results


# One persisted index per journal and parameters in a process, shared by every stage built on it.
_SHARED: dict[tuple[Any, ...], DedupIndex] = {}
_SHARED_LOCK = threading.Lock()


def shared_index(directory: Path, redis_url: str | None = None, **params: Any) -> DedupIndex:
    """The process's persisted index: in ``directory``, or in the Redis at ``redis_url`` (shared between hosts)."""
    key = (redis_url or str(Path(directory).resolve()), tuple(sorted(params.items())))
    with _SHARED_LOCK:
        index = _SHARED.get(key)
        if index is None:
            index = DedupIndex(directory=directory, redis_url=redis_url, **params)
            index.load()
            _SHARED[key] = index
        return index


@stage("dedup", reads=("normalized_text", "content_hash", "document"), writes=("duplicate_group", "is_duplicate"))
def make_dedup(
    ctx: StageContext,
    *,
    threshold: float = 0.8,
    num_perm: int = 128,
    shingle: int = 3,
    min_chars: int = 20,
    seed: int = 1,
    recall_weight: float = 0.9,
    max_signatures: int | None = 2_000_000,
    scope_short: bool = True,
    persist: bool = True,
    directory: str | None = None,
) -> BatchFn:
    """Group exact (content hash) and near duplicates (MinHash LSH on character shingles).

    threshold: estimated Jaccard similarity of shingle sets above which two texts are near
    duplicates. min_chars: shorter texts (letters and digits) get exact dedup only.
    scope_short: such short texts are exact duplicates only within one source and product
    (two users writing "漏电了" about two products are two reports, not one).
    recall_weight: LSH banding weight on missed pairs versus candidates to check (0-1).
    max_signatures: near duplicates are looked for among the newest this many signed texts
    (memory stays bounded; exact duplicates are found for ever); 0 or none for no bound.
    persist: keep the index in <var_dir>/dedup (or `directory`) across runs and processes; with a task
    queue on Redis (RISKMINE_QUEUE_URL) and no `directory`, in that Redis, shared by the workers of every host.
    """
    params: dict[str, Any] = {
        "threshold": threshold,
        "num_perm": num_perm,
        "shingle": shingle,
        "min_chars": min_chars,
        "seed": seed,
        "recall_weight": recall_weight,
        "max_signatures": max_signatures or None,
    }
    if persist:
        folder = Path(directory) if directory else ctx.settings.var_dir / "dedup"
        shared = None if directory else ctx.settings.queue_url
        index = shared_index(folder, shared, **params)
    else:
        index = DedupIndex(**params)

    def run(batch: list[Signal]) -> list[Signal]:
        items = []
        compacted = []
        for sig in batch:
            text = sig.normalized_text or sig.document.text
            key = sig.content_hash or content_hash(text)
            compacted.append(compact(text))
            if scope_short and len(compacted[-1]) < min_chars:
                doc = sig.document
                key = stable_id(key, doc.source, doc.product or doc.shop or doc.brand or "", prefix="s:")
            items.append((sig.id, key, text))
        for sig, assignment in zip(batch, index.assign(items, compacted), strict=True):
            sig.duplicate_group = assignment.group
            sig.is_duplicate = assignment.is_duplicate
        return batch

    return run
