import os
import warnings

import pytest

# Everything the suite needs is local: a hub request would be a bug, so make it fail fast.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
warnings.filterwarnings("ignore", category=FutureWarning)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    from tests.tiny_models import make_tiny_model

    cache = {}

    def build(arch: str):
        if arch not in cache:
            cache[arch] = make_tiny_model(arch, tmp_path_factory.mktemp(f"tiny-{arch}"))
        return cache[arch]

    return build


@pytest.fixture(scope="session")
def zygote():
    """Forks CLI processes with torch and transformers imported once (tests/kill_target.py)."""
    from tests.test_kill import Zygote

    forker = Zygote()
    yield forker
    forker.close()
