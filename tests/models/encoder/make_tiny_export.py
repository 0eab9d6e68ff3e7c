"""Write the tiny ONNX export the torch-free tests serve (tests/models/encoder/data/tiny-export/).

The tiny random checkpoint of :mod:`tests.models.encoder.tiny_checkpoint`, exported as training exports the
fine-tuned encoder (fused, int8, per channel), with the torch fp32 embeddings of :data:`REFERENCE_TEXTS` beside it, so a
machine without torch checks that ONNX Runtime reproduces torch; and into ``data/tiny-fusion/`` its fp32 graph
before and after the transformer fusions. Needs the ``ml`` extra:

    python -m tests.models.encoder.make_tiny_export
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

FOLDER = Path(__file__).parent / "data" / "tiny-export"
REFERENCE = "reference.json"
# the same checkpoint in fp32, as traced (unfused) and after the transformer fusions: torch-free tests compare them
FUSION = Path(__file__).parent / "data" / "tiny-fusion"
UNFUSED, FUSED = "unfused.onnx", "fused.onnx"
REFERENCE_TEXTS = [
    "插线板冒烟起火，插头都烧焦了",
    "物流很快，包装完好",
    "儿童玩具的小零件容易脱落，孩子差点吞下去",
    "电热水壶底座漏电，手一碰就麻",
    "好",
    "充电宝充电时外壳发烫鼓包，" * 20,  # longer than the tokenizer's limit: truncated as in torch
]


def main() -> None:
    from riskmine.models.encoder.load import load_checkpoint
    from riskmine.models.encoder.onnx_export import _export_fp32, export_encoder, fuse
    from tests.models.encoder.tiny_checkpoint import write_tiny_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = write_tiny_checkpoint(Path(tmp) / "tiny", REFERENCE_TEXTS, name="tiny-xlmr-export")
        encoder = load_checkpoint(checkpoint, threads=1, max_length=64)
        if FOLDER.exists():
            shutil.rmtree(FOLDER)
        report = export_encoder(encoder, FOLDER, REFERENCE_TEXTS, fused=True)
        reference = {"texts": REFERENCE_TEXTS, "embeddings": encoder.embed(REFERENCE_TEXTS).round(6).tolist()}
        FUSION.mkdir(parents=True, exist_ok=True)
        _export_fp32(encoder, FUSION / UNFUSED)
        config = encoder.model.config
        fuse(FUSION / UNFUSED, FUSION / FUSED, config.num_attention_heads, config.hidden_size)
    (FOLDER / REFERENCE).write_text(json.dumps(reference, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {FOLDER}: {report.summary()}")


if __name__ == "__main__":
    main()
