"""The training thread: the trainer runs off the event loop and reports through ``MessageBridge``
(throttled, thread-safe ``post_message``) to the Train panel, which makes every UI change."""

from __future__ import annotations

from pathlib import Path

from textual.widget import Widget

from lorasent_tui.core.config import TrainConfig
from lorasent_tui.core.errors import describe_exception
from lorasent_tui.core.events import RunFailed, RunFinished
from lorasent_tui.tui.messages import ShowStatus
from lorasent_tui.tui.services import MessageBridge, Services, TrainingSession, read_resume
from lorasent_tui.tui.settings_file import remember_settings


def remember(target: Widget, runs_dir: Path, config: TrainConfig) -> None:
    """The next launch starts from these settings; failing to keep them never stops a run."""
    try:
        remember_settings(runs_dir, config)
    except OSError as exc:
        target.post_message(ShowStatus(f"Settings not remembered: {describe_exception(exc)}", "warning"))


def train(target: Widget, services: Services, session: TrainingSession) -> None:
    """Run ``session`` to its end, in a thread worker; every report goes to ``target``."""
    bridge = MessageBridge(target)
    runs_dir = services.runs_dir
    try:
        config = session.config
        if session.resume is not None:
            # Posted before any trainer message (same thread, same target: FIFO), so the
            # finished epochs are in the table before the continued ones arrive.
            loaded = read_resume(runs_dir, session.resume, session.epochs)
            config = session.config = loaded.config
            target.post_message(loaded)
        else:
            remember(target, runs_dir, config)
        result = services.trainer(
            config, runs_dir=runs_dir, callbacks=bridge.callbacks(),
            stop_event=session.stop_event, resume=session.resume, epochs=session.epochs)
        # The trainer reports its end through a callback; cover one that only returns.
        if not bridge.finished and isinstance(result, RunFinished):
            bridge.on_finished(result)
        elif not bridge.finished:
            bridge.on_failed(result if isinstance(result, RunFailed) else
                             RunFailed("training ended without a result"))
    except Exception as exc:  # a bug in the trainer must not take the app down
        bridge.on_failed(RunFailed(describe_exception(exc)))
    finally:
        session.done.set()
