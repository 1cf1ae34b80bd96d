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

from lorasent_tui.console import ConsoleReporter, scoring_progress
from lorasent_tui.core.display import MISSING, format_duration, format_metric
from lorasent_tui.core.errors import LorasentError
from lorasent_tui.core.events import RunFailed, RunFinished, StatusUpdate


def _install_stop_handler(stop: threading.Event) -> None:
    def handle(_signum, _frame):
        if stop.is_set():
            # Second Ctrl+C: every file on disk is already complete (atomic writes), so exit now.
            os._exit(130)
        stop.set()
        print("\nstopping at the next step (Ctrl+C again to quit at once)…", file=sys.stderr, flush=True)

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


def _resumed_config(args: argparse.Namespace):
    """The resumed run's own config, with ``--epochs`` applied (validated like any config)."""
    from lorasent_tui.core.config import config_from_dict
    from lorasent_tui.core.store import RunStore

    saved = RunStore(args.runs_dir).get(args.resume).config()
    if args.epochs is None:
        return saved
    return config_from_dict({**saved.to_dict(), "epochs": args.epochs})


def cmd_train(args: argparse.Namespace) -> int:
    from lorasent_tui.core.configfile import resolve_config

    config = (_resumed_config(args) if args.resume
              else resolve_config(args.config, args.preset, vars(args)))
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
    epochs = config.epochs if args.resume and args.epochs is not None else None
    if config.processes > 1 and "WORLD_SIZE" not in os.environ:
        from lorasent_tui.core.launcher import train_subprocess

        result = train_subprocess(config, runs_dir=Path(args.runs_dir), callbacks=callbacks,
                                  stop_event=stop, resume=args.resume, nproc=config.processes,
                                  run_id=args.run_id, epochs=epochs)
    else:
        result = train(config, runs_dir=Path(args.runs_dir), callbacks=callbacks,
                       stop_event=stop, resume=args.resume, run_id=args.run_id, epochs=epochs)
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

    if args.input or args.output:
        return _predict_file(args)
    texts = _read_texts(args)
    if args.base:
        predictor = Predictor.from_base(_base_config(args), device=args.device)
    else:
        predictor = load_predictor(args.run, args.runs_dir, device=args.device, backend=args.backend)
    predictions = predictor.predict(texts)
    explanations = _explanations(args, predictor, predictions) if args.explain else [None] * len(texts)
    if args.json:
        print(json.dumps([p.to_dict() | ({"explanation": e.to_dict()} if e else {})
                          for p, e in zip(predictions, explanations)], ensure_ascii=False))
    else:
        for p, e in zip(predictions, explanations):
            print(f"{p.label:<8}  {p.score:.3f}  {p.text}")
            if e is not None:
                print(_explanation_lines(e))
    return 0


def _predict_file(args: argparse.Namespace) -> int:
    """``predict --input FILE [--output OUT]``: every text of a data file, scored into OUT."""
    from lorasent_tui.core.batch_predict import check_output, default_output, score_file
    from lorasent_tui.core.data.pipeline import plural
    from lorasent_tui.core.onnx_backend import load_predictor
    from lorasent_tui.core.predict import Predictor

    if not args.input:
        raise LorasentError("--output goes with --input: predict --input FILE --output OUT")
    if args.texts or args.explain or args.json:
        raise LorasentError("--input scores a file into --output; leave out TEXT, --json and --explain")
    output = check_output(args.output or default_output(args.input))
    reporter = ConsoleReporter()
    config = _base_config(args)
    reporter.status(StatusUpdate("loading the base model" if args.base else f"loading run {args.run}"))
    predictor = (Predictor.from_base(config, device=args.device) if args.base else
                 load_predictor(args.run, args.runs_dir, device=args.device, backend=args.backend))
    reporter.status(StatusUpdate(f"scoring {args.input}"))
    done = score_file(predictor, args.input, output, args.text_column or config.text_column,
                      scoring_progress(reporter, args.device, "predict"))
    if reporter.tty:
        print(file=sys.stderr)
    blank = f"; {plural(done.blank, 'blank row')} left without a verdict" if done.blank else ""
    print(f"{done.scored:,} texts scored with {predictor.name} in {format_duration(done.seconds)}"
          f"{blank}; saved to {done.output}")
    return 0


def _explanations(args: argparse.Namespace, predictor, predictions) -> list:
    """Each prediction's explanation, towards its label; an ONNX-served run is explained in torch."""
    from lorasent_tui.core.explain import Explainer
    from lorasent_tui.core.predict import Predictor

    if predictor.model is None:
        predictor = Predictor.from_run(args.run, args.runs_dir, device=args.device)
    explainer = Explainer(predictor)
    return [explainer.explain(p.text, target=p.label) for p in predictions]


