"""Fixtures of the viz tests: a tiny trained copy-task checkpoint."""
import pytest

from tinygrad_tf import TrainConfig, Trainer

# Seconds to train on two cores; enough for a real checkpoint with vocabularies.
TINY_RUN = dict(steps=3, d_model=16, heads=2, layers=1, d_ff=32, max_pairs=60, batch_tokens=120, warmup=5,
                eval_every=1000, bleu_sentences=5, seed=3)


@pytest.fixture(scope="session")
def copy_run(tmp_path_factory):
    """The directory of a copy-task run trained for a few steps."""
    out = str(tmp_path_factory.mktemp("copy_run") / "run")
    Trainer(TrainConfig.for_task("copy", **TINY_RUN), out=out, log=lambda *a, **k: None).fit(progress=False)
    return out
