"""Command line: the TUI by default, and headless ``train``, ``predict``, ``evaluate``, ``runs``,
``export``, ``report`` and ``sweep``."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any, Sequence

from lorasent_tui.core.config import PRESETS, TRUNCATION_SIDES, WINDOW_LAYOUTS
from lorasent_tui.core.configfile import resolve_config
from lorasent_tui.core.errors import LorasentError
from lorasent_tui.core.onnx_backend import BACKENDS
from lorasent_tui.core.onnx_export import QUANTIZATIONS
from lorasent_tui.decision_cli import add_decision_parsers

SUBCOMMANDS = ("train", "predict", "evaluate", "runs", "export", "report", "sweep", "threshold",
               "calibrate")

# (flag, config field, help) — every training flag maps to one TrainConfig field.
TRAIN_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("--model", "model", "model name, hub id or local folder (default: minilm, bundled offline)"),
    ("--dataset", "dataset", "imdb, rotten_tomatoes, a CSV/TSV/JSONL/Parquet file, or a hub dataset"),
    ("--text-column", "text_column", "text column of a data file (default: text)"),
    ("--label-column", "label_column", "label column of a data file (default: label)"),
    ("--labels", "labels", "class names in class order, comma-separated (default: from the data)"),
    ("--train-size", "train_size", "training reviews, balanced per class where possible (default: 1000)"),
    ("--eval-size", "eval_size", "validation reviews, balanced per class where possible (default: 1000)"),
    ("--test-size", "test_size",
     "held-out test reviews, scored once with the best epoch at the end (default: 0, none)"),
    ("--balance", "balance", "false: keep the data's class proportions in both splits (default: true)"),
    ("--class-weights", "class_weights", "none or balanced (loss weighted by inverse class frequency)"),
    ("--calibrate", "calibrate",
     "fit temperature scaling on the validation predictions when training ends (alone: true)"),
    ("--epochs", "epochs", "training epochs"),
    ("--learning-rate", "learning_rate", "learning rate of the LoRA weights"),
    ("--head-learning-rate", "head_learning_rate", "learning rate of the classification head"),
    ("--batch-size", "batch_size", "training batch size"),
    ("--eval-batch-size", "eval_batch_size", "evaluation batch size"),
    ("--max-length", "max_length", "maximum tokens per review"),
    ("--truncation", "truncation", f"which part of a long review to keep: {', '.join(TRUNCATION_SIDES)}"),
    ("--sliding-windows", "sliding_windows",
     "also read long reviews as windows when evaluating and predicting: true/false"),
    ("--window-layout", "window_layout",
     f"the windows of a long review: {' or '.join(WINDOW_LAYOUTS)} (see the README)"),
    ("--lora-r", "lora_r", "LoRA rank"),
    ("--lora-alpha", "lora_alpha", "LoRA alpha"),
    ("--lora-dropout", "lora_dropout", "LoRA dropout"),
    ("--target-modules", "target_modules",
     "comma-separated roles (query,key,value,attn_out,ffn_in,ffn_out) or module names"),
    ("--lora-layers", "lora_layers", "LoRA only in the top N layers (lower ones are cached); default all"),
    ("--train-pooler", "train_pooler", "train the pre-trained pooler fully with the head: true/false"),
    ("--model-dropout", "model_dropout", "dropout inside the encoder (default: the model's own)"),
    ("--weight-decay", "weight_decay", "AdamW weight decay"),
    ("--warmup-ratio", "warmup_ratio", "fraction of steps with a linear learning-rate warmup"),
    ("--short-crops", "short_crops",
     "also train on each train review's last sentence, with its label: true/false"),
    ("--ema-decay", "ema_decay",
     "evaluate and save a moving average of the weights with this per-step decay (0: off)"),
    ("--unlabeled", "unlabeled",
     "unlabeled texts to self-train on: a data file's text column, or imdb-unlabeled (default: none)"),
    ("--unlabeled-size", "unlabeled_size", "at most this many unlabeled texts, scored each epoch (default: 2000)"),
    ("--pseudo-threshold", "pseudo_threshold",
     "confidence (top class probability) an unlabeled text needs for a pseudo-label (default: 0.9)"),
    ("--unlabeled-weight", "unlabeled_weight", "weight of the pseudo-labelled loss (default: 1.0)"),
    ("--unlabeled-ratio", "unlabeled_ratio",
     "pseudo-labelled texts per labelled text in each training step (default: 1)"),
    ("--pseudo-noise", "pseudo_noise",
     "share of tokens dropped from the copy of a pseudo-labelled text the model trains on, after a "
     "random crop (default: 0.15; 0: no noise)"),
    ("--teacher", "teacher",
     "a finished run (id, folder or latest) whose best epoch pseudo-labels the unlabeled texts "
     "before the first epoch (default: none; the first epoch trains on labels alone)"),
    ("--length-bucketing", "length_bucketing", "batch reviews of similar length: true/false"),
    ("--seed", "seed", "random seed for sampling, initialisation and batch order"),
    ("--device", "device", "auto, cpu, cuda, cuda:N or mps"),
    ("--precision", "precision", "auto (bf16 where the hardware has it), fp32 or bf16"),
    ("--processes", "processes", "data-parallel processes (one per GPU), started with torchrun"),
    ("--logging-steps", "logging_steps", "steps between training-loss reports"),
)
# Flags that may be given alone for "true" (--calibrate); a value still works (--calibrate false).
SWITCHES = ("calibrate",)


def _add_train_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", choices=sorted(PRESETS), help="settings to start from (default: fast)")
    parser.add_argument("--config", metavar="FILE", help="TOML or JSON config file; flags override it")
    for flag, field, help_text in TRAIN_FLAGS:
        if field in SWITCHES:
            parser.add_argument(flag, dest=field, metavar="VALUE", nargs="?", const="true", help=help_text)
        else:
            parser.add_argument(flag, dest=field, metavar="VALUE", help=help_text)
    _add_runs_dir(parser)


def _add_runs_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs-dir", default="runs", metavar="DIR", help="runs folder (default: ./runs)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lorasent-tui",
        description="Fine-tune BERT-family encoders with LoRA for sentiment. Without a command, "
                    "opens the terminal app (it accepts the train flags, and --start).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = sub.add_parser("train", help="train headless, printing a metrics row per epoch",
                           description="Train headless. Flags override --config, which overrides --preset.")
    _add_train_flags(train)
    train.add_argument("--resume", metavar="RUN",
                       help="continue a stopped, failed or interrupted run with its own settings; "
                            "with --epochs N, also extend it (a completed one too) to N epochs")
    train.add_argument("--run-id", metavar="ID", help="name of the new run folder (default: time-model-random)")
    train.add_argument("--report-to", action="append", metavar="TRACKER",
                       help="tensorboard, wandb, mlflow, all or none (comma-separated or repeated)")
    train.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    train.add_argument("--quiet", action="store_true", help="no progress line")

    predict = sub.add_parser("predict", help="classify texts or a data file with a trained run",
                             description="Classify texts (arguments, or one per line on stdin), or "
                                         "every text of a data file into a new file (--input, --output).")
    predict.add_argument("texts", nargs="*", metavar="TEXT")
    predict.add_argument("--input", metavar="FILE",
                         help="score every text of this CSV, TSV, JSONL, JSON or Parquet file "
                              "(its text column; a label column is ignored)")
    predict.add_argument("--output", metavar="FILE",
                         help="with --input: write row, text, label, score and each class's "
                              "probability here (.csv, .tsv, .jsonl or .parquet; never replaces a file; "
                              "default: NAME.predictions.csv beside the input)")
    predict.add_argument("--text-column", metavar="COL",
                         help="the text column of --input (default: the run's, usually 'text')")
    predict.add_argument("--run", default="latest", help="run id, run folder or 'latest' (default)")
    predict.add_argument("--base", action="store_true", help="use the untrained base model instead")
    predict.add_argument("--json", action="store_true", help="print a JSON list of {text, label, score}")
    predict.add_argument("--explain", action="store_true",
                         help="also show the words that pushed each text towards and away from its "
                              "label (integrated gradients; seconds per long text on a CPU)")
    predict.add_argument("--device", default="cpu", help="cpu (default), cuda or mps")
    predict.add_argument("--backend", default="torch", choices=BACKENDS,
                         help="torch (default); onnx: the run's ONNX export (export RUN --onnx); "
                              "auto: onnx when the run has a current export")
    _add_runs_dir(predict)

    evaluate = sub.add_parser(
        "evaluate", help="score a run on other labelled data, kept under the run",
        description="Score a run's best epoch on labelled data with the validation metrics, reading "
                    "long texts as the run does; saved as RUN/evaluations/NAME/. With the run's own "
                    "built-in dataset, the texts it trained, validated or tested on are left out.")
    evaluate.add_argument("run", metavar="RUN", help="run id, run folder or 'latest'")
    evaluate.add_argument("--dataset", required=True, metavar="DATA",
                          help="imdb, rotten_tomatoes, a CSV/TSV/JSONL/Parquet file, or a hub dataset")
    evaluate.add_argument("--split", metavar="NAME",
                          help="rows of this split only (a file's split column, a hub dataset's "
                               "split; default: all rows of a file, a hub dataset's test split)")
    evaluate.add_argument("--size", type=int, default=0, metavar="N",
                          help="score a seeded random sample of N texts (default: all)")
    evaluate.add_argument("--text-column", default="text", metavar="NAME", help="default: text")
    evaluate.add_argument("--label-column", default="label", metavar="NAME", help="default: label")
    evaluate.add_argument("--name", metavar="NAME",
                          help="folder under RUN/evaluations (default: the dataset's name and split); "
                               "an existing one is replaced")
    evaluate.add_argument("--json", action="store_true", help="print the result as JSON")
    evaluate.add_argument("--device", default="cpu", help="cpu (default), cuda or mps")
    _add_runs_dir(evaluate)

    runs = sub.add_parser("runs", help="list runs", description="List the runs in the runs folder.")
    runs.add_argument("--json", action="store_true", help="print JSON")
    _add_runs_dir(runs)

    export = sub.add_parser("export", help="export a run as a merged transformers or ONNX model",
                            description="Write a merged model (LoRA folded in) that "
                                        "transformers.pipeline('text-classification') loads, "
                                        "and/or an ONNX model for ONNX Runtime.")
    export.add_argument("run", metavar="RUN")
    export.add_argument("--merged", metavar="DIR", help="output folder of the merged model")
    export.add_argument("--onnx", nargs="?", const="", metavar="DIR",
                        help="write an ONNX model (default folder: RUN/onnx, which predict "
                             "--backend onnx reads)")
    export.add_argument("--quantize", choices=QUANTIZATIONS, help="int8: dynamic int8 weights (ONNX)")
    _add_runs_dir(export)

    report = sub.add_parser("report", help="draw a run's curves to a PNG",
                            description="Write a PNG with the loss, metric and ROC curves of a run.")
    report.add_argument("run", metavar="RUN")
    report.add_argument("--output", "-o", metavar="FILE", help="PNG path (default: RUN/report.png)")
    _add_runs_dir(report)
    _add_sweep_parser(sub)
    add_decision_parsers(sub, _add_runs_dir)
    return parser


def _add_sweep_parser(sub: Any) -> None:
    sweep = sub.add_parser(
        "sweep", help="search hyperparameters, or run a queue of configs, with Optuna",
        description="Run trials (each an ordinary run) over a TOML search space: fixed settings plus a "
                    "[search] table, e.g. learning_rate = {low = 1e-4, high = 1e-2, log = true}, "
                    "lora_r = {choices = [4, 8, 16]}. Flags fix settings as in train. "
                    "Ctrl+C, or a file RUNS/sweeps/STUDY.STOP, stops the sweep cleanly.")
    sweep.add_argument("space", nargs="?", metavar="SPACE.toml", help="the search space")
    sweep.add_argument("--configs", nargs="+", metavar="FILE",
                       help="run these config files (or a folder of them) in order instead of a search")
    _add_train_flags(sweep)
    sweep.add_argument("--trials", type=int, metavar="N",
                       help="trials of a search to run now (default: 10; the whole grid with --sampler grid)")
    sweep.add_argument("--metric", default="accuracy", metavar="KEY",
                       help="what ranks trials, at each run's best epoch: accuracy (default), f1, "
                            "roc_auc, eval_loss (losses are minimised) or another recorded metric")
    sweep.add_argument("--sampler", default="tpe", choices=("tpe", "random", "grid"),
                       help="how settings are chosen (default: tpe)")
    sweep.add_argument("--no-prune", action="store_true",
                       help="never stop a trial early (default: median pruning after each epoch)")
    sweep.add_argument("--study", metavar="NAME",
                       help="study name; an existing study is continued (default: the space file's name)")
    sweep.add_argument("--storage", metavar="URL",
                       help="Optuna storage: a database URL (sqlite:///f.db, postgresql://user@host/db) "
                            "or a journal file (*.log) on a shared filesystem "
                            "(default: RUNS/sweeps/STUDY.db)")
    sweep.add_argument("--parallel", type=int, default=1, metavar="N",
                       help="trials at once, as worker processes, one per GPU")
    sweep.add_argument("--json", action="store_true", help="print the leaderboard as JSON")
    sweep.add_argument("--status", action="store_true",
                       help="print the leaderboard of --study (default: every study) and exit; "
                            "the study may be running in another process")
    sweep.add_argument("--worker", type=int, help=argparse.SUPPRESS)  # set for --parallel's workers


def build_tui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lorasent-tui",
        description="Open the terminal app. Commands: " + ", ".join(SUBCOMMANDS) +
                    " (see lorasent-tui COMMAND --help).")
    _add_train_flags(parser)
    parser.add_argument("--start", action="store_true", help="start training at once")
    return parser


def check_resume_flags(args: argparse.Namespace) -> None:
    """A resumed run keeps its recorded settings: any training flag but --epochs is an error."""
    given = [("--config", args.config), ("--preset", args.preset), ("--run-id", args.run_id)]
    given += [(flag, getattr(args, field)) for flag, field, _help in TRAIN_FLAGS if field != "epochs"]
    for flag, value in given:
        if value is not None:
            raise LorasentError(f"{flag} cannot be changed when resuming; only --epochs can")


def main(argv: Sequence[str] | None = None) -> int:
    # Library deprecation notices (transformers 5 -> 6) are for developers, not for a user's run.
    warnings.filterwarnings("ignore", category=FutureWarning)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS + ("-h", "--help"):
            args = build_parser().parse_args(argv)
            if args.command == "train" and args.resume:
                check_resume_flags(args)
            from lorasent_tui import commands

            return getattr(commands, f"cmd_{args.command}")(args)
        args = build_tui_parser().parse_args(argv)
        config = resolve_config(args.config, args.preset, vars(args))
        from lorasent_tui.tui.launch import run_tui

        # Without --config or --preset the app starts from the runs folder's remembered settings.
        return run_tui(config, Path(args.runs_dir), start=args.start,
                       config_path=Path(args.config) if args.config else None,
                       flags=None if args.config or args.preset else vars(args))
    except LorasentError as exc:
        print(f"lorasent-tui: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
