"""How a prediction reads a text (Predictor.reading), and the non-Latin script note."""

import pytest

from lorasent_tui.core.config import build_config
from lorasent_tui.core.predict import Predictor, TextReading, mostly_non_latin
from tests.tiny_models import make_tiny_model


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    return make_tiny_model("bert", tmp_path_factory.mktemp("tiny") / "bert")


@pytest.mark.parametrize("windows,layout", [(False, "cover"), (True, "cover"), (True, "overlap")])
def test_reading_matches_the_views_predict_uses(tiny_bert, windows, layout):
    config = build_config({"model": str(tiny_bert), "max_length": 32, "truncation": "head_tail",
                           "sliding_windows": windows, "window_layout": layout})
    predictor = Predictor.from_base(config)
    short = predictor.reading("a fine film")
    assert (short.tokens, short.budget, short.views, short.describe()) == (3, 30, 1, "")
    long = predictor.reading(" ".join(["good"] * 100))
    assert (long.tokens, long.budget) == (100, 30)
    head = "Long text (100 tokens, the model reads 30 at a time): read as "
    if not windows:
        assert long.views == 1
        assert long.describe() == ("Long text (100 tokens): cut to 30 tokens keeping its start and end; "
                                   "the rest is not read.")
    elif layout == "cover":  # ceil(100 / 30) windows
        assert long.views == 4
        assert long.describe() == head + "4 windows covering all of it, verdicts averaged."
    else:  # the cut, and windows half a view apart: starts 0, 15, 30, 45, 60, 70
        assert long.views == 7
        assert long.describe().startswith(head + "6 overlapping windows")


def test_reading_describes_each_truncation_side():
    assert "keeping its end;" in TextReading(50, 10, "left").describe()
    assert "keeping its start;" in TextReading(50, 10, "right").describe()


def test_mostly_non_latin():
    assert mostly_non_latin("この映画は本当に素晴らしかった")
    assert mostly_non_latin("Фильм отличный, great")
    assert not mostly_non_latin("Un film très réussi, à voir ! 映画")
    assert not mostly_non_latin("12345 !!!")
