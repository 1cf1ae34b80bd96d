"""The training FLOP count behind bench/train_speed's rate against the matrix-product peak."""

from types import SimpleNamespace

from bench.common import (attention_flops_per_token, forward_flops_per_token, lora_flops_per_token,
                          training_flops)

MINILM = SimpleNamespace(hidden_size=384, intermediate_size=1536, num_hidden_layers=6)


def test_attention_backward_counts_both_gradient_products():
    # A frozen linear layer's backward is one product; scores = Q K^T and P V need two each.
    length = 256
    forward = forward_flops_per_token(MINILM, length)
    expected = (2 * forward + attention_flops_per_token(MINILM, length)) * length
    assert training_flops(MINILM, [length]) == expected


def test_cached_frozen_layers_cost_nothing_and_uncached_ones_only_their_forward():
    length, first = 128, 2
    upper = (2 * forward_flops_per_token(MINILM, length, 4)
             + attention_flops_per_token(MINILM, length, 4)) * length
    assert training_flops(MINILM, [length], first, cached=True) == upper
    lower = forward_flops_per_token(MINILM, length, 2) * length
    assert training_flops(MINILM, [length], first) == upper + lower


def test_lora_products_count_forward_and_both_factors_gradients(tiny_model_dir):
    from lorasent_tui.core import models
    from lorasent_tui.core.config import build_config

    cfg = build_config({"model": str(tiny_model_dir("bert")), "lora_r": 4,
                        "target_modules": ["query", "ffn_in"]})
    base, head = models.load_classifier(cfg.model, cfg.seed)
    model = models.build_lora_model(base, cfg, head)
    config = base.config
    d, ff, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    per_token = lora_flops_per_token(model)
    assert per_token == layers * 2 * 4 * ((d + d) + (d + ff))
    length = 16
    assert (training_flops(base.config, [length], lora_per_token=per_token)
            - training_flops(base.config, [length])) == 3 * per_token * length
