"""Keep the cyclic GC from walking long-lived objects.

torch, transformers, a model, tokenized data and Textual's own objects are a few hundred
thousand objects; a full GC pass over them holds the GIL for 0.1-0.4 s on a slow CPU, which
showed as random UI stalls. Frozen, the collector skips them.
"""

from __future__ import annotations

import gc


def freeze_long_lived() -> None:
    """Collect garbage now, then take every object still alive out of future GC passes."""
    gc.collect()
    gc.freeze()
