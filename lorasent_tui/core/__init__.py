"""Headless core of lorasent-tui.

Nothing under this package may import textual: the CLI, scripts and CI use it without a UI,
and a test checks that in a fresh interpreter. Heavy libraries (torch, transformers, peft)
are imported inside functions so that importing the core stays cheap.
"""
