"""Class names, defined once: the binary default and how a label column's values become classes.

A label column holds integers 0..N-1 (or other numbers), or strings that are the class names.
Data whose values all read as negative/positive (0/1, true/false, neg/pos, negative/positive, in
any mix) is binary sentiment with the names ``LABEL_NAMES``, exactly as before multi-class
support. Otherwise each distinct value is a class, named by its text (numbers canonical: ``1.0``
is ``1``; sentiment words canonical: ``neg`` is ``negative``) and ordered: known sentiment words
negative → neutral → positive, numbers numerically, anything else alphabetically.

Given names (``--labels a,b,c``) fix the names and order: the data's values must be among them,
or be class ids 0..N-1. Pure Python: imported by the app before numpy or torch.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable, Sequence

LABEL_NAMES = ("negative", "positive")  # binary sentiment: label 1 is positive

# Label values that mean binary sentiment, lower-cased: numbers, booleans, names and short forms.
LABEL_WORDS = {
    "0": 0, "1": 1, "0.0": 0, "1.0": 1,
    LABEL_NAMES[0]: 0, LABEL_NAMES[1]: 1, "neg": 0, "pos": 1,
    "false": 0, "true": 1,
}

# Sentiment words in their order, with the short forms that mean the same class.
SENTIMENT_ORDER = ("very negative", "negative", "neutral", "positive", "very positive")
SENTIMENT_ALIASES = {"neg": "negative", "neu": "neutral", "pos": "positive"}


def run_label_names(labels: Sequence[str] | None) -> tuple[str, ...]:
    """A run's class names from its config's ``labels``: None (every run saved before
    multi-class support, and binary sentiment runs) means negative/positive."""
    return tuple(labels) if labels else LABEL_NAMES


def recorded_labels(names: Sequence[str]) -> list[str] | None:
    """What a run's config records for its data's class names: nothing for binary sentiment
    (so such a run's config.json is what it always was), else the names, which fix the class
    ids when the run resumes, reloads or exports."""
    return None if tuple(names) == LABEL_NAMES else list(names)


class LabelError(ValueError):
    """Label values that cannot become classes; the message names them (the caller adds where)."""


def binary_value(value: Any) -> int | None:
    """0 or 1 for a cell meaning binary sentiment (0/1, a boolean or a label word), else None."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Integral):
        return int(value) if value in (0, 1) else None
    if isinstance(value, numbers.Real):
        return int(value) if value in (0.0, 1.0) else None
    if isinstance(value, str):
        return LABEL_WORDS.get(value.strip().lower())
    return None


def number_text(value: Any) -> str | None:
    """The canonical text of a number (``1.0`` → ``1``), None if ``value`` is not a finite one."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    if not math.isfinite(number):
        return None
    return str(int(number)) if number.is_integer() else repr(number)


def class_name(value: Any) -> str | None:
    """The class a cell names, None for an empty cell (None, NaN, blank text)."""
    if isinstance(value, bool):
        return str(int(value))
    number = number_text(value)
    if number is not None:
        return number
    if not isinstance(value, str):
        return None
    text = value.strip()
    folded = " ".join(text.lower().split())
    if folded in SENTIMENT_ORDER:
        return folded
    return SENTIMENT_ALIASES.get(folded, text) or None


def ordered(names: Iterable[str]) -> tuple[str, ...]:
    """Sentiment words negative → neutral → positive, numbers numerically, the rest alphabetically."""
    names = set(names)
    if names <= set(SENTIMENT_ORDER):
        return tuple(sorted(names, key=SENTIMENT_ORDER.index))
    if all(number_text(n) == n for n in names):
        return tuple(sorted(names, key=float))
    return tuple(sorted(names, key=lambda n: (n.casefold(), n)))


def check_names(names: Sequence[str]) -> tuple[str, ...]:
    """Given class names, stripped; ValueError for fewer than two, blanks or repeats."""
    cleaned = tuple(str(n).strip() for n in names)
    if len(cleaned) < 2:
        raise ValueError("give at least two class names")
    if not all(cleaned):
        raise ValueError("a class name is empty")
    canonical = [class_name(n) for n in cleaned]
    repeated = sorted({n for n, c in zip(cleaned, canonical) if canonical.count(c) > 1})
    if repeated:
        raise ValueError(f"repeated class name{'s' if len(repeated) > 1 else ''}: "
                         f"{', '.join(repeated)}")
    return cleaned


def class_ids(values: Iterable[Any],
              given: Sequence[str] | None = None) -> tuple[tuple[str, ...], dict[Any, int]]:
    """The class names of a column's distinct non-empty values and each value's class id.

    Raises ``LabelError`` naming the values that are not among ``given``.
    """
    values = list(dict.fromkeys(values))
    if given is not None:
        return given_ids(values, check_names(given))
    if all(binary_value(v) is not None for v in values):
        return LABEL_NAMES, {v: binary_value(v) for v in values}
    names = {v: class_name(v) for v in values}
    order = ordered(names.values())
    return order, {v: order.index(name) for v, name in names.items()}


def given_ids(values: list[Any], given: tuple[str, ...]) -> tuple[tuple[str, ...], dict[Any, int]]:
    """Values matched to given names by name, else read as class ids 0..N-1."""
    canonical = {class_name(n): i for i, n in enumerate(given)}
    by_name = {v: canonical.get(class_name(v)) for v in values}
    if all(i is not None for i in by_name.values()):
        return given, by_name
    ids = {v: int(t) if t is not None and t.isdigit() and int(t) < len(given) else None
           for v, t in ((v, class_name(v)) for v in values)}
    if all(i is not None for i in ids.values()):
        return given, ids
    unknown = sorted({class_name(v) for v in values if by_name[v] is None and ids[v] is None}
                     or {class_name(v) for v in values if by_name[v] is None})
    shown = ", ".join(repr(u) for u in unknown[:5]) + (
        f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
    noun = "value" if len(unknown) == 1 else "values"
    raise LabelError(f"label {noun} {shown} not among the given labels {', '.join(given)}")
