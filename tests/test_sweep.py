"""Sweeps and queues: every trial is an ordinary run, ranked in an Optuna study."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from lorasent_tui.cli import TRAIN_FLAGS, main
from lorasent_tui.core.config import build_config
from lorasent_tui.core.errors import ConfigError
from lorasent_tui.core.records import best_row
from lorasent_tui.core.store import Run, RunStore
from lorasent_tui.core.sweep.events import SweepCallbacks
from lorasent_tui.core.sweep.parallel import split_trials, worker_command
from lorasent_tui.core.sweep.space import parse_space
from lorasent_tui.core.sweep.study import StopSignal, open_sweep, run_trials, search_chooser
from tests.test_kill import wait_for

TINY = {"train_size": 24, "eval_size": 16, "epochs": 2, "max_length": 32, "batch_size": 8,
        "device": "cpu", "seed": 7, "logging_steps": 1}


def toml_lines(values: dict) -> str:
    return "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())


@pytest.fixture
def space_file(tmp_path, tiny_model_dir):
    def write(search: str, name: str = "space", **fixed) -> str:
        path = tmp_path / f"{name}.toml"
        path.write_text(toml_lines({"model": str(tiny_model_dir("bert")), **TINY, **fixed})
                        + "[search]\n" + search)
        return str(path)

    return write


@pytest.fixture(autouse=True)
def keep_signal_handlers():
    """The sweep command installs its Ctrl+C handler in the main thread: give pytest its own back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


# -- the search space ----------------------------------------------------------------------

