import pytest
from textual.app import App

from lorasent_tui.tui.predict_panel import NO_RUN_HINT
from lorasent_tui.tui.widgets.examples_table import EXAMPLES
from lorasent_tui.tui.confirm import ConfirmScreen
from lorasent_tui.tui.predict_panel import NON_LATIN_NOTE
from lorasent_tui.tui.widgets.prob_bar import ProbBar
from tests.tui.conftest import SIZE, make_run, run_async, settle, status_text, wait_until
from tests.tui.fakes import FakePredictorFactory, write_fake_onnx_export


def cells(app, column):
    return [str(c) for c in app.query_one("#examples").get_column(column)]


def test_base_model_loads_when_tab_opens_and_fills_examples(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f2")
            assert app.focused.id == "review"
            await settle(pilot)
            assert app.services.predictors.base_loads == 1
            assert [str(c) for c in app.query_one("#examples").get_column("text")] == list(EXAMPLES)
            assert all(c.startswith("positive 0.55") for c in cells(app, "base"))
            assert cells(app, "trained") == ["–"] * 5

    run_async(scenario())


def test_typing_shows_base_and_trained_side_by_side(app_factory, runs_dir):
    app = app_factory()
    run = make_run(runs_dir)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("f3")
            await settle(pilot)
            await pilot.press("p")  # the only run is selected
            await settle(pilot)
            assert app.query_one("#main-tabs").active == "predict"
            assert app.predict_panel.run_id == run.run_id
            # The predicted class with its own probability: P(negative) = 1 - 0.08.
            assert cells(app, "trained")[1].startswith("negative 0.92")

            await pilot.press(*"not good at all")  # the debounce fires by itself
            base, trained = app.query_one("#base-bar", ProbBar), app.query_one("#trained-bar", ProbBar)
            await wait_until(pilot, lambda: trained.label is not None)
            assert (base.label, base.score) == ("positive", 0.55)
            assert (trained.label, trained.score) == ("negative", 0.08)
            assert "P(positive) 0.08" in str(trained.render())

            await pilot.press("ctrl+u", *"great", "enter")  # Enter predicts at once
            await settle(pilot)
            assert (trained.label, trained.score) == ("positive", 0.93)

    run_async(scenario())


def test_predictor_load_failure_is_reported(app_factory):
    class Broken:
        def from_base(self, config):
            raise OSError("model folder not found: /nowhere")

    app = app_factory(predictor_factory=Broken())

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f2")
            await settle(pilot)
            assert "Could not load the model: OSError: model folder not found" in status_text(app)
            await pilot.press(*"fine")  # still typing happily
            assert app.query_one("#review").value == "fine"

    run_async(scenario())


def test_a_tab_opened_before_its_panel_is_mounted_gets_focus_when_it_is(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test_at_once(size=SIZE) as pilot:
            await pilot.press("f2")  # possibly before the lazily mounted Predict panel exists
            await wait_until(pilot, lambda: app.focused is not None and app.focused.id == "review",
                             timeout=15)

    run_async(scenario())


def bars(app):
    return app.query_one("#base-bar", ProbBar), app.query_one("#trained-bar", ProbBar)


def text_of(app, selector):
    return str(app.query_one(selector).render())


async def load_only_run(pilot):
    """Runs tab, p on the (only) run: Predict then scores with it."""
    await settle(pilot)
    await pilot.press("f3")
    await settle(pilot)
    await pilot.press("p")
    await settle(pilot)


def test_clearing_the_input_clears_the_verdicts(app_factory, runs_dir):
    app = app_factory()
    make_run(runs_dir)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await load_only_run(pilot)
            base, trained = bars(app)
            await pilot.press(*"great", "enter")
            await settle(pilot)
            assert trained.label == "positive" and base.label == "positive"
            await pilot.press("ctrl+u")  # the input is empty now: no scores of a text not there
            await pilot.pause()
            assert (base.label, trained.label) == (None, None)
            assert "type a review" in str(trained.render())
            await settle(pilot)  # nothing in flight brings them back
            assert (base.label, trained.label) == (None, None)

    run_async(scenario())


def test_deleting_the_loaded_run_unloads_it(app_factory, runs_dir):
    app = app_factory()
    run = make_run(runs_dir)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await load_only_run(pilot)
            await pilot.press(*"great", "enter")
            await settle(pilot)
            assert text_of(app, "#trained-title") == f"Fine-tuned: {run.run_id} · torch fp32"
            await pilot.press("f3", "d")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await settle(pilot)
            await pilot.press("f2")
            await settle(pilot)
            panel = app.predict_panel
            assert panel.run_id is None and panel.trained is None
            assert text_of(app, "#trained-title") == "Fine-tuned: no run loaded"
            assert f"Run {run.run_id} was deleted, so it is unloaded" in text_of(app, "#predict-source")
            base, trained = bars(app)
            assert trained.label is None and NO_RUN_HINT in str(trained.render())
            assert base.label == "positive"  # the base still scores the text
            assert cells(app, "trained") == ["–"] * 5
            await pilot.press("ctrl+u", *"not good", "enter")
            await settle(pilot)
            assert trained.label is None and base.label == "positive"

    run_async(scenario())


def test_a_run_that_fails_to_load_replaces_the_loaded_one(app_factory, runs_dir):
    class BreaksOnSecondRun(FakePredictorFactory):
        def from_run(self, ref, runs_dir, backend="auto"):
            if self.loaded_runs:
                raise OSError("adapter_model.safetensors is damaged")
            return super().from_run(ref, runs_dir, backend)

    app = app_factory(predictor_factory=BreaksOnSecondRun())
    make_run(runs_dir, "run-a")
    make_run(runs_dir, "run-b")

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.predict_panel.load_run("run-a")
            await settle(pilot)
            assert app.predict_panel.run_id == "run-a"
            app.predict_panel.load_run("run-b")
            await settle(pilot)
            assert "Could not load the model: OSError: adapter_model.safetensors" in status_text(app)
            panel = app.predict_panel
            assert panel.run_id is None and panel.trained is None  # not still scoring with run-a
            assert text_of(app, "#trained-title") == "Fine-tuned: no run loaded"
            assert "Run run-b could not be loaded" in text_of(app, "#predict-source")

    run_async(scenario())


def shown_text(widget) -> str:
    lines = widget.render_lines(widget.region.reset_offset)
    return " ".join(" ".join(line.text for line in lines).split())


@pytest.mark.parametrize("size", [(80, 24), SIZE])
def test_the_no_run_hint_is_shown_whole(app_factory, size):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=size) as pilot:
            await pilot.press("f2")
            await settle(pilot)
            assert NO_RUN_HINT in shown_text(bars(app)[1])

    run_async(scenario())


def test_a_placeholder_too_long_for_its_bar_wraps():
    class Narrow(App):
        CSS = "ProbBar { width: 20; }"

        def compose(self):
            yield ProbBar()

    async def scenario():
        app = Narrow()
        async with app.run_test(size=(40, 10)) as pilot:
            bar = app.query_one(ProbBar)
            bar.clear(NO_RUN_HINT)
            await pilot.pause()
            assert bar.size.height > 1 and shown_text(bar) == NO_RUN_HINT

    run_async(scenario())


def test_long_and_non_latin_texts_say_how_they_were_read(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f2")
            await settle(pilot)
            review = app.query_one("#review")
            review.value = " ".join(["good"] * 30)
            await pilot.press("enter")
            await settle(pilot)
            note = text_of(app, "#reading-note")
            assert note == "Long text (30 tokens): cut to 20 tokens keeping its start and end; the rest is not read."
            review.value = "この映画は本当に素晴らしかった"
            await pilot.press("enter")
            await settle(pilot)
            assert text_of(app, "#reading-note") == NON_LATIN_NOTE
            review.value = "good"
            await pilot.press("enter")
            await settle(pilot)
            assert text_of(app, "#reading-note") == ""

    run_async(scenario())


def fake_onnx_export(run, best_epoch=1, quantization="int8"):
    write_fake_onnx_export(run, best_epoch, quantization)


def test_the_title_says_which_backend_the_fine_tuned_model_runs_on(app_factory, runs_dir):
    app = app_factory()
    with_export, without = make_run(runs_dir, "run-a"), make_run(runs_dir, "run-b")
    fake_onnx_export(with_export)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            panel = app.predict_panel
            panel.load_run("run-a")
            await settle(pilot)
            assert text_of(app, "#trained-title") == "Fine-tuned: run-a · ONNX int8"
            assert "backend auto" in text_of(app, "#predict-source")
            panel.load_run("run-b")
            await settle(pilot)
            assert text_of(app, "#trained-title") == "Fine-tuned: run-b · torch fp32"
            assert app.services.predictors.backends == ["auto", "auto"]

    run_async(scenario())


def test_an_export_of_an_older_epoch_is_not_used(app_factory, runs_dir):
    app = app_factory()
    fake_onnx_export(make_run(runs_dir), best_epoch=0)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await load_only_run(pilot)
            assert text_of(app, "#trained-title").endswith("· torch fp32")

    run_async(scenario())


def test_the_backend_key_cycles_and_reloads_the_run(app_factory, runs_dir):
    app = app_factory()
    run = make_run(runs_dir)
    fake_onnx_export(run, quantization=None)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await load_only_run(pilot)
            assert app.focused.id == "review"
            title = f"Fine-tuned: {run.run_id} · "
            assert text_of(app, "#trained-title") == title + "ONNX fp32"
            for backend, shown in (("torch", "torch fp32"), ("onnx", "ONNX fp32"), ("auto", "ONNX fp32")):
                await pilot.press("ctrl+o")
                await settle(pilot)
                assert app.predict_panel.backend == backend
                assert text_of(app, "#trained-title") == title + shown
                assert f"backend {backend}" in text_of(app, "#predict-source")
                assert f"runs on {shown} now" in status_text(app)
            assert app.services.predictors.backends == ["auto", "torch", "onnx", "auto"]
            await pilot.press(*"great", "enter")
            await settle(pilot)
            assert bars(app)[1].label == "positive"  # the reloaded model scores

    run_async(scenario())


def test_onnx_without_an_export_is_refused_and_the_model_kept(app_factory, runs_dir):
    app = app_factory()
    run = make_run(runs_dir)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await load_only_run(pilot)
            panel = app.predict_panel
            await pilot.press("ctrl+o")  # torch
            await settle(pilot)
            kept = panel.trained
            await pilot.press("ctrl+o")  # onnx: this run has none
            await settle(pilot)
            assert status_text(app) == (f"Backend onnx is not possible: run {run.run_id} has no ONNX export; "
                                        f"run: lorasent-tui export {run.run_id} --onnx; still on torch fp32.")
            assert panel.backend == "torch" and panel.trained is kept and panel.run_id == run.run_id
            assert text_of(app, "#trained-title") == f"Fine-tuned: {run.run_id} · torch fp32"
            await pilot.press("ctrl+o")  # on past the refused one, not onnx again
            await settle(pilot)
            assert panel.backend == "auto"

    run_async(scenario())


def test_onnx_chosen_before_a_run_without_an_export_loads_it_on_torch(app_factory, runs_dir):
    app = app_factory()
    run = make_run(runs_dir)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f2")
            await settle(pilot)
            await pilot.press("ctrl+o", "ctrl+o")  # no run loaded: the choice is kept for the next
            assert app.predict_panel.backend == "onnx"
            assert "fine-tuned backend: onnx" in text_of(app, "#predict-source")
            await load_only_run(pilot)
            assert app.services.predictors.backends == ["onnx", "auto"]
            assert text_of(app, "#trained-title") == f"Fine-tuned: {run.run_id} · torch fp32"
            assert app.predict_panel.backend == "auto"
            assert f"Run {run.run_id} has no ONNX export of its best epoch" in status_text(app)

    run_async(scenario())


def test_the_palette_switches_the_backend(app_factory, runs_dir):
    app = app_factory()
    make_run(runs_dir)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await load_only_run(pilot)
            await pilot.press("f1")
            await app.run_action("switch_backend")
            await settle(pilot)
            assert app.query_one("#main-tabs").active == "predict"
            assert app.predict_panel.backend == "torch"

    run_async(scenario())


def test_exporting_the_loaded_run_moves_it_onto_onnx(app_factory, runs_dir):
    app = app_factory()
    run = make_run(runs_dir)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await load_only_run(pilot)
            assert text_of(app, "#trained-title").endswith("· torch fp32")
            await pilot.press("ctrl+g")
            await settle(pilot)
            assert f"Exported run {run.run_id} as ONNX int8 to " in status_text(app)
            assert text_of(app, "#trained-title") == f"Fine-tuned: {run.run_id} · ONNX int8"

    run_async(scenario())


def test_exporting_with_no_run_loaded_says_so(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f2")
            await settle(pilot)
            await pilot.press("ctrl+g")
            assert status_text(app) == "No fine-tuned run is loaded to export."

    run_async(scenario())


def test_the_readme_names_the_predict_tab_keys():
    from pathlib import Path

    from lorasent_tui.tui.commands import all_bindings, find_binding, key_text

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for binding_id in ("predict-backend", "predict-export-onnx"):
        assert f"{key_text(find_binding(all_bindings(), binding_id))} " in readme, binding_id
