"""A Transformer training step, ours against a PyTorch eager model of the same architecture.

Both libraries get the same configuration, the same starting weights (ours
copied into the reference), the same seeded batch, Adam(betas (0.9, 0.98),
eps 1e-9) at a fixed learning rate, label-smoothed cross-entropy that ignores
padding, and dropout in training mode. No gradient clipping in either.

Each library runs in a process of its own (`python -m
tinygrad_tf.bench.train_step --lib ours|torch ...`): `warmup` untimed steps,
then `steps` steps each timed on its own (with device synchronisation on
"cuda"). The parent runs rounds of ours, torch and the GEMM rate (a process of
its own too, `roofline`), and reports the median over rounds of each
round's median step, with the range.
"""
import json
import statistics
import time

from autograd import allocator

from . import isolated
from .common import PAD_ID, format_table, make_batch, synchronizer
from .roofline import gemm_worker_args, step_flops


def build_ours(config, device="cpu", seed=0, dtype=None):
    """(model, step, batch): our Transformer, Adam, and a `step()` that trains on one fixed batch and returns the loss."""
    import ops
    from autograd import Tensor, manual_seed

    from ..nn import Transformer
    from ..optim import Adam

    manual_seed(seed)
    model = Transformer(config.vocab, config.vocab, d_model=config.d_model, num_heads=config.heads,
                        num_encoder_layers=config.encoder_layers, num_decoder_layers=config.decoder_layers,
                        d_ff=config.d_ff, dropout=config.dropout, max_len=max(64, config.src_len, config.tgt_len),
                        pad_id=PAD_ID)
    model.to(device, dtype=dtype)
    model.train()
    optimizer = Adam(model.parameters(), lr=config.lr, betas=(0.9, 0.98), eps=1e-9)
    src, tgt_in, tgt_out = (Tensor(a, device=device) for a in make_batch(config, seed))
    src_mask, tgt_mask = model.src_mask(src), model.tgt_mask(tgt_in)  # built once, as the trainer's batches are

    def step():
        logits = model(src, tgt_in, src_mask, tgt_mask)
        loss = ops.cross_entropy(logits, tgt_out, ignore_index=PAD_ID, label_smoothing=config.label_smoothing)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return model, step, (src, tgt_in, tgt_out)


def torch_reference():
    """The module of the PyTorch reference Transformer (importing it imports torch).

    The one place the benchmarks import it from.
    """
    from ..interop import torch_model

    return torch_model


