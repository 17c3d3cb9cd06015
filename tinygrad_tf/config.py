"""Training configuration, with defaults per task."""
import dataclasses

# Architecture fields: a checkpoint's values win over the command line when resuming.
MODEL_FIELDS = ("d_model", "heads", "layers", "d_ff", "dropout", "norm_first", "max_len")


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a training run (saved in every checkpoint).

    `steps` counts optimizer updates; `epochs`, when given, stops earlier
    after that many passes over the training pairs, and `max_minutes` after
    that much wall time (then the run ends with an evaluation and a checkpoint). `lr` is the factor of the
    Noam schedule (the paper's is 1.0 with warmup 4000).
    """

    task: str = "spa-eng"
    device: str = "cpu"
    steps: int = 1800
    epochs: int = None
    d_model: int = 128
    heads: int = 4
    layers: int = 2
    d_ff: int = 512
    dropout: float = 0.1
    norm_first: bool = False
    batch_tokens: int = 1600
    warmup: int = 500
    lr: float = 1.0
    clip: float = 1.0
    label_smoothing: float = 0.1
    seed: int = 0
    max_pairs: int = None
    max_len: int = 10
    min_freq: int = 2
    eval_every: int = 600
    bleu_sentences: int = 300
    max_minutes: float = None

    @classmethod
    def for_task(cls, task, **overrides):
        """Defaults for `task`, then `overrides` (None values are ignored)."""
        base = dict(TASK_DEFAULTS.get(task, {}), task=task)
        base.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**base)

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(unknown)}")
        wrong = [f"{f.name}={values[f.name]!r}" for f in dataclasses.fields(cls)
                 if f.name in values and not _fits(values[f.name], f.type, f.default)]
        if wrong:
            raise ValueError(f"config values of the wrong type: {', '.join(wrong)}")
        return cls(**values)


def _fits(value, kind, default):
    """Whether a loaded value can stand for a field of type `kind` (ints are floats, bools are not numbers)."""
    if value is None:
        return default is None
    if kind in (int, float) and isinstance(value, bool):
        return False
    return isinstance(value, (int, float) if kind is float else kind)


# The synthetic tasks are small and exact: no dropout or smoothing needed.
_SYNTHETIC_DEFAULTS = dict(steps=1500, d_model=64, heads=4, layers=2, d_ff=256, dropout=0.0, batch_tokens=1200,
                           warmup=200, lr=1.0, label_smoothing=0.0, eval_every=500, min_freq=1, bleu_sentences=200)

TASK_DEFAULTS = {
    "spa-eng": {},
    "eng-spa": {},
    "copy": _SYNTHETIC_DEFAULTS,
    "reverse": _SYNTHETIC_DEFAULTS,
}
