"""A Transformer training step, ours against a PyTorch eager model of the same architecture, in one run.

Both libraries get the same configuration, the same starting weights (ours
copied into the reference), the same seeded batch, Adam(betas (0.9, 0.98),
eps 1e-9) at a fixed learning rate, label-smoothed cross-entropy that ignores
padding, and dropout in training mode. No gradient clipping in either. After
`warmup` steps each, the two alternate in blocks of steps (which one goes
first alternates too), so a change in the machine's load touches both; each
step is timed on its own, with device synchronisation on "cuda".
"""
import os
import statistics
import time

from .common import PAD_ID, format_table, make_batch, synchronizer, torch_for
from .roofline import gemm_rate, step_flops


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


def build_torch(config, device="cpu", seed=0, state=None, attention="mha", dtype=None):
    """(model, step): the reference model (with our weights when `state` is given), torch Adam, a `step()` like ours."""
    import torch

    from ..interop.torch_model import from_config, load_from_ours, loss_fn

    torch.manual_seed(seed)
    model = from_config(config, attention=attention)
    if dtype is not None:
        model = model.to(dtype=dtype)
    if state is not None:
        load_from_ours(model, state)
    model = model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.9, 0.98), eps=1e-9)
    src, tgt_in, tgt_out = (torch.from_numpy(a).to(device) for a in make_batch(config, seed))

    def step():
        logits = model(src, tgt_in)
        loss = loss_fn(logits, tgt_out, PAD_ID, config.label_smoothing)
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


def run(config, device="cpu", steps=30, warmup=3, block=None, attention="mha", seed=0, gemm_size=None,
        use_torch=True, log=None):
    """Time `steps` training steps of each library, interleaved; returns a JSON-ready dict (see `format_result`).

    Args:
        config: a `BenchConfig`.
        device: "cpu" (NumPy against torch CPU) or "cuda" (CuPy against torch CUDA).
        steps: timed steps per library. warmup: untimed steps per library first.
        block: steps per library before switching (default: steps // 4, between 1 and 5).
        attention: the reference's attention ("mha": torch.nn.MultiheadAttention; "manual").
        gemm_size: side of the square matmul that measures the GEMM rate.
        use_torch: False skips the comparison even when torch is installed.
        log: a function taking a line of progress, or None.
    """
    log = log or (lambda line: None)
    torch, torch_note = torch_for(device) if use_torch else (None, "PyTorch comparison skipped.")
    if torch is not None and device == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)
    log(f"building the models ({config.name}, {device})")
    model, ours_step, _ = build_ours(config, device, seed)
    sync_ours, sync_torch = synchronizer(device, torch)
    libraries = {"ours": (ours_step, sync_ours)}
    if torch is not None:
        _, torch_step = build_torch(config, "cuda" if device == "cuda" else "cpu", seed, model.state_dict(), attention)
        libraries["torch"] = (torch_step, sync_torch)

    first_loss = {}
    for name, (step, sync) in libraries.items():
        log(f"warming up {name} ({warmup} steps)")
        for i in range(warmup):
            loss = step()
            sync()
            if i == 0:
                first_loss[name] = float(loss.item())

    log("measuring the GEMM rate")
    gemm = gemm_rate(device, gemm_size)

    block = block or max(1, min(5, steps // 4))
    times = {name: [] for name in libraries}
    names, round_ = list(libraries), 0
    while any(len(t) < steps for t in times.values()):
        for name in names if round_ % 2 == 0 else names[::-1]:
            step, sync = libraries[name]
            for _ in range(min(block, steps - len(times[name]))):
                sync()
                start = time.perf_counter()
                step()
                sync()
                times[name].append(time.perf_counter() - start)
        round_ += 1
        log(f"timed {min(len(t) for t in times.values())}/{steps} steps")

    target_tokens, all_tokens = tokens_per_step(config, seed)
    flops = step_flops(config)
    result = {
        "benchmark": "train", "config": config.to_dict(), "device": device, "steps": steps, "warmup": warmup,
        "block": block, "torch_attention": attention if torch is not None else None,
        "torch_note": torch_note,
        "tokens_per_step": {"target": target_tokens, "source_and_target": all_tokens},
        "flops_per_step": flops, "gemm": gemm, "libraries": {},
    }
    for name, t in times.items():
        median = statistics.median(t)
        result["libraries"][name] = {
            "median_s": median, "min_s": min(t), "mean_s": statistics.fmean(t), "times_s": t,
            "target_tokens_per_s": target_tokens / median, "tokens_per_s": all_tokens / median,
            "flops_per_s": flops["total"] / median, "percent_of_gemm_rate": 100 * flops["total"] / median / gemm["flops_per_s"],
            "first_loss": first_loss[name],
        }
    if "torch" in times:
        result["speed_ratio_ours_over_torch"] = result["libraries"]["torch"]["median_s"] / result["libraries"]["ours"]["median_s"]
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
        rows.append([labels[name], f"{r['median_s'] * 1e3:.1f}", f"{r['min_s'] * 1e3:.1f}", f"{r['target_tokens_per_s']:,.0f}",
                     f"{r['tokens_per_s']:,.0f}", f"{r['flops_per_s'] / 1e9:.1f}", f"{r['percent_of_gemm_rate']:.1f}%",
                     f"{r['first_loss']:.3f}"])
    gemm = result["gemm"]
    lines = [
        f"train step  {describe(config)}",
        f"device {device}; {result['steps']} timed steps per library after {result['warmup']} warm-up, "
        f"interleaved in blocks of {result['block']}",
        "",
        format_table(["library", "median ms", "min ms", "tgt tok/s", "src+tgt tok/s", "GFLOP/s", "% of GEMM", "first loss"], rows),
        "",
        f"matmul FLOPs per step: {result['flops_per_step']['total'] / 1e9:.2f} GFLOP (forward {result['flops_per_step']['forward'] / 1e9:.2f}, backward 2x)",
        f"GEMM rate: {gemm['library']} float32 {gemm['size']}x{gemm['size']}: {gemm['flops_per_s'] / 1e9:.1f} GFLOP/s",
    ]
    if "speed_ratio_ours_over_torch" in result:
        ratio = result["speed_ratio_ours_over_torch"]
        lines.append(f"ours/torch tokens/s: {ratio:.2f}x ({'ours faster' if ratio >= 1 else 'torch faster'})")
    if result.get("torch_note"):
        lines.append(result["torch_note"])
    return "\n".join(lines)