def build_torch(config, device="cpu", seed=0, state=None, attention="mha", dtype=None):
    """(model, step): the reference model (with our weights when `state` is given), torch Adam, a `step()` like ours."""
    import torch

    reference = torch_reference()
    torch.manual_seed(seed)
    model = reference.from_config(config, attention=attention)
    if dtype is not None:
        model = model.to(dtype=dtype)
    if state is not None:
        reference.load_from_ours(model, state)
    model = model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.9, 0.98), eps=1e-9)
    src, tgt_in, tgt_out = (torch.from_numpy(a).to(device) for a in make_batch(config, seed))

    def step():
        logits = model(src, tgt_in)
        loss = reference.loss_fn(logits, tgt_out, PAD_ID, config.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss

    return model, step


def tokens_per_step(config, seed=0):
    """(target tokens, source + target tokens) of the batch that are not padding."""
    src, _, tgt_out = make_batch(config, seed)
    target = int((tgt_out != PAD_ID).sum())
    return target, target + int((src != PAD_ID).sum())


def measure(lib, config, device="cpu", steps=10, warmup=3, attention="mha", seed=0):
    """In a worker process: time `steps` training steps of `lib` ("ours" or "torch") after `warmup` untimed ones."""
    torch = isolated.torch_in_worker(device) if lib == "torch" else None
    if lib == "torch" and torch is None:
        return None  # reported as unavailable
    if lib == "ours":
        allocator.keep_freed_memory()  # as Trainer.fit does
    model, step, _ = build_ours(config, device, seed)
    sync = synchronizer(device, torch)[0]
    if lib == "torch":  # our starting weights, copied into the reference
        _, step = build_torch(config, device, seed, model.state_dict(), attention)
        sync = synchronizer(device, torch)[1]
        del model
    first_loss = None
    for i in range(warmup):
        loss = step()
        sync()
        if i == 0:
            first_loss = float(loss.item())
    times = []
    for _ in range(steps):
        sync()
        start = time.perf_counter()
        loss = step()
        sync()
        times.append(time.perf_counter() - start)
    if first_loss is None:
        first_loss = float(loss.item())
    record = {"lib": lib, "times_s": times, "median_s": statistics.median(times), "first_loss": first_loss}
    if torch is not None:
        record["torch_threads"] = torch.get_num_threads()
    return record


def run(config, device="cpu", steps=10, warmup=3, rounds=3, attention="mha", seed=0, gemm_size=None,
        use_torch=True, log=None, forms="fast"):
    """Time training steps of each library, each in its own process, in rounds; returns a JSON-ready dict.

    Args:
        config: a `BenchConfig`.
        device: "cpu" (NumPy against torch CPU) or "cuda" (CuPy against torch CUDA).
        steps: timed steps per library in each round. warmup: untimed steps before them.
        rounds: how many times each library (and the GEMM rate) is measured, taking turns.
        attention: the reference's attention ("mha": torch.nn.MultiheadAttention; "manual").
        gemm_size: side of the square matmul that measures the GEMM rate.
        use_torch: False skips the comparison even when torch is installed.
        log: a function taking a line of progress, or None.
        forms: "fast" (our ops' fast forms, as the trainer runs) or "readable" (as a learner steps through them).
    """
    from .common import libraries

    libs, torch_note = libraries(use_torch)
    common_args = ["--config", config.name, "--config-json", json.dumps(config.to_dict()), "--device", device,
                   "--steps", steps, "--warmup", warmup, "--attention", attention, "--seed", seed, "--forms", forms]
    jobs = {lib: ("train_step", ["--lib", lib, *common_args]) for lib in libs}
    jobs["gemm"] = ("roofline", gemm_worker_args(device, gemm_size))
    records, note = isolated.run_rounds(jobs, rounds, log)
    torch_note = torch_note or note
    gemm = records.pop("gemm")
    gemm_rate = isolated.summary([g["flops_per_s"] for g in gemm])
    target_tokens, all_tokens = tokens_per_step(config, seed)
    flops = step_flops(config)
    result = {
        "benchmark": "train", "config": config.to_dict(), "device": device, "forms": forms, "steps": steps, "warmup": warmup,
        "rounds": rounds, "isolation": "each library and the GEMM rate in a process of its own, taking turns",
        "torch_attention": attention if "torch" in records else None, "torch_note": torch_note,
        "tokens_per_step": {"target": target_tokens, "source_and_target": all_tokens},
        "flops_per_step": flops,
        "gemm": {"size": gemm[0]["size"], "library": gemm[0]["library"], "flops_per_s": gemm_rate["median"],
                 "flops_per_s_rounds": gemm_rate},
        "libraries": {},
    }
    for lib, rs in records.items():
        per_round = isolated.summary([r["median_s"] for r in rs])
        times = [t for r in rs for t in r["times_s"]]
        median = per_round["median"]
        result["libraries"][lib] = {
            "median_s": median, "round_medians_s": per_round, "min_s": min(times), "mean_s": statistics.fmean(times),
            "times_s": times, "target_tokens_per_s": target_tokens / median, "tokens_per_s": all_tokens / median,
            "flops_per_s": flops["total"] / median,
            "percent_of_gemm_rate": 100 * flops["total"] / median / gemm_rate["median"],
            "first_loss": rs[0]["first_loss"],
            **({"torch_threads": rs[0]["torch_threads"]} if "torch_threads" in rs[0] else {}),
        }
    if "torch" in records:
        ratios = [t["median_s"] / o["median_s"] for o, t in zip(records["ours"], records["torch"])]
        result["speed_ratio_ours_over_torch"] = result["libraries"]["torch"]["median_s"] / result["libraries"]["ours"]["median_s"]
        result["speed_ratio_rounds"] = isolated.summary(ratios)
    return result


def describe(config):
    return (f"{config.name}: d_model {config.d_model}, {config.heads} heads, {config.encoder_layers}+{config.decoder_layers} layers, "
            f"d_ff {config.d_ff}, vocab {config.vocab}, batch {config.batch} x ({config.src_len}+{config.tgt_len}), dropout {config.dropout}")


def format_result(result):
    """The result of `run` as readable lines."""
    from .common import BenchConfig

    config = BenchConfig(**result["config"])
    device, libs = result["device"], result["libraries"]
    ours_label = "ours (cupy)" if device == "cuda" else "ours (numpy)"
    labels = {"ours": ours_label, "torch": f"torch eager ({result['torch_attention']})"}
    rows = []
    for name, r in libs.items():
        rows.append([labels[name], isolated.format_spread(r["round_medians_s"], 1e3), f"{r['target_tokens_per_s']:,.0f}",
                     f"{r['tokens_per_s']:,.0f}", f"{r['flops_per_s'] / 1e9:.1f}", f"{r['percent_of_gemm_rate']:.1f}%",
                     f"{r['first_loss']:.3f}"])
    gemm = result["gemm"]
    lines = [
        f"train step  {describe(config)}",
        f"device {device}; {result['rounds']} rounds, each library in a process of its own per round "
        f"({result['warmup']} warm-up + {result['steps']} timed steps), taking turns",
        "",
        format_table(["library", "median ms (range over rounds)", "tgt tok/s", "src+tgt tok/s", "GFLOP/s", "% of GEMM",
                      "first loss"], rows),
        "",
        f"matmul FLOPs per step: {result['flops_per_step']['total'] / 1e9:.2f} GFLOP (forward {result['flops_per_step']['forward'] / 1e9:.2f}, backward 2x)",
        f"GEMM rate, alone in its own process: {gemm['library']} float32 {gemm['size']}x{gemm['size']}: "
        f"{isolated.format_spread(gemm['flops_per_s_rounds'], 1e-9)} GFLOP/s",
    ]
    if "speed_ratio_ours_over_torch" in result:
        ratio, rounds = result["speed_ratio_ours_over_torch"], result["speed_ratio_rounds"]
        spread = f" (rounds {rounds['min']:.2f}-{rounds['max']:.2f}x)" if len(rounds["rounds"]) > 1 else ""
        lines.append(f"ours/torch tokens/s: {ratio:.2f}x{spread} ({'ours faster' if ratio >= 1 else 'torch faster'})")
    if result.get("torch_note"):
        lines.append(result["torch_note"])
    return "\n".join(lines)


def _main(argv=None):
    from .common import run_step_worker

    run_step_worker("worker of the training-step benchmark (one library, one round)", measure, 10, argv)


if __name__ == "__main__":
    _main()
