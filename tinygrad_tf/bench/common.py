"""Shared pieces of the benchmarks: configurations, seeded batches, the machine's description, results files."""
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace

import numpy as np

from autograd import cpu_kernels
from autograd.cpu_kernels import blas

from .. import outputs

TORCH_HELP = "PyTorch is needed for the comparison (pip install torch); showing our own numbers only."
PAD_ID = 0
FIRST_TOKEN = 4  # ids below are the specials (<pad> <bos> <eos> <unk>), as in tinygrad_tf.data.Vocab


@dataclass(frozen=True)
class BenchConfig:
    """Model sizes and one batch shape: `batch` sentences of `src_len` + `tgt_len` tokens (at most)."""

    name: str
    d_model: int
    heads: int
    encoder_layers: int
    decoder_layers: int
    d_ff: int
    vocab: int
    batch: int
    src_len: int
    tgt_len: int
    dropout: float = 0.1
    label_smoothing: float = 0.1
    lr: float = 1e-4

    def to_dict(self):
        return asdict(self)


CONFIGS = {
    "toy": BenchConfig("toy", 128, 4, 2, 2, 512, 1000, 64, 12, 12),
    "base-small": BenchConfig("base-small", 256, 4, 3, 3, 1024, 4000, 64, 16, 16),
    # the paper's base model; batch and vocabulary are our choice (meant for a GPU)
    "base": BenchConfig("base", 512, 8, 6, 6, 2048, 8000, 64, 32, 32),
    # a few-millisecond model for tests
    "tiny": BenchConfig("tiny", 16, 2, 1, 1, 32, 50, 4, 5, 5),
}


def get_config(name, **overrides):
    if name not in CONFIGS:
        raise ValueError(f"unknown benchmark config {name!r}; choose one of {', '.join(CONFIGS)}")
    return replace(CONFIGS[name], **{k: v for k, v in overrides.items() if v is not None})


def worker_parser(description):
    """The arguments every worker takes: the library, the configuration, the device, warm-up and seed."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--lib", choices=("ours", "torch"), required=True)
    parser.add_argument("--config", default="toy")
    parser.add_argument("--config-json", default=None, help="the full BenchConfig, overriding --config")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    add_forms_argument(parser)
    return parser


def add_forms_argument(parser):
    """--forms: whether our side runs the fast forms of the ops (what training uses) or the readable ones."""
    parser.add_argument("--forms", choices=("fast", "readable"), default="fast")


def use_forms(lib, forms):
    """In a worker: turn on the fast forms of the ops for our library, unless the readable ones are asked for."""
    if lib == "ours" and forms == "fast":
        import ops

        ops.fast.enable()


def run_step_worker(description, measure, default_steps, argv=None):
    """The main of a worker that times training steps: parse its arguments, `measure`, report one record.

    `measure(lib, config, device, steps, warmup, attention, seed)` returns the
    record, or None when its library cannot run here (then nothing is reported).
    """
    from . import isolated

    parser = worker_parser(description)
    parser.add_argument("--steps", type=int, default=default_steps)
    parser.add_argument("--attention", default="mha")
    args = parser.parse_args(argv)
    use_forms(args.lib, args.forms)
    record = measure(args.lib, config_from_args(args), args.device, args.steps, args.warmup, args.attention, args.seed)
    if record is not None:
        isolated.report(record)


def config_from_args(args):
    """The BenchConfig a worker was given (--config, with --config-json's fields over it)."""
    config = get_config(args.config)
    return replace(config, **json.loads(args.config_json)) if args.config_json else config


def make_batch(config, seed=0):
    """Random token ids with some padding, seeded: src (batch, src_len), tgt_in and tgt_out (batch, tgt_len).

    Lengths are drawn between half and the full length; the first sentence is
    full length, so the padded shapes are always (batch, src_len/tgt_len).
    tgt_in is <bos> followed by the target, tgt_out the target then <eos>, as
    the trainer's batches are.
    """
    rng = np.random.default_rng(seed)
    b, s, t = config.batch, config.src_len, config.tgt_len
    src = np.full((b, s), PAD_ID, dtype=np.int64)
    tgt_in = np.full((b, t), PAD_ID, dtype=np.int64)
    tgt_out = np.full((b, t), PAD_ID, dtype=np.int64)
    src_lens = rng.integers(max(1, s // 2), s + 1, size=b)
    tgt_lens = rng.integers(max(1, t // 2), t + 1, size=b)
    src_lens[0], tgt_lens[0] = s, t
    for i in range(b):
        src[i, : src_lens[i]] = rng.integers(FIRST_TOKEN, config.vocab, size=src_lens[i])
        words = rng.integers(FIRST_TOKEN, config.vocab, size=tgt_lens[i] - 1)
        tgt_in[i, : tgt_lens[i]] = np.concatenate([[1], words])  # <bos> = 1
        tgt_out[i, : tgt_lens[i]] = np.concatenate([words, [2]])  # <eos> = 2
    return src, tgt_in, tgt_out


def libraries(use_torch=True):
    """(libraries to measure, note): ("ours", "torch") when torch is installed and wanted, else ("ours",) and why."""
    from .isolated import torch_installed

    if not use_torch:
        return ("ours",), "PyTorch comparison skipped."
    if not torch_installed():
        return ("ours",), TORCH_HELP
    return ("ours", "torch"), None


def _dist_version(name):
    """An installed distribution's version, without importing it (None when absent)."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _cupy_version():
    """CuPy's version whatever its wheel is called (cupy, cupy-cuda12x, ...), or None."""
    if "cupy" in sys.modules:
        return getattr(sys.modules["cupy"], "__version__", "?")
    from importlib import metadata

    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name == "cupy" or name.startswith("cupy-"):
            return dist.version
    return None


def machine_info(device="cpu"):
    """The machine's description, stored with every result."""
    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or _cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "torch": _dist_version("torch"),
        "cupy": _cupy_version(),
        "numba": _dist_version("numba"),
        # whether our side ran the compiled loops (numba installed, TINYGRAD_TF_COMPILED not 0: workers inherit it)
        "compiled_cpu_loops": cpu_kernels.load() is not None,
        # whether Linear's bias went into the GEMM through NumPy's own OpenBLAS (TINYGRAD_TF_BLAS not 0)
        "bias_in_gemm": blas.takes(np.zeros(1, np.float32)),
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": _source_commit(),
    }
    return info


def _source_commit():
    """The git commit of the code measured (None outside a git checkout), so results name what they timed."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        result = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def write_result(out_dir, name, device, payload):
    """Write `payload` (plus the machine) to out_dir/<name>-<device>.json; returns the path."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{name}-{device}.json")
    record = dict(payload, machine=machine_info(device))
    outputs.write_text(path, json.dumps(record, indent=1) + "\n")
    return path


def synchronizer(device, torch=None):
    """(sync for ours, sync for torch): wait for the device to finish queued work (no-ops on CPU)."""
    if device != "cuda":
        return (lambda: None), (lambda: None)
    from autograd import backend

    cupy = backend.xp_for("cuda")
    return (lambda: cupy.cuda.Device().synchronize()), ((lambda: torch.cuda.synchronize()) if torch else (lambda: None))


def format_table(headers, rows, aligns=None):
    """A plain-text table: a header line, a rule, one line per row (cells already strings)."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h)) for i, h in enumerate(headers)]
    aligns = aligns or ["<"] + [">"] * (len(headers) - 1)
    def line(cells):
        return "  ".join(f"{str(c):{a}{w}}" for c, a, w in zip(cells, aligns, widths)).rstrip()
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])
