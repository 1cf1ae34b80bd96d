"""Add to queue / Run queue / the question at start: the queued settings (``<runs>/queue``,
core/sweep/queue_files) train one after another through the Sweeps tab's sweeper, whose
leaderboard shows the queue study."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from lorasent_tui.core.errors import LorasentError, describe_exception
from lorasent_tui.core.sweep.queue_files import add_to_queue, queue_dir, queued
from lorasent_tui.tui.confirm import ConfirmScreen
from lorasent_tui.tui.messages import ShowStatus
from lorasent_tui.tui.sweeps_panel import SweepsPanel

if TYPE_CHECKING:
    from lorasent_tui.tui.app import LorasentApp


def queue_settings(app: LorasentApp) -> None:
    """Queue the Train form's settings, checked as Start checks them; "Run queue" trains them later."""
    form = app.train_panel.form
    config = form.validate()
    if config is None:
        app.show_status(f"Not queued, fix the settings first: {form.problems()}", "error", topic="settings")
        form.focus_first_error()
        return
    runs_dir = app.services.runs_dir

    def add() -> None:  # in a thread: the runs folder may be on a slow disk
        try:
            entry, waiting = add_to_queue(runs_dir, config)
        except (LorasentError, OSError) as exc:
            app.post_message(ShowStatus(f"Not queued: {describe_exception(exc)}", "error"))
            return
        app.post_message(ShowStatus(f"Settings queued as #{entry.number} ({waiting} waiting); "
                                    "ctrl+r runs the queue."))

    app.run_worker(add, thread=True, group="queue-add", exit_on_error=False, name="add to queue")


def run_queue(app: LorasentApp) -> None:
    panels = app.query(SweepsPanel)
    if not panels:  # mounted lazily, just after the first frame
        app.set_timer(0.02, lambda: run_queue(app))
        return
    waiting = len(queued(app.services.runs_dir))
    if not waiting:
        app.show_status("The queue is empty: ctrl+n on the Train tab queues its settings.", "warning")
    elif panels.first().start_queue(waiting):
        app.show_status(f"Running the queue: {waiting} waiting, one after another "
                        "(leaderboard on the Sweeps tab, f10; ctrl+t stops).")


async def offer_queue(app: LorasentApp) -> None:
    """Settings queued before the app last closed: continue the queue now, if the user says so."""
    waiting = len(await asyncio.to_thread(queued, app.services.runs_dir))
    if not waiting:
        return
    runs = f"{waiting} queued run{'s' if waiting != 1 else ''}"
    question = (f"{runs} did not complete before the app last closed ({queue_dir(app.services.runs_dir)})."
                " Continue the queue now?")
    if await app.push_screen_wait(ConfirmScreen(question, yes_label="Continue")):
        run_queue(app)
    else:
        app.show_status(f"{runs} wait{'s' if waiting == 1 else ''}: ctrl+r runs the queue.")
