"""User-facing errors: one clear line, no traceback, exit status 2 in the CLI."""


class LorasentError(Exception):
    """An error caused by the user's input or environment, shown as one line."""

    exit_code = 2


class ConfigError(LorasentError):
    """One or more configuration fields are invalid.

    ``field_errors`` maps a field name to its message so a form can flag each field.
    """

    def __init__(self, field_errors: dict[str, str]):
        self.field_errors = dict(field_errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.field_errors.items()))


class DataError(LorasentError):
    """A dataset or data file cannot be used."""


class ModelError(LorasentError):
    """A model cannot be resolved or loaded."""


class RunError(LorasentError):
    """A run cannot be found, read or written."""


def describe_exception(exc: BaseException) -> str:
    """One line for any exception, with advice for the failures users can fix."""
    if isinstance(exc, LorasentError):
        return str(exc)
    text = str(exc) or type(exc).__name__
    if "out of memory" in text.lower():
        return ("CUDA out of memory: lower --batch-size or --max-length "
                "(or use --device cpu) and try again")
    if isinstance(exc, OSError) and getattr(exc, "errno", None) == 28:
        return f"disk full while writing: {exc.filename or text}; free space and resume the run"
    if isinstance(exc, PermissionError):
        return f"permission denied: {exc.filename or text}"
    first_line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"{type(exc).__name__}: {first_line}"
