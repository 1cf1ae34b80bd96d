"""lorasent-tui: LoRA fine-tuning of small BERT-family encoders for sentiment, in a terminal."""

__version__ = "0.1.0"
