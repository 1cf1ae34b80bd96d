import json

import numpy as np
import pytest

from lorasent_tui.core.errors import RunError
from lorasent_tui.core.predictions import prediction_set, read_predictions, write_predictions

NAMES = ["negative", "neutral", "positive"]


def test_round_trip_keeps_everything(tmp_path):
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3]])
    texts = ["bad", "line\u2028separator inside", "so-so \"quoted\"\nnewline"]
    written = prediction_set([0, 1, "x"], [0, 1, 1], probs, NAMES, texts)
    path = tmp_path / "predictions.jsonl"
    write_predictions(path, written)
    read = read_predictions(path)
    assert read.ids == [0, 1, "x"] and read.label_names == NAMES and read.texts == texts
    assert read.y_true.tolist() == [0, 1, 1] and read.y_pred.tolist() == [0, 2, 1]
    assert np.allclose(read.probs, probs) and np.allclose(read.loss, -np.log([0.7, 0.3, 0.5]))
    first = json.loads(path.read_text().split("\n")[0])
    assert first["label"] == "negative" and first["predicted"] == "negative"
    assert first["probs"] == {"negative": 0.7, "neutral": 0.2, "positive": 0.1}


def test_without_texts_and_damaged_line(tmp_path):
    path = tmp_path / "p.jsonl"
    write_predictions(path, prediction_set([0], [1], [[0.4, 0.6]], ["negative", "positive"]))
    assert read_predictions(path).texts is None
    path.write_text(path.read_text() + "{not json\n")
    with pytest.raises(RunError, match="line 2"):
        read_predictions(path)
