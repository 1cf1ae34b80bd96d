"""Tiny BERT-family models built from a config and saved to a folder, loaded like hub models.

The tokenizer reuses the bundled MiniLM's WordPiece vocabulary, so no download is needed.
"""

from __future__ import annotations

from pathlib import Path

ARCHITECTURES = ("distilbert", "albert", "bert")


def make_tiny_model(arch: str, folder: Path) -> Path:
    import torch
    from transformers import (AlbertConfig, AlbertModel, BertConfig, BertModel, BertTokenizerFast,
                              DistilBertConfig, DistilBertModel)

    from lorasent_tui.core.models import bundled_model_path

    torch.manual_seed(0)
    vocab = Path(bundled_model_path()) / "vocab.txt"
    tokenizer = BertTokenizerFast(vocab=str(vocab), do_lower_case=True)
    size = tokenizer.vocab_size
    if arch == "distilbert":
        model = DistilBertModel(DistilBertConfig(vocab_size=size, dim=32, n_layers=2, n_heads=2,
                                                 hidden_dim=64, max_position_embeddings=128))
    elif arch == "albert":
        model = AlbertModel(AlbertConfig(vocab_size=size, embedding_size=16, hidden_size=32,
                                         num_hidden_layers=2, num_attention_heads=2,
                                         intermediate_size=64, max_position_embeddings=128))
    elif arch == "bert":
        model = BertModel(BertConfig(vocab_size=size, hidden_size=32, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=64,
                                     max_position_embeddings=128))
    else:
        raise ValueError(arch)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder
