"""The app's run queue: settings files under <runs>/queue, run in order, leaving when complete."""

from __future__ import annotations

import pytest

from lorasent_tui.core.config import build_config
from lorasent_tui.core.errors import LorasentError, RunError
from lorasent_tui.core.store import RunStore, check_run_id
from lorasent_tui.core.sweep.queue_files import (QUEUE_STUDY, add_to_queue, leave_queue, queue_dir,
                                                 queued, run_queue)
from lorasent_tui.core.sweep.study import open_sweep

TINY = {"train_size": 24, "eval_size": 16, "epochs": 1, "max_length": 32, "batch_size": 8,
        "device": "cpu", "seed": 7, "logging_steps": 1}


def test_entries_are_numbered_in_order_and_keep_their_settings(tmp_path):
    first, waiting = add_to_queue(tmp_path, build_config({"lora_r": 4}))
    assert first.number == 1 and waiting == 1
    second, waiting = add_to_queue(tmp_path, build_config({"lora_r": 16, "eval_size": None}))
    assert second.number == 2 and waiting == 2
    assert [e.number for e in queued(tmp_path)] == [1, 2]
    assert [e.config().lora_r for e in queued(tmp_path)] == [4, 16]
    assert queued(tmp_path)[1].config() == build_config({"lora_r": 16, "eval_size": None})
    assert first.path.parent == queue_dir(tmp_path) and first.path.suffix == ".toml"


def test_numbers_follow_the_last_waiting_entry(tmp_path):
    entries = [add_to_queue(tmp_path, build_config())[0] for _ in range(3)]
    leave_queue(tmp_path, entries[0].label)
    leave_queue(tmp_path, entries[2].label)
    entry, waiting = add_to_queue(tmp_path, build_config())
    assert entry.number == 3 and waiting == 2  # after #2, the one still waiting


def test_leaving_removes_only_that_entry_and_ignores_other_names(tmp_path):
    a, _ = add_to_queue(tmp_path, build_config())
    b, _ = add_to_queue(tmp_path, build_config())
    leave_queue(tmp_path, a.label)
    leave_queue(tmp_path, "../last-settings.toml")
    leave_queue(tmp_path, None)
    assert queued(tmp_path) == [b]


def test_other_files_in_the_queue_folder_are_not_entries(tmp_path):
    add_to_queue(tmp_path, build_config())
    (queue_dir(tmp_path) / "notes.txt").write_text("mine")
    (queue_dir(tmp_path) / ".001-x.toml.tmp").write_text("half written")
    assert len(queued(tmp_path)) == 1
    assert queued(tmp_path / "nowhere") == []


def test_a_damaged_entry_names_its_file_and_the_fix(tmp_path):
    entry, _ = add_to_queue(tmp_path, build_config())
    entry.path.write_text("lora_r = 0\n")
    with pytest.raises(LorasentError, match=rf"{entry.path.name}.*lora_r.*delete it"):
        entry.config()


def test_the_queue_folder_is_not_a_run(tmp_path):
    add_to_queue(tmp_path, build_config())
    assert RunStore(tmp_path).list() == []
    with pytest.raises(RunError):
        check_run_id("queue")


def test_run_queue_runs_entries_in_order_also_those_added_meanwhile_and_they_leave(tiny_model_dir, tmp_path):
    from lorasent_tui.core.sweep.events import SweepCallbacks

    model = str(tiny_model_dir("bert"))
    for rank in (2, 4):
        add_to_queue(tmp_path, build_config({"model": model, **TINY, "lora_r": rank}))
    added = []

    def add_one_more(event):  # "Add to queue" while the queue runs
        if not added:
            added.append(add_to_queue(tmp_path, build_config({"model": model, **TINY, "lora_r": 3})))

    starts, ends = [], []
    callbacks = SweepCallbacks(on_trial_started=add_one_more, on_sweep_started=starts.append,
                               on_sweep_finished=ends.append)
    result = run_queue(open_sweep(QUEUE_STUDY, runs_dir=tmp_path, prune=False), callbacks)
    by_number = sorted(result.leaderboard, key=lambda row: row.number)
    assert [row.state for row in by_number] == ["complete"] * 3
    assert [RunStore(tmp_path).get(row.run_id).config().lora_r for row in by_number] == [2, 4, 3]
    assert queued(tmp_path) == []
    assert len(starts) == 1 and ends == [result]  # one queue run, however many rounds
    # Again, as the app runs it: the queue study continues and nothing runs twice.
    import threading

    from lorasent_tui.tui.services import QueueRequest, default_sweeper

    boards = []
    again = default_sweeper(QueueRequest(), runs_dir=tmp_path, stop=threading.Event(),
                            callbacks=SweepCallbacks(), on_leaderboard=boards.append)
    assert len(again.leaderboard) == 3 and again.study == QUEUE_STUDY and boards == []


def test_the_queue_module_imports_without_textual_torch_or_optuna():
    import subprocess
    import sys

    code = ("import sys, lorasent_tui.core.sweep.queue_files; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'torch', 'optuna'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
