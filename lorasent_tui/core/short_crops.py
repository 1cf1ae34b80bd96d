"""One-sentence crops of the training reviews, trained on besides the reviews themselves.

People type one sentence into the Predict tab, while a model trained on whole reviews has only
seen texts of hundreds of words. A review's last sentence usually holds its verdict ("A must
see.", "Avoid."), so with ``short_crops`` each train review whose last sentence has
MIN_WORDS..MAX_WORDS words also trains as that sentence, with the review's label: about 700
more (short, cheap) rows per 1,000 IMDb reviews. Validation and test reviews are never cropped.
bench/short_reviews.py builds its held-out one-sentence set with the same rule.
"""

from __future__ import annotations

import re
from typing import Sequence

MIN_WORDS, MAX_WORDS = 5, 30
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
MARKUP = re.compile(r"<[^>]+>")  # IMDb reviews hold <br /> line breaks


def last_sentence(review: str) -> str | None:
    """The review's last sentence when it has MIN_WORDS..MAX_WORDS words, else None (a
    one-sentence review is not cropped: it is already short, or one long sentence)."""
    sentences = [s.strip() for s in SENTENCE_END.split(MARKUP.sub(" ", review).strip()) if s.strip()]
    if len(sentences) < 2:
        return None
    words = len(sentences[-1].split())
    return sentences[-1] if MIN_WORDS <= words <= MAX_WORDS else None


def short_crops(texts: Sequence[str], labels: Sequence[int]) -> tuple[list[str], list[int]]:
    """The crops of ``texts`` that exist, with their reviews' labels."""
    pairs = [(crop, label) for crop, label in ((last_sentence(t), y) for t, y in zip(texts, labels))
             if crop is not None]
    return [crop for crop, _ in pairs], [label for _, label in pairs]
