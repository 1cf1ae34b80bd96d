"""Sweeps on a PostgreSQL study storage, against a throwaway server started for these tests
(tests/postgres_server.py); skipped where PostgreSQL or its driver is not installed."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from lorasent_tui.cli import main
from lorasent_tui.core.store import RunStore
from lorasent_tui.core.sweep.storage import open_storage
from lorasent_tui.core.sweep.study import open_sweep
from tests.postgres_server import Unavailable, throwaway_server
from tests.test_sweep import TINY, toml_lines


@pytest.fixture(scope="module")
def postgres():
    try:
        with throwaway_server() as server:
            yield server
    except Unavailable as exc:
        pytest.skip(str(exc))


def test_processes_opening_a_new_database_at_once_all_get_the_study(postgres):
    """Each opener creates Optuna's tables in a new database; all but one lose that race."""
    name = postgres.database()
    url = postgres.url(name)
    errors: list[str] = []

    def opener() -> None:
        try:
            open_storage(url)
        except Exception as exc:  # noqa: BLE001 - the test reports any failure
            errors.append(str(exc))

    # Hold the catalog still: both openers find no tables, then wait to create them together.
    with postgres.connect(name) as hold, postgres.connect(autocommit=True) as admin:
        hold.execute("LOCK TABLE pg_catalog.pg_type IN SHARE MODE")
        threads = [threading.Thread(target=opener) for _ in range(2)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                            "AND wait_event_type = 'Lock'", (name,)).fetchone()[0] < 2:
            assert time.monotonic() < deadline and not errors, errors
            time.sleep(0.05)
        hold.rollback()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")
def test_a_connection_the_server_closed_while_idle_is_replaced(postgres, tmp_path):
    # Between two epochs' reports a trial leaves its connections idle for minutes.
    url = postgres.url(postgres.database("idle_session_timeout = '500ms'"))
    sweep = open_sweep("idle", runs_dir=tmp_path, storage=url)
    trial = sweep.study.ask()
    time.sleep(1.0)
    trial.report(0.5, 1)
    assert sweep.study.trials[0].intermediate_values == {1: 0.5}


def test_a_missing_driver_is_named_with_the_extra_that_installs_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    storage = "postgresql://sweeper:secret@db.example.org/lorasent"
    assert main(["sweep", "--status", "--storage", storage, "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "secret" not in err, err
    assert "its driver psycopg is not installed; pip install 'psycopg[binary]'" in err


def start_sweep(argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lorasent_tui", "sweep", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_two_sweep_processes_share_one_grid_study(postgres, tiny_model_dir, tmp_path, capsys):
    url = postgres.url(postgres.database())
    space = tmp_path / "space.toml"
    space.write_text(toml_lines({"model": str(tiny_model_dir("bert")), **TINY, "epochs": 1})
                     + "[search]\nlora_r = {choices = [2, 4]}\nlearning_rate = {choices = [0.001, 0.01]}\n")
    runs = tmp_path / "runs"
    argv = [str(space), "--study", "pg", "--storage", url, "--sampler", "grid", "--trials", "2",
            "--runs-dir", str(runs), "--json"]
    processes = [start_sweep(argv) for _ in range(2)]
    outputs = [process.communicate(timeout=300) for process in processes]
    for process, (_out, err) in zip(processes, outputs):
        assert process.returncode == 0, err

    capsys.readouterr()
    assert main(["sweep", "--status", "--storage", url, "--json", "--runs-dir", str(runs)]) == 0
    (board,) = json.loads(capsys.readouterr().out)  # one study in the database
    trials = board["trials"]
    assert board["study"] == "pg" and sorted(t["number"] for t in trials) == [0, 1, 2, 3]
    assert all(t["state"] == "complete" for t in trials)
    points = {(t["params"]["lora_r"], t["params"]["learning_rate"]) for t in trials}
    assert points == {(2, 0.001), (2, 0.01), (4, 0.001), (4, 0.01)}  # each grid point once
    # Each process ran two of the trials; each trial is a run.
    assert all(err.count("complete: accuracy") == 2 for _out, err in outputs)
    assert {run.run_id for run in RunStore(runs).list()} == {t["run_id"] for t in trials}
    for trial in trials:
        assert RunStore(runs).get(trial["run_id"]).status()["sweep"] == {"study": "pg", "trial": trial["number"]}

    assert main(["sweep", "--status", "--storage", url, "--study", "pg", "--runs-dir", str(runs)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0] == "study pg (accuracy, 4 trials)" and table[1].startswith("Trial")
    assert len([line for line in table if "complete" in line]) == 4
