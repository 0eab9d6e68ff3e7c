"""Write the tiny ONNX export the torch-free tests serve (tests/models/encoder/data/tiny-export/).

The tiny random checkpoint of :mod:`tests.models.encoder.tiny_checkpoint`, exported as training exports the
fine-tuned encoder (int8, per channel), with the torch fp32 embeddings of :data:`REFERENCE_TEXTS` beside it, so a
machine without torch checks that ONNX Runtime reproduces torch. Needs the ``ml`` extra:

    python -m tests.models.encoder.make_tiny_export
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

FOLDER = Path(__file__).parent / "data" / "tiny-export"
REFERENCE = "reference.json"
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
    from riskmine.models.encoder.onnx_export import export_encoder
    from tests.models.encoder.tiny_checkpoint import write_tiny_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = write_tiny_checkpoint(Path(tmp) / "tiny", REFERENCE_TEXTS, name="tiny-xlmr-export")
        encoder = load_checkpoint(checkpoint, threads=1, max_length=64)
        if FOLDER.exists():
            shutil.rmtree(FOLDER)
        report = export_encoder(encoder, FOLDER, REFERENCE_TEXTS)
        reference = {"texts": REFERENCE_TEXTS, "embeddings": encoder.embed(REFERENCE_TEXTS).round(6).tolist()}
    (FOLDER / REFERENCE).write_text(json.dumps(reference, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {FOLDER}: {report.summary()}")


if __name__ == "__main__":
    main()
