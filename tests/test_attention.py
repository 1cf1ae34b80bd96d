"""bf16 training steps on CPUs: attention kept in bf16, LoRA inputs not cast back and forth."""

from types import SimpleNamespace

import pytest

from tests.tiny_models import ARCHITECTURES


def _classifier(folder, implementation):
    import torch
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(0)  # the same fresh head for both implementations
    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=2)
    model.set_attn_implementation(implementation)
    return model.eval()


def _padded_batch(folder):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    return tokenizer(["a short one", "a much longer review that needs the padding mask of the other"],
                     padding=True, return_tensors="pt")


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_bf16_attention_stays_bf16_and_matches_eager(arch, tiny_model_dir):
    import torch

    from lorasent_tui.core.attention import register

    folder = tiny_model_dir(arch)
    batch = _padded_batch(folder)
    ours, eager = _classifier(folder, register()), _classifier(folder, "eager")
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = ours(**batch, output_attentions=True)
        reference = eager(**batch, output_attentions=True)
    # Eager attention under autocast promotes the scores to fp32 when it adds the mask.
    assert reference.attentions[0].dtype == torch.float32
    assert all(a.dtype == torch.bfloat16 for a in out.attentions)
    # Padding stays masked out, and the verdicts are eager's up to bf16 rounding.
    assert float(out.attentions[0][0, :, :, -1].float().abs().max()) == 0.0
    torch.testing.assert_close(out.logits.float(), reference.logits.float(), atol=3e-2, rtol=0)


def test_bf16_attention_is_eager_attention_in_fp32(tiny_model_dir):
    import torch

    from lorasent_tui.core.attention import register

    folder = tiny_model_dir("bert")
    batch = _padded_batch(folder)
    with torch.no_grad():
        ours = _classifier(folder, register())(**batch).logits
        eager = _classifier(folder, "eager")(**batch).logits
    torch.testing.assert_close(ours, eager)


@pytest.mark.parametrize("precision, skipped", [("bf16", True), ("fp32", False)])
def test_training_skips_peft_input_casts_in_bf16(precision, skipped, tiny_model_dir):
    import torch
    from peft import LoraConfig, get_peft_model
    from peft.tuners.tuners_utils import BaseTunerLayer

    from lorasent_tui.core.session import skip_lora_input_casts

    model = get_peft_model(_classifier(tiny_model_dir("bert"), "eager"),
                           LoraConfig(r=2, target_modules=["query", "value"], task_type="SEQ_CLS"))
    layers = [m for m in model.modules() if isinstance(m, BaseTunerLayer)]
    session = SimpleNamespace(model=model, precision=precision, device=torch.device("cpu"))
    with skip_lora_input_casts(session):
        assert all(layer.cast_input_dtype_enabled is not skipped for layer in layers)
    assert all(layer.cast_input_dtype_enabled for layer in layers)
