"""Textual front end of lorasent-tui.

Nothing here may import torch, transformers, peft, datasets, sklearn or pandas at module
import time: the first frame must not wait for them. The heavy core modules (trainer,
predict, data) are imported inside thread workers, see ``services.py``.
"""