def _explanation_lines(explanation) -> str:
    def ranked(words) -> str:
        return ", ".join(f"{w.word} ({w.score:+.3f})" for w in words) or MISSING

    lines = [f"  towards {explanation.target}: {ranked(explanation.top_for())}",
             f"  away from it: {ranked(explanation.top_against())}"]
    if explanation.part:
        lines.append(f"  (explained: {explanation.part})")
    return "\n".join(lines)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from lorasent_tui.core.evaluate import evaluate_run, evaluation_data
    from lorasent_tui.core.results import check_name, summary_line
    from lorasent_tui.core.store import RunStore

    if args.size < 0:
        raise LorasentError("--size must be 0 (all) or more")
    try:
        name = check_name(args.name) if args.name else None
    except ValueError as exc:
        raise LorasentError(str(exc)) from None
    reporter = ConsoleReporter()
    run = RunStore(args.runs_dir).get(args.run)
    reporter.status(StatusUpdate(f"loading data {args.dataset}"))
    data = evaluation_data(run, args.dataset, args.split, args.size, args.text_column,
                           args.label_column)
    for warning in data.warnings:
        reporter.status(StatusUpdate(f"warning: {warning}"))
    reporter.status(StatusUpdate(f"loading run {run.run_id}"))
    started = time.monotonic()
    result = evaluate_run(run, data, name, args.device, scoring_progress(reporter, args.device, "evaluate"))
    if reporter.tty:
        print(file=sys.stderr)
    if args.json:
        print(json.dumps({"run": run.run_id, "path": str(result.path), **result.meta,
                          "seconds": round(time.monotonic() - started, 3),
                          "metrics": result.metrics}, indent=2))
        return 0
    print(summary_line(result, f"{result.name}"))
    if data.excluded:
        print(f"left out {data.excluded:,} texts the run trained, validated or tested on")
    print(f"saved to {result.path}")
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
    header = ("RUN", "STATE", "MODEL", "EPOCHS", "BEST ACC")
    rows = [(s.run_id, s.state, _short(s.model.rstrip("/").split("/")[-1], MODEL_WIDTH),
             f"{s.epochs_done}/{s.epochs}", format_metric(s.best_accuracy)) for s in summaries]
    if any(s.test_accuracy is not None for s in summaries):  # validation and test kept apart
        header += ("TEST ACC",)
        rows = [row + (format_metric(s.test_accuracy),) for row, s in zip(rows, summaries)]
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(len(header))]
    for row, summary in zip([header] + rows, [None] + summaries):
        cells = [cell.ljust(width) if i < 3 else cell.rjust(width)
                 for i, (cell, width) in enumerate(zip(row, widths))]
        print("  ".join(cells).rstrip())
        if summary is not None and (summary.problem or summary.ended):
            print(f"  ! {summary.problem}" if summary.problem else f"  ({summary.ended})")
    return 0


MODEL_WIDTH = 32  # a hub id's last part; run ids are never cut (they are what commands take)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


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


def cmd_threshold(args: argparse.Namespace) -> int:
    from lorasent_tui.decision_cli import threshold_command

    return threshold_command(args)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from lorasent_tui.decision_cli import calibrate_command

    return calibrate_command(args)


def cmd_sweep(args: argparse.Namespace) -> int:
    from lorasent_tui.core.sweep.parallel import (run_workers, split_trials, visible_gpus,
                                                  worker_command, worker_env)
    from lorasent_tui.core.sweep.storage import stop_file, storage_url
    from lorasent_tui.core.sweep.study import (StopSignal, open_sweep, queue_chooser, run_trials,
                                               search_chooser, started_event, summarise)
    from lorasent_tui.sweep_cli import (SweepReporter, leaderboard_json, leaderboard_table, plan_sweep,
                                        worker_args)

    if args.status:
        return _sweep_status(args)
    plan = plan_sweep(args)
    runs_dir = Path(args.runs_dir)
    stop_path = stop_file(runs_dir, plan.study)
    if args.worker is None:
        stop_path.unlink(missing_ok=True)  # left by an earlier sweep; this one starts afresh
    stop = StopSignal(file=stop_path)
    if threading.current_thread() is threading.main_thread():
        _install_stop_handler(stop)
    url = storage_url(args.storage, runs_dir, plan.study)
    sweep = open_sweep(plan.study, runs_dir=runs_dir, storage=url, metric=args.metric, sampler=args.sampler,
                       grid=plan.grid, prune=not args.no_prune and plan.queue is None, stop=stop)
    reporter = SweepReporter(args.metric, "" if args.worker is None else f"[worker {args.worker}] ")
    status = 0
    if args.parallel > 1:
        gpus = visible_gpus()
        if len(gpus) < args.parallel:
            where = f"{len(gpus)} GPUs" if gpus else "the CPU cores (no GPU)"
            print(f"warning: {args.parallel} trials at once share {where}", file=sys.stderr)
        reporter.started(started_event(sweep))
        shares = split_trials(plan.trials, args.parallel)
        status = run_workers([(worker_command(worker_args(args, plan.study, url), share, index),
                               worker_env(index, gpus)) for index, share in enumerate(shares)],
                             stop, stop_path)
        result = summarise(sweep)
    elif plan.queue is not None:
        choose, pending = queue_chooser(sweep, plan.queue)
        result = run_trials(sweep, choose, pending, reporter.callbacks())
    else:
        result = run_trials(sweep, search_chooser(plan.space), plan.trials, reporter.callbacks())
    if args.worker is None:
        stop_path.unlink(missing_ok=True)
        print(leaderboard_json(result) if args.json else leaderboard_table(result), flush=True)
    return status or (130 if result.stopped else 0)


def _sweep_status(args: argparse.Namespace) -> int:
    from lorasent_tui.core.sweep.study import read_studies
    from lorasent_tui.sweep_cli import leaderboard_json, leaderboard_table

    boards = read_studies(Path(args.runs_dir), args.storage, args.study)
    if args.json:
        print("[" + ",\n".join(leaderboard_json(board) for board in boards) + "]")
    elif not boards:
        print(f"no studies in {Path(args.runs_dir) / 'sweeps'}")
    for board in [] if args.json else boards:
        print(f"study {board.study} ({board.metric}, {len(board.leaderboard)} trials)")
        print(leaderboard_table(board) + "\n")
    return 0
