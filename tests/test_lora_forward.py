"""Training-time LoRA layers: the update added inside the product (core/lora_forward.py) and the
frozen base weights held in bf16 for bf16 steps (core/precision.py)."""

import pytest

from lorasent_tui.core.config import build_config
from tests.tiny_models import ARCHITECTURES


def _lora_model(folder, **settings):
    import torch

    from lorasent_tui.core import models

    cfg = build_config({"model": str(folder), "preset": "fast", "precision": "fp32", **settings})
    base, head = models.load_classifier(cfg.model, cfg.seed)
    model = models.build_lora_model(base, cfg, head)
    torch.manual_seed(1)
    for name, param in model.named_parameters():
        if "lora_B" in name:  # peft starts B at zero, which would hide a missing update
            param.data.normal_(0, 0.2)
    return model


def _batch(folder):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    return tokenizer(["a short one", "a much longer review that needs the padding mask of the other"],
                     padding=True, return_tensors="pt")


def _logits_and_grads(model, batch):
    model.zero_grad(set_to_none=True)
    logits = model(**batch).logits
    logits.float().square().sum().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    return logits.detach(), grads


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_fused_layers_compute_peft_s_logits_and_gradients(arch, tiny_model_dir):
    import torch

    from lorasent_tui.core.lora_forward import fused_lora_forward

    folder = tiny_model_dir(arch)
    model, batch = _lora_model(folder).train(), _batch(folder)
    logits, grads = _logits_and_grads(model, batch)
    with fused_lora_forward(model) as fused:
        fused_logits, fused_grads = _logits_and_grads(model, batch)
    assert fused > 0
    torch.testing.assert_close(fused_logits, logits, atol=1e-5, rtol=1e-5)
    for name, grad in grads.items():
        torch.testing.assert_close(fused_grads[name], grad, atol=1e-5, rtol=1e-4, msg=name)


def test_fused_layers_under_bf16_autocast_match_within_rounding(tiny_model_dir):
    import torch

    from lorasent_tui.core.lora_forward import fused_lora_forward

    folder = tiny_model_dir("bert")
    model, batch = _lora_model(folder), _batch(folder)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits, _ = _logits_and_grads(model, batch)
        with fused_lora_forward(model):
            fused_logits, _ = _logits_and_grads(model, batch)
    assert fused_logits.dtype == torch.bfloat16
    torch.testing.assert_close(fused_logits.float(), logits.float(), atol=3e-2, rtol=0)


def test_merged_or_disabled_adapters_are_not_added_twice_and_the_layers_are_restored(tiny_model_dir):
    import torch

    from lorasent_tui.core.lora_forward import fused_lora_forward

    folder = tiny_model_dir("bert")
    model, batch = _lora_model(folder).eval(), _batch(folder)
    with torch.no_grad():
        tuned = model(**batch).logits
        with model.disable_adapter():
            base = model(**batch).logits
        with fused_lora_forward(model):
            model.merge_adapter()  # how a run's evaluation scores (session.merged_adapters)
            merged = model(**batch).logits
            model.unmerge_adapter()
            with model.disable_adapter():
                disabled = model(**batch).logits
    assert not torch.allclose(tuned, base, atol=1e-3)  # the adapters do change the verdicts
    torch.testing.assert_close(merged, tuned, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(disabled, base)
    assert not any("forward" in vars(m) for m in model.modules())


def test_layers_with_lora_dropout_keep_peft_s_forward(tiny_model_dir):
    from lorasent_tui.core.lora_forward import fused_lora_forward

    model = _lora_model(tiny_model_dir("bert"), lora_dropout=0.1)
    with fused_lora_forward(model) as fused:
        assert fused == 0


def _bf16_logits_and_grads(model, batch):
    import torch

    with torch.autocast("cpu", dtype=torch.bfloat16):
        return _logits_and_grads(model, batch)


def test_bf16_frozen_bases_train_the_same_bits_and_give_the_fp32_weights_back(tiny_model_dir):
    import torch

    from lorasent_tui.core.precision import bf16_frozen_bases

    folder = tiny_model_dir("bert")
    model, batch = _lora_model(folder).train(), _batch(folder)
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if "base_layer" in n}
    logits, grads = _bf16_logits_and_grads(model, batch)
    with bf16_frozen_bases(model, "bf16") as layers:
        held = {n: p.dtype for n, p in model.named_parameters() if "base_layer" in n}
        copied_logits, copied_grads = _bf16_logits_and_grads(model, batch)
    assert layers > 0 and set(held.values()) == {torch.bfloat16}
    assert torch.equal(copied_logits, logits)
    for name, grad in grads.items():
        assert torch.equal(copied_grads[name], grad), name
    for name, param in model.named_parameters():
        if name in frozen:
            assert param.dtype == torch.float32 and torch.equal(param, frozen[name]), name


def test_bf16_frozen_bases_restore_after_an_error_and_leave_fp32_runs_alone(tiny_model_dir):
    import torch

    from lorasent_tui.core.precision import bf16_frozen_bases

    model = _lora_model(tiny_model_dir("bert"))
    with bf16_frozen_bases(model, "fp32") as layers:
        assert layers == 0
        assert all(p.dtype == torch.float32 for p in model.parameters())
    with pytest.raises(RuntimeError), bf16_frozen_bases(model, "bf16"):
        raise RuntimeError("a failed step")
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_scoring_merges_the_adapters_and_restores_the_base_weights_bit_for_bit(tiny_model_dir):
    from types import SimpleNamespace

    import torch

    from lorasent_tui.core.session import merged_adapters

    folder = tiny_model_dir("bert")
    model, batch = _lora_model(folder).eval(), _batch(folder)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    with torch.no_grad():
        tuned = model(**batch).logits
        with merged_adapters(SimpleNamespace(model=model)):
            merged = model(**batch).logits
            changed = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
    torch.testing.assert_close(merged, tuned, atol=1e-5, rtol=1e-5)
    assert changed and all("base_layer" in n for n in changed)  # merged into the frozen weights
    assert all(torch.equal(p, before[n]) for n, p in model.named_parameters())
