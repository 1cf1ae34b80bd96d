"""The headless commands behind the CLI; each returns an exit status."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from lorasent_tui.core.errors import LorasentError
from lorasent_tui.core.events import (EpochResult, RunFailed, RunFinished, StatusUpdate,
                                      StepProgress, TrainCallbacks)

TABLE_COLUMNS = (("epoch", "Epoch", 5), ("train_loss", "Train loss", 10), ("eval_loss", "Val loss", 8),
                 ("accuracy", "Accuracy", 8), ("precision", "Precision", 9), ("recall", "Recall", 6),
                 ("f1", "F1", 6), ("tpr", "TPR", 6), ("fpr", "FPR", 6), ("roc_auc", "AUC", 6))


def format_row(row: dict) -> str:
    cells = []
    for key, _title, width in TABLE_COLUMNS:
        value = row.get(key)
        text = str(value) if key == "epoch" else ("-" if value is None else f"{value:.4f}")
        cells.append(text.rjust(width))
    return "  ".join(cells)


def table_header() -> str:
    return "  ".join(title.rjust(width) for _key, title, width in TABLE_COLUMNS)


def _format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60:02d}:{seconds % 60:02d}"


class ConsoleReporter:
    """Progress on stderr (throttled), one metrics row per epoch on stdout."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.last_print = 0.0
        self.header_done = False

    def callbacks(self) -> TrainCallbacks:
        return TrainCallbacks(on_status=self.status, on_progress=self.progress, on_epoch=self.epoch)

    def _err(self, text: str) -> None:
        end = "" if self.tty and text.startswith("\r") else "\n"
        print(text if self.tty else text.lstrip("\r"), end=end, file=sys.stderr, flush=True)

    def status(self, event: StatusUpdate) -> None:
        if not self.quiet:
            self._err(("\n" if self.tty else "") + f"[{event.message}]")

    def progress(self, event: StepProgress) -> None:
        now = time.monotonic()
        interval = 0.5 if self.tty else 10.0
        if self.quiet or (now - self.last_print < interval and event.step != event.total):
            return
        self.last_print = now
        loss = "" if event.loss is None else f" loss {event.loss:.4f}"
        self._err(f"\rstep {event.step}/{event.total} epoch {event.epoch}/{event.epochs} "
                  f"elapsed {_format_seconds(event.elapsed)} eta {_format_seconds(event.eta)}"
                  f"{loss} [{event.device}]")

    def epoch(self, event: EpochResult) -> None:
        if self.tty and not self.quiet:
            print(file=sys.stderr)
        if not self.header_done:
            print(table_header(), flush=True)
            self.header_done = True
        print(format_row(event.metrics) + ("  *best" if event.is_best else ""), flush=True)


def _install_stop_handler(stop: threading.Event) -> None:
    def handle(_signum, _frame):
        if stop.is_set():
            # Second Ctrl+C: every file on disk is already complete (atomic writes), so exit now.
            os._exit(130)
        stop.set()
        print("\nstopping at the next step (Ctrl+C again to quit at once)…", file=sys.stderr, flush=True)

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