@pytest.mark.parametrize("search, named", [
    ("lora_rank = {low = 2, high = 8}\n", "search.lora_rank: unknown setting"),
    ("learning_rate = {low = 1e-2, high = 1e-4}\n", "search.learning_rate: low (0.01) must be below"),
    ("learning_rate = {low = 0.0, high = 0.1, log = true}\n", "search.learning_rate: a log range"),
    ("learning_rate = {low = 1e-4, high = 5.0}\n", "search.learning_rate: high 5.0: must be > 0"),
    ("lora_r = {choices = [4, 0]}\n", "search.lora_r: choice 0: must be between 1 and 1024"),
    ("lora_r = {low = 2.5, high = 8}\n", "search.lora_r: low must be a whole number"),
    ("truncation = {low = 1, high = 2}\n", "search.truncation: this setting takes choices"),
    ("truncation = {choices = [\"left\", \"middle\"]}\n", "search.truncation: choice 'middle'"),
    ("lora_r = {low = 2, high = 8, lo = 1}\n", "search.lora_r: unknown key 'lo'"),
    ("epochs = {choices = [1, 2]}\n", "search.epochs: is also set as a fixed setting"),
    ("", "search: a [search] table"),
])
def test_bad_space_exits_2_with_one_line_naming_the_setting(space_file, tmp_path, capsys, search, named):
    path = space_file(search)
    capsys.readouterr()  # building the tiny model writes progress bars
    assert main(["sweep", path, "--runs-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err, err
    assert not (tmp_path / "runs").exists()  # rejected before any study or run exists


def test_a_flag_fixes_a_setting_and_conflicts_with_a_searched_one(space_file, tmp_path, capsys):
    path = space_file("learning_rate = {low = 1e-4, high = 1e-2, log = true}\n")
    assert main(["sweep", path, "--learning-rate", "0.001", "--runs-dir", str(tmp_path)]) == 2
    assert "search.learning_rate: is also set" in capsys.readouterr().err
    assert main(["sweep", path, "--lora-r", "0", "--runs-dir", str(tmp_path)]) == 2
    assert "lora_r: must be between 1 and 1024" in capsys.readouterr().err


def test_space_suggests_configs_that_the_config_accepts():
    import optuna

    space = parse_space({"epochs": 1, "search": {
        "learning_rate": {"low": 1e-4, "high": 1e-2, "log": True},
        "lora_r": {"low": 4, "high": 16, "step": 4},
        "target_modules": {"choices": [["query", "value"], ["query"]]},
        "warmup_ratio": {"low": 0.0, "high": 0.2, "step": 0.1}}})
    params = {"learning_rate": 3e-3, "lora_r": 12, "target_modules": "query,value", "warmup_ratio": 0.1}
    assert space.suggest(optuna.trial.FixedTrial(params)) == params
    config = space.config_for(params)
    assert (config.epochs, config.lora_r, config.target_modules) == (1, 12, ["query", "value"])
    with pytest.raises(ConfigError, match="grid sampler needs choices or a step"):
        space.grid()


def test_grid_of_ranges_with_steps_and_choices():
    space = parse_space({"search": {"lora_r": {"low": 4, "high": 16, "step": 4},
                                    "warmup_ratio": {"low": 0.0, "high": 0.2, "step": 0.1},
                                    "truncation": {"choices": ["left", "right"]}}})
    assert space.grid() == {"lora_r": [4, 8, 12, 16], "warmup_ratio": [0.0, 0.1, 0.2],
                            "truncation": ["left", "right"]}


# -- trials are runs -----------------------------------------------------------------------

def sweep_json(capsys, argv) -> tuple[int, dict]:
    status = main(["sweep", *argv, "--json"])
    return status, json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_random_sweep_runs_trials_as_runs_ranks_them_and_continues(space_file, tmp_path, capsys):
    runs = tmp_path / "runs"
    path = space_file("learning_rate = {low = 1e-4, high = 3e-2, log = true}\n"
                      "lora_r = {choices = [2, 4]}\n", name="lr", epochs=1)
    status, board = sweep_json(capsys, [path, "--trials", "3", "--sampler", "random", "--no-prune",
                                        "--runs-dir", str(runs)])
    assert status == 0 and board["study"] == "lr" and board["metric"] == "accuracy"
    trials = board["trials"]
    assert sorted(t["number"] for t in trials) == [0, 1, 2]
    assert all(t["state"] == "complete" for t in trials)
    for trial in trials:
        run = RunStore(runs).get(trial["run_id"])
        status_json = run.status()
        assert status_json["sweep"] == {"study": "lr", "trial": trial["number"]}
        assert run.summary().sweep == {"study": "lr", "trial": trial["number"]}
        assert trial["run_id"].startswith(f"lr-trial{trial['number']:03d}-")
        best = best_row(run.metrics(), status_json["best_epoch"])
        assert trial["value"] == pytest.approx(best["accuracy"])
        config = run.config()
        assert (config.learning_rate, config.lora_r) == (trial["params"]["learning_rate"],
                                                          trial["params"]["lora_r"])
    values = [t["value"] for t in trials]
    assert values == sorted(values, reverse=True)
    assert board["best"]["number"] == trials[0]["number"] and trials[0]["is_best"]
    assert (runs / "sweeps" / "lr.db").is_file()

    # The same study again: it continues, adding trials to the three it holds.
    status, board = sweep_json(capsys, [path, "--trials", "1", "--sampler", "random",
                                        "--runs-dir", str(runs)])
    assert status == 0 and sorted(t["number"] for t in board["trials"]) == [0, 1, 2, 3]
    assert len(RunStore(runs).run_dirs()) == 4  # the sweeps folder is not a run
    assert all(s.state == "completed" for s in RunStore(runs).list())

    # The best trial's settings, trained again through --config, give its result.
    best = RunStore(runs).get(board["best"]["run_id"])
    assert main(["train", "--config", str(best.path / "config.json"), "--runs-dir", str(tmp_path / "again"),
                 "--quiet"]) == 0
    (again,) = RunStore(tmp_path / "again").list()
    assert again.best_accuracy == pytest.approx(board["best"]["value"], abs=1e-9)


def test_a_pruned_trial_is_recorded_as_pruned(tiny_model_dir, tmp_path):
    import optuna

    space = parse_space({"model": str(tiny_model_dir("bert")), **TINY,
                         "search": {"lora_r": {"choices": [2]}}})
    # Accuracy never exceeds 1.1: the first epoch's report prunes the trial.
    sweep = open_sweep("prune", runs_dir=tmp_path, pruner=optuna.pruners.ThresholdPruner(lower=1.1))
    result = run_trials(sweep, search_chooser(space), 1)
    (row,) = result.leaderboard
    assert row.state == "pruned" and row.value is not None and not row.is_best
    run = RunStore(tmp_path).get(row.run_id)
    assert run.status()["state"] == "stopped" and run.status()["pruned"] is True
    summary = run.summary()
    assert summary.pruned and summary.epochs_done == 1 and summary.state == "stopped"


def test_stopping_the_sweep_stops_its_trial_and_ends_the_sweep(tiny_model_dir, tmp_path):
    space = parse_space({"model": str(tiny_model_dir("bert")), **TINY,
                         "search": {"lora_r": {"choices": [2, 4]}}})
    sweep = open_sweep("stop", runs_dir=tmp_path, stop=StopSignal(file=tmp_path / "STOP"))
    callbacks = SweepCallbacks()
    callbacks.train.on_epoch = lambda event: (tmp_path / "STOP").touch()
    result = run_trials(sweep, search_chooser(space), 5, callbacks)
    (row,) = result.leaderboard
    assert result.stopped and row.state == "stopped"
    run = RunStore(tmp_path).get(row.run_id)
    assert run.status()["state"] == "stopped" and "pruned" not in run.status()
    assert run.summary().epochs_done == 1


def test_queue_runs_configs_in_order_and_skips_completed_ones(tiny_model_dir, tmp_path, capsys):
    folder = tmp_path / "queue"
    folder.mkdir()
    for name, rank in (("a", 2), ("b", 4), ("c", 3)):
        (folder / f"{name}.toml").write_text(toml_lines({"model": str(tiny_model_dir("bert")), **TINY,
                                                         "epochs": 1, "lora_r": rank}))
    runs = tmp_path / "runs"
    status, board = sweep_json(capsys, ["--configs", str(folder), "--runs-dir", str(runs)])
    assert status == 0 and board["study"] == "queue"
    by_number = sorted(board["trials"], key=lambda t: t["number"])
    assert [t["params"]["config"].rsplit("/", 1)[-1] for t in by_number] == ["a.toml", "b.toml", "c.toml"]
    assert [RunStore(runs).get(t["run_id"]).config().lora_r for t in by_number] == [2, 4, 3]
    status, board = sweep_json(capsys, ["--configs", str(folder), "--runs-dir", str(runs)])
    assert status == 0 and len(board["trials"]) == 3  # nothing left to run


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")
def test_a_dead_workers_running_trial_is_marked_failed(tmp_path):
    from optuna.trial import TrialState

    sweep = open_sweep("stale", runs_dir=tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    trial = sweep.study.ask()
    trial.set_user_attr("host", socket.gethostname())
    trial.set_user_attr("pid", int(dead.stdout))
    alive = sweep.study.ask()
    alive.set_user_attr("host", socket.gethostname())
    alive.set_user_attr("pid", os.getpid())
    reopened = open_sweep("stale", runs_dir=tmp_path)
    assert reopened.failed_stale == (trial.number,)
    states = {t.number: t.state for t in reopened.study.trials}
    assert states == {trial.number: TrialState.FAIL, alive.number: TrialState.RUNNING}


def test_a_study_keeps_its_metric(tmp_path):
    open_sweep("m", runs_dir=tmp_path, metric="f1")
    with pytest.raises(ConfigError, match="ranks trials by f1"):
        open_sweep("m", runs_dir=tmp_path, metric="eval_loss")
    with pytest.raises(ConfigError, match="unknown metric 'auc'"):
        open_sweep("n", runs_dir=tmp_path, metric="auc")
    assert open_sweep("l", runs_dir=tmp_path, metric="eval_loss").study.direction.name == "MINIMIZE"


def test_journal_file_storage(tmp_path):
    journal = tmp_path / "shared" / "study.log"
    journal.parent.mkdir()
    sweep = open_sweep("j", runs_dir=tmp_path, storage=str(journal))
    sweep.study.enqueue_trial({})
    assert journal.is_file() and len(open_sweep("j", runs_dir=tmp_path, storage=str(journal)).study.trials) == 1


# -- several processes -----------------------------------------------------------------------

def test_trials_are_shared_among_workers():
    assert split_trials(5, 2) == [3, 2] and split_trials(1, 3) == [1]


def test_every_train_flag_is_its_field_name():
    """Workers get the fixed settings back as --field-name flags (sweep_cli.worker_args)."""
    assert all(flag == "--" + name.replace("_", "-") for flag, name, _help in TRAIN_FLAGS)


def test_worker_command_repeats_the_sweep_with_its_study_and_storage(tmp_path):
    from lorasent_tui.cli import build_parser
    from lorasent_tui.sweep_cli import fixed_flags, worker_args

    args = build_parser().parse_args(["sweep", "s.toml", "--lora-r", "4", "--preset", "seed",
                                      "--no-prune", "--parallel", "2", "--runs-dir", str(tmp_path)])
    command = worker_command(worker_args(args, "s", "sqlite:///x.db"), 3, 1)
    assert command[:4] == [sys.executable, "-m", "lorasent_tui", "sweep"]
    worker = build_parser().parse_args(command[3:])
    assert fixed_flags(worker) == fixed_flags(args) == {"lora_r": "4", "preset": "seed"}
    assert (worker.study, worker.storage, worker.trials, worker.worker, worker.parallel) == \
        ("s", "sqlite:///x.db", 3, 1, 1)
    assert worker.no_prune and worker.runs_dir == str(tmp_path) and worker.space == "s.toml"


@pytest.mark.slow
def test_two_workers_share_one_grid_study(space_file, tmp_path, capsys):
    path = space_file("lora_r = {choices = [2, 4]}\nlearning_rate = {choices = [0.001, 0.01]}\n",
                      name="grid", epochs=1)
    status, board = sweep_json(capsys, [path, "--sampler", "grid", "--parallel", "2",
                                        "--runs-dir", str(tmp_path / "runs")])
    assert status == 0
    params = [tuple(sorted(t["params"].items())) for t in board["trials"]]
    assert len(params) == 4 and len(set(params)) == 4
    assert all(t["state"] == "complete" for t in board["trials"])
    # Every grid point is done: the study runs nothing more.
    status, again = sweep_json(capsys, [path, "--sampler", "grid", "--runs-dir", str(tmp_path / "runs")])
    assert status == 0 and len(again["trials"]) == 4


def test_stop_signal_follows_its_parent_and_its_file(tmp_path):
    parent = StopSignal()
    child = StopSignal(parent=parent)
    filed = StopSignal(file=tmp_path / "STOP")
    assert not child.is_set() and not filed.is_set()
    parent.set()
    (tmp_path / "STOP").touch()
    assert child.is_set() and filed.is_set()


def test_build_config_is_the_rule_for_choices():
    # The space rejects exactly what build_config rejects (one definition of the rules).
    with pytest.raises(ConfigError) as exc:
        build_config({"lora_dropout": 1.0})
    with pytest.raises(ConfigError, match=exc.value.field_errors["lora_dropout"]):
        parse_space({"search": {"lora_dropout": {"choices": [0.0, 1.0]}}})


def test_the_sweeps_folder_is_not_a_run(tmp_path):
    from lorasent_tui.core.errors import RunError
    from lorasent_tui.core.store import check_run_id

    open_sweep("s", runs_dir=tmp_path)
    assert (tmp_path / "sweeps" / "s.db").is_file()
    assert RunStore(tmp_path).list() == []
    with pytest.raises(RunError):
        check_run_id("sweeps")


def test_sweep_modules_import_without_textual_torch_or_optuna():
    code = ("import sys, lorasent_tui.commands, lorasent_tui.sweep_cli, lorasent_tui.core.sweep.study, "
            "lorasent_tui.core.sweep.parallel; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'torch', 'optuna'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def stderr_until_exit(lines) -> str:
    return "\n".join(iter(lambda: lines.get(timeout=60), None))


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_a_killed_trial_does_not_block_the_study(space_file, zygote, tmp_path, capsys):
    from optuna.trial import TrialState

    runs = tmp_path / "runs"
    path = space_file("lora_r = {choices = [2, 4, 8]}\n", name="k", epochs=2)
    argv = [path, "--sampler", "random", "--no-prune", "--runs-dir", str(runs), "--trials", "2"]

    # Ctrl+C during the first trial: it stops at its next step; the sweep ends with 130.
    # (A forked sweep process: the CLI's own process and signal handlers, imports done once.)
    stdout = tmp_path / "stdout.txt"
    pid, lines = zygote.start(["sweep", *argv], stdout=stdout)
    wait_for(lines, "trial 0 epoch 1")
    os.kill(pid, signal.SIGINT)
    returncode = zygote.wait(pid, timeout=120)
    err = stderr_until_exit(lines)
    assert returncode == 130 and "Traceback" not in err, err
    out = stdout.read_text(encoding="utf-8")
    assert out.splitlines()[1].split()[:2] == ["0", "stopped"]  # the leaderboard's only row
    (stopped,) = RunStore(runs).list()
    assert stopped.state == "stopped" and stopped.sweep == {"study": "k", "trial": 0}

    # SIGKILL during the next trial: its process is gone, its trial still RUNNING in the study.
    pid, lines = zygote.start(["sweep", *argv])
    wait_for(lines, "trial 1 epoch 1")
    zygote.kill(pid)

    status, board = sweep_json(capsys, argv[:-1] + ["1"])
    states = {t["number"]: t["state"] for t in board["trials"]}
    assert status == 0 and states == {0: "stopped", 1: "fail", 2: "complete"}
    study = open_sweep("k", runs_dir=runs).study
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.FAIL, TrialState.COMPLETE]
    killed = RunStore(runs).get(next(t["run_id"] for t in board["trials"] if t["number"] == 1))
    assert killed.effective_state() == "interrupted"


def test_a_user_error_in_a_trial_ends_the_sweep_with_one_line(space_file, tmp_path, capsys):
    path = space_file("lora_r = {choices = [2, 4]}\n", dataset=str(tmp_path / "missing.csv"))
    capsys.readouterr()
    assert main(["sweep", path, "--trials", "3", "--runs-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("lorasent-tui: error: ") and "missing.csv" in err
    assert "Traceback" not in err
    (trial,) = open_sweep("space", runs_dir=tmp_path / "runs").study.trials
    assert trial.state.name == "FAIL"  # every trial would fail alike: the sweep stops at the first


@pytest.mark.parametrize("storage, message", [
    ("nosuchdb://host/db", "cannot open storage nosuchdb://host/db"),
    ("study.txt", "storage: 'study.txt': give a database URL"),
])
def test_a_bad_storage_is_one_line(space_file, tmp_path, capsys, storage, message):
    path = space_file("lora_r = {choices = [2, 4]}\n")
    capsys.readouterr()
    assert main(["sweep", path, "--storage", storage, "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_a_sqlite_file_path_is_a_storage(tmp_path):
    sweep = open_sweep("p", runs_dir=tmp_path, storage=str(tmp_path / "elsewhere.db"))
    assert (tmp_path / "elsewhere.db").is_file() and sweep.storage == str(tmp_path / "elsewhere.db")


def test_status_prints_the_leaderboard_of_a_study_another_process_runs(tmp_path, capsys):
    import optuna

    runs = tmp_path / "runs"
    (runs / "sweeps").mkdir(parents=True)
    study = optuna.create_study(study_name="lr", storage=f"sqlite:///{runs / 'sweeps' / 'lr.db'}",
                                direction="maximize")
    study.set_user_attr("metric", "accuracy")
    rate = optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)
    for value, lr in ((0.81, 1e-3), (0.86, 3e-3)):
        study.add_trial(optuna.trial.create_trial(params={"learning_rate": lr},
                                                  distributions={"learning_rate": rate}, value=value))
    study.enqueue_trial({"learning_rate": 5e-3})
    study.ask()  # a trial still running elsewhere

    assert main(["sweep", "--status", "--runs-dir", str(runs)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "study lr (accuracy, 3 trials)"
    assert out[2].startswith("1 *") and "0.8600" in out[2] and out[3].startswith("0 ")
    assert "running" in out[4]
    assert main(["sweep", "--status", "--study", "lr", "--json", "--runs-dir", str(runs)]) == 0
    (board,) = json.loads(capsys.readouterr().out)
    assert board["best"]["value"] == 0.86
    assert main(["sweep", "--status", "--study", "nope", "--runs-dir", str(runs)]) == 2
    assert "no study 'nope'" in capsys.readouterr().err
    assert sorted(p.name for p in (runs / "sweeps").iterdir()) == ["lr.db"]  # a status writes nothing
