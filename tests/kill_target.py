"""``python -m lorasent_tui`` with phase markers on stderr, for tests/test_kill.py.

Run as ``python tests/kill_target.py train ...``. Each marker is a stderr line
``@@ <phase> <detail>``, flushed just before the step it names runs, so a test can SIGKILL
the process at a chosen moment. With ``LORASENT_KILL_PAUSE="<phase>[:<regex>][#<n>]"`` the
n-th marker (default the first) of that phase whose detail matches the regex blocks forever
after printing ``@@ paused``, so that a kill lands exactly there (e.g. between the two renames
of ``fsutil.atomic_replace_dir``).

Nothing in lorasent_tui is changed. The training phases are seen through the trainer's
public callbacks (``trainer.train``'s ``callbacks``, the seam the CLI and the app use too):
its StatusUpdates ("loading model", "loading data"), a StepProgress after every training step
and one before every evaluation batch. File writes are seen by wrapping the public functions
that do them (``os.replace``, ``shutil.rmtree``, ``tempfile.mkdtemp``, safetensors'
``save_file``, the run store's writers, ``checkpoint.save_checkpoint``), in this process only.
A hook whose target is gone fails loudly instead of silently printing nothing.

``python tests/kill_target.py --zygote`` imports torch, transformers and peft once, then
forks one CLI process per request, so a kill test does not pay ~5 s of imports per kill.
Requests are JSON lines on stdin, ``{"argv": [...], "env": {...}, "stderr": FIFO}`` with an
optional ``"stdout": FILE``; for each it prints ``{"pid": N}`` when the child is forked and
``{"exit": N, "status": S}`` once the child has ended and been reaped. The child runs
``lorasent_tui.cli.main(argv)`` with the markers installed, its stderr going to the FIFO and
its stdout to FILE (default /dev/null).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

_seen: dict[str, int] = {}


def mark(phase: str, detail: object = "") -> None:
    detail = str(detail)
    print(f"@@ {phase} {detail}".rstrip(), file=sys.stderr, flush=True)
    pause = os.environ.get("LORASENT_KILL_PAUSE", "")
    if not pause:
        return
    spec, _, nth = pause.partition("#")
    want_phase, _, pattern = spec.partition(":")
    if phase != want_phase or not re.search(pattern, detail):
        return
    _seen[spec] = _seen.get(spec, 0) + 1
    if _seen[spec] == int(nth or 1):
        print("@@ paused", file=sys.stderr, flush=True)
        while True:
            time.sleep(3600)


def _before(owner: object, name: str, phase: str, describe=lambda *a, **k: "") -> None:
    """Print a marker before each call of ``owner.<name>``."""
    real = getattr(owner, name)  # AttributeError: a hooked function was renamed; fix the hook

    @functools.wraps(real)
    def wrapper(*args, **kwargs):
        mark(phase, describe(*args, **kwargs))
        return real(*args, **kwargs)

    setattr(owner, name, wrapper)


def marker_callbacks():
    """The phase markers, from the events the trainer reports."""
    from lorasent_tui.core.events import TrainCallbacks

    def on_status(event) -> None:
        for prefix, phase in (("loading model", "load-model"), ("loading data", "load-data")):
            if event.message.startswith(prefix):
                mark(phase)

    def on_progress(event) -> None:
        if event.phase == "train":
            mark("step", f"{event.step} epoch {event.epoch}")
        elif event.eval_done == 0:
            mark("eval", event.epoch)

    return TrainCallbacks(on_status=on_status, on_progress=on_progress)


def install() -> None:
    import safetensors.torch

    from lorasent_tui.core import checkpoint, store, trainer
    from lorasent_tui.core.events import combine_callbacks

    def name(path) -> str:
        return Path(path).name

    _before(os, "replace", "replace", lambda src, dst, *a, **k: f"{name(src)} -> {name(dst)}")
    _before(shutil, "rmtree", "rmtree", lambda path, *a, **k: name(path))
    _before(tempfile, "mkdtemp", "mkdtemp", lambda *a, prefix="", **k: prefix)
    _before(safetensors.torch, "save_file", "save_file", lambda tensors, filename, *a, **k: name(filename))
    _before(store.RunStore, "create", "create")
    _before(store.Run, "write_metrics", "metrics", lambda self, rows: len(rows))
    _before(store.Run, "write_roc", "roc", lambda self, roc: len(roc))
    _before(store.Run, "update_status", "status", lambda self, **changes: " ".join(
        f"{k}={changes[k]}" for k in ("state", "epochs_done") if k in changes))
    _before(checkpoint, "save_checkpoint", "checkpoint", lambda folder, m, o, s, state, *a: state["epoch"])

    real_train = trainer.train

    @functools.wraps(real_train)
    def train(*args, callbacks=None, **kwargs):
        return real_train(*args, callbacks=combine_callbacks(callbacks, marker_callbacks()), **kwargs)

    trainer.train = train


def _child(request: dict) -> None:
    """In the forked child: never returns."""
    code = 1
    try:
        os.environ.pop("LORASENT_KILL_PAUSE", None)
        os.environ.update(request.get("env", {}))
        err = os.open(request["stderr"], os.O_WRONLY)
        out = os.open(request.get("stdout", os.devnull), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(err, 2)
        os.dup2(out, 1)
        os.close(err)
        os.close(out)
        install()
        from lorasent_tui.cli import main

        code = main(request["argv"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def zygote() -> None:
    # Imported once here (what a training run imports lazily too), and the built-in reviews
    # read once: the children only load the model and sample their splits. No torch op runs
    # in this process, so forking after the import is safe (no thread pools yet).
    import pandas  # noqa: F401
    import peft  # noqa: F401
    import safetensors.torch  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import torch  # noqa: F401
    import transformers  # noqa: F401
    from transformers import AutoModelForSequenceClassification, AutoTokenizer  # noqa: F401

    import lorasent_tui.cli  # noqa: F401
    import lorasent_tui.commands  # noqa: F401
    from lorasent_tui.core import (batching, checkpoint, data, eventlog, frozen_prefix,  # noqa: F401
                                   metrics, models, trackers, trainer, views)
    from lorasent_tui.core.data.builtin import builtin_frame

    builtin_frame()

    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"exit": pid, "status": status}), flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--zygote"]:
        zygote()
    else:
        install()
        from lorasent_tui.cli import main

        sys.exit(main(sys.argv[1:]))