def cmd_train(args: argparse.Namespace) -> int:
    from lorasent_tui.core.configfile import resolve_config

    config = resolve_config(args.config, args.preset, vars(args))
    if args.print_config:
        print(config.to_json())
        return 0
    from lorasent_tui.core.events import combine_callbacks
    from lorasent_tui.core.trackers import tracker_callbacks
    from lorasent_tui.core.trainer import train

    trackers = tracker_callbacks(args.report_to, runs_dir=args.runs_dir)  # a bad name exits 2 first
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        _install_stop_handler(stop)
    reporter = ConsoleReporter(quiet=args.quiet)
    callbacks = combine_callbacks(reporter.callbacks(), trackers)
    if config.processes > 1 and "WORLD_SIZE" not in os.environ:
        from lorasent_tui.core.launcher import train_subprocess

        result = train_subprocess(config, runs_dir=Path(args.runs_dir), callbacks=callbacks,
                                  stop_event=stop, resume=args.resume, nproc=config.processes,
                                  run_id=args.run_id)
    else:
        result = train(config, runs_dir=Path(args.runs_dir), callbacks=callbacks,
                       stop_event=stop, resume=args.resume, run_id=args.run_id)
    if os.environ.get("RANK", "0") != "0":
        return 0 if isinstance(result, RunFinished) and result.state == "completed" else 1
    if isinstance(result, RunFailed):
        print(f"lorasent-tui: error: {result.message}", file=sys.stderr)
        if result.run_dir:
            print(f"run folder: {result.run_dir} (failed)", file=sys.stderr)
        return 2 if result.user_error else 1
    print(f"run folder: {result.run_dir} ({result.state}, best epoch {result.best_epoch})")
    return 0 if result.state == "completed" else 130


def _read_texts(args: argparse.Namespace) -> list[str]:
    if args.texts:
        return list(args.texts)
    texts = [] if sys.stdin is None or sys.stdin.isatty() else \
        [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if not texts:
        raise LorasentError("no texts: pass them as arguments or one per line on stdin")
    return texts


def _base_config(args: argparse.Namespace):
    """The config of the chosen run, or the defaults when there is no run yet."""
    from lorasent_tui.core.config import TrainConfig
    from lorasent_tui.core.store import RunStore

    try:
        return RunStore(args.runs_dir).get(args.run).config()
    except LorasentError:
        if args.run != "latest":
            raise
        return TrainConfig()


def cmd_predict(args: argparse.Namespace) -> int:
    from lorasent_tui.core.onnx_backend import load_predictor
    from lorasent_tui.core.predict import Predictor

    texts = _read_texts(args)
    if args.base:
        predictor = Predictor.from_base(_base_config(args), device=args.device)
    else:
        predictor = load_predictor(args.run, args.runs_dir, device=args.device, backend=args.backend)
    predictions = predictor.predict(texts)
    if args.json:
        print(json.dumps([p.to_dict() for p in predictions], ensure_ascii=False))
    else:
        for p in predictions:
            print(f"{p.label:<8}  {p.score:.3f}  {p.text}")
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from lorasent_tui.core.store import RunStore

    summaries = RunStore(args.runs_dir).list()
    if args.json:
        print(json.dumps([s.to_dict() for s in summaries], indent=2))
        return 0
    if not summaries:
        print(f"no runs in {args.runs_dir}")
        return 0
    print(f"{'RUN':<40} {'STATE':<11} {'MODEL':<24} {'EPOCHS':>6} {'BEST ACC':>8}")
    for s in summaries:
        acc = "-" if s.best_accuracy is None else f"{s.best_accuracy:.4f}"
        model = s.model.rstrip("/").split("/")[-1][:24]
        print(f"{s.run_id:<40} {s.state:<11} {model:<24} {f'{s.epochs_done}/{s.epochs}':>6} {acc:>8}")
        if s.problem:
            print(f"  ! {s.problem}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from lorasent_tui.core.export import export_merged
    from lorasent_tui.core.onnx_export import export_onnx

    if args.merged is None and args.onnx is None:
        raise LorasentError("nothing to export: choose --merged DIR and/or --onnx [DIR]")
    if args.quantize and args.onnx is None:
        raise LorasentError("--quantize applies to --onnx")
    if args.merged is not None:
        target = export_merged(args.run, Path(args.merged), runs_dir=args.runs_dir)
        print(f"merged model written to {target}")
    if args.onnx is not None:
        target = export_onnx(args.run, Path(args.onnx) if args.onnx else None,
                             runs_dir=args.runs_dir, quantize=args.quantize)
        print(f"ONNX model{' (int8)' if args.quantize else ''} written to {target}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from lorasent_tui.core.report import write_report

    path = write_report(args.run, runs_dir=args.runs_dir, output=args.output)
    print(f"report written to {path}")
    return 0
