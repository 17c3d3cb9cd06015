"""Training configuration, with defaults per task and the allowed range of every number."""
import dataclasses
import math

from autograd import backend

from .data import TASKS, TOKENIZER_KINDS
from .optim import DECAYS

# Architecture fields: a checkpoint's values win over the command line when resuming.
MODEL_FIELDS = ("d_model", "heads", "layers", "d_ff", "dropout", "norm_first", "max_len",
                "tokenizer", "vocab_size", "shared_vocab", "tie_weights")


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a training run (saved in every checkpoint).

    `steps` counts optimizer updates; `epochs`, when given, stops earlier
    after that many passes over the training pairs, and `max_minutes` after
    that much wall time (then the run ends with an evaluation and a checkpoint). `lr` is the factor of the
    Noam schedule (the paper's is 1.0 with warmup 4000); `decay` is how the rate falls after warm-up:
    "inverse_sqrt" (the paper's) or "linear" (to nearly zero at the last of `steps`; see `optim.NoamSchedule`).

    `tokenizer` is "word" (words and punctuation, lower-cased; `min_freq`
    prunes rare words) or "bpe" (subwords learned on the training split,
    `vocab_size` entries; `min_freq` is the least count of a merged pair).
    `shared_vocab` learns one tokenizer from both languages; `tie_weights`
    (which needs it) makes the source embedding, the target embedding and the
    output projection one matrix, as in the paper. Checkpoints older than these
    fields load with their defaults.
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
    decay: str = "inverse_sqrt"
    clip: float = 1.0
    label_smoothing: float = 0.1
    seed: int = 0
    max_pairs: int = None
    max_len: int = 10
    min_freq: int = 2
    eval_every: int = 600
    bleu_sentences: int = 300
    max_minutes: float = None
    tokenizer: str = "word"
    vocab_size: int = 8000
    shared_vocab: bool = False
    tie_weights: bool = False

    def __post_init__(self):
        for name, value in self.to_dict().items():
            problem = check_value(name, value)
            if problem:
                raise ValueError(f"config {name}={value!r}: {problem}")
        if self.d_model % self.heads:
            raise ValueError(f"config d_model={self.d_model} is not divisible by heads={self.heads}")
        if self.task not in TASKS:
            raise ValueError(f"task: expected one of {', '.join(TASKS)}, got {self.task!r}")
        try:
            self.device = backend.check_device(self.device)  # "cuda:0" is "cuda", as everywhere
        except ValueError:
            raise ValueError(f"device: expected one of {', '.join(backend.DEVICES)}, got {self.device!r}") from None
        if self.decay not in DECAYS:
            raise ValueError(f"decay: expected one of {', '.join(DECAYS)}, got {self.decay!r}")
        if self.tokenizer not in TOKENIZER_KINDS:
            raise ValueError(f"tokenizer: expected one of {', '.join(TOKENIZER_KINDS)}, got {self.tokenizer!r}")
        if self.vocab_size < 16:
            raise ValueError(f"vocab_size: a BPE vocabulary needs at least 16 entries, got {self.vocab_size}")
        if self.tie_weights and not self.shared_vocab:
            raise ValueError("tie_weights (--tie-weights): one matrix for the source embedding, target embedding and "
                             "output projection needs one vocabulary for both languages: set shared_vocab (--shared-vocab)")

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


# The allowed range of each numeric field: (low, high, low_open); None is unbounded.
# A `None` value (epochs, max_pairs, max_minutes) means "no limit" and is always allowed.
# Upper bounds keep a typo from allocating a model that cannot fit in memory.
LIMITS = {
    "steps": (1, 10**9, False),
    "epochs": (1, 10**6, False),
    "d_model": (1, 8192, False),
    "heads": (1, 256, False),
    "layers": (1, 64, False),
    "d_ff": (1, 65536, False),
    "dropout": (0.0, 1.0, False),  # 1.0 excluded below: nothing would pass
    "batch_tokens": (1, 10**7, False),
    "warmup": (1, 10**9, False),  # the Noam schedule divides by warmup^1.5
    "lr": (0.0, 1e6, True),
    "clip": (0.0, 1e6, False),  # 0 turns clipping off
    "label_smoothing": (0.0, 1.0, False),
    "seed": (0, 2**32 - 1, False),
    "max_pairs": (1, 10**9, False),
    "max_len": (1, 1000, False),
    "min_freq": (1, 10**9, False),
    "eval_every": (1, 10**9, False),
    "bleu_sentences": (1, 10**6, False),
    "max_minutes": (0.0, 10**7, True),
}


def check_value(name, value):
    """Why `value` is not allowed for the field `name` (a short phrase), or None when it is."""
    if name not in LIMITS or value is None or isinstance(value, bool):
        return None
    low, high, low_open = LIMITS[name]
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    if (value <= low if low_open else value < low) or value > high or (name == "dropout" and value >= 1.0):
        return f"must be in {describe_range(name)}"
    return None


def describe_range(name):
    """The allowed range of field `name` in interval notation, e.g. "[1, 1000]" or "[0, 1)"."""
    low, high, low_open = LIMITS[name]
    high_close = ")" if name == "dropout" else "]"
    return f"{'(' if low_open else '['}{_number(low)}, {_number(high)}{high_close}"


def _number(x):
    return f"{x:g}" if isinstance(x, float) else str(x)


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

# The main job's recipe (every recipe tried is in benchmarks/main_job_recipes.md): a run of about two
# passes over the corpus learns most from small batches without dropout and a rate that falls to zero by
# its last step; words seen fewer than four times are <unk>, which makes the output layer, the largest
# product of a step, a third smaller.
_SPA_ENG_DEFAULTS = dict(steps=2100, batch_tokens=800, dropout=0.0, decay="linear", min_freq=4, eval_every=700)

TASK_DEFAULTS = {
    "spa-eng": _SPA_ENG_DEFAULTS,
    "eng-spa": {},
    "copy": _SYNTHETIC_DEFAULTS,
    "reverse": _SYNTHETIC_DEFAULTS,
}
