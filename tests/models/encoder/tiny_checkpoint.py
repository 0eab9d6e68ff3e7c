"""A tiny, randomly initialised XLM-R checkpoint with a character vocabulary, written with transformers.

It is a real Hugging Face checkpoint (config, safetensors, fast tokenizer) that loads through the same code as
multilingual-e5-small, small enough to train a cascade on in a test; its embeddings carry no meaning beyond
which characters a text holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

SPECIAL = ["<s>", "<pad>", "</s>", "<unk>"]


def write_tiny_checkpoint(dest: Path, texts: Iterable[str], *, name: str = "tiny-xlmr", seed: int = 0) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaModel

    chars = sorted({ch for text in texts for ch in text if not ch.isspace()} | set("query:"))
    vocab = {tok: i for i, tok in enumerate(SPECIAL + chars)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>"
    )
    torch.manual_seed(seed)
    config = XLMRobertaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=130,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    dest.mkdir(parents=True, exist_ok=True)
    XLMRobertaModel(config, add_pooling_layer=False).save_pretrained(dest)
    tokenizer.model_max_length = 128
    tokenizer.save_pretrained(dest)
    (dest / "manifest.json").write_text(json.dumps({"name": name, "source_sha256": f"{seed:064d}"}), "utf-8")
    return dest
