"""Memory of a training step: peak RSS of a step, and RSS after many steps against after the first few.

Each library runs in a fresh Python process (`python -m tinygrad_tf.bench.memory
--lib ours|torch ...`, see `isolated`), so one library's peak never shows in
the other's numbers and torch is never loaded into the process that measures
ours; the libraries take turns for `rounds` rounds, and each number reported
is the median over rounds. In the worker:

1. build the model, the optimizer and the batch; run `warmup` steps (Adam's
   state exists after the first);
2. reset the kernel's peak-RSS mark (`echo 5 > /proc/self/clear_refs`), note
   VmRSS, run one step and read VmHWM: the step's peak, and how far it rose
   above the RSS before the step;
3. run `steps` more steps, sampling VmRSS along the way; growth is the RSS
   after them minus the RSS after the first few (warm-up + 1).

Where /proc is missing the peak falls back to getrusage's lifetime maximum
(marked "peak_is_lifetime").
"""
import json
import resource
import statistics
import sys

from autograd import allocator

from . import isolated
from .common import format_table, synchronizer

MB = 1024 * 1024


def _status_bytes(field):
    """A field of /proc/self/status (VmRSS, VmHWM) in bytes, or None."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _lifetime_peak():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB on Linux


def rss():
    """The process's resident set size in bytes (VmRSS, or psutil, or the lifetime peak as a last resort)."""
    value = _status_bytes("VmRSS")
    if value is None:
        try:
            import psutil

            value = psutil.Process().memory_info().rss
        except ImportError:
            value = _lifetime_peak()
    return value


def _reset_peak():
    """Reset VmHWM to the current RSS (Linux >= 4.0); False when not possible."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return _status_bytes("VmHWM") is not None
    except OSError:
        return False


def measure(lib, config, device="cpu", steps=200, warmup=3, attention="mha", seed=0):
    """Run in the child process: the memory record of `lib` ("ours" or "torch")."""
    from .train_step import build_ours, build_torch

    torch = isolated.torch_in_worker(device) if lib == "torch" else None
    if lib == "torch" and torch is None:
        return None  # reported as unavailable
    record = {"lib": lib, "rss_at_start": rss()}
    if lib == "ours":
        allocator.keep_freed_memory()  # as Trainer.fit does: freed memory stays in the process
        _, step, _ = build_ours(config, device, seed)
    else:
        _, step = build_torch(config, device, seed, None, attention)
    sync = synchronizer(device, torch)[0 if lib == "ours" else 1]
    record["rss_after_build"] = rss()
    for _ in range(warmup):
        step()
        sync()
    record["rss_after_warmup"] = before = rss()
    record["peak_is_lifetime"] = not _reset_peak()
    step()
    sync()
    peak = _lifetime_peak() if record["peak_is_lifetime"] else _status_bytes("VmHWM")
    record.update(step_peak=peak, step_peak_above_before=peak - before, rss_after_first=rss())
    every = max(1, steps // 10)
    samples = [(0, record["rss_after_first"])]
    for i in range(1, steps + 1):
        step()
        sync()
        if i % every == 0 or i == steps:
            samples.append((i, rss()))
    record.update(rss_samples=samples, rss_after_steps=samples[-1][1],
                  growth=samples[-1][1] - record["rss_after_first"], process_peak=_lifetime_peak())
    if device == "cuda":
        record["device_peak"] = _device_peak(lib, torch)
    return record


def _device_peak(lib, torch):
    try:
        if lib == "torch":
            return torch.cuda.max_memory_allocated()
        from autograd import backend

        return backend.xp_for("cuda").get_default_memory_pool().total_bytes()  # what CuPy's pool holds
    except Exception:  # informative only
        return None


# the numbers of a record that are medians over rounds in the summary
MEASURES = ("rss_at_start", "rss_after_build", "rss_after_warmup", "step_peak", "step_peak_above_before",
            "rss_after_first", "rss_after_steps", "growth", "process_peak")


def run(config, device="cpu", steps=200, warmup=3, rounds=1, attention="mha", seed=0, use_torch=True, log=None,
        timeout=None, forms="fast"):
    """Measure each library in its own fresh process, `rounds` times taking turns; returns a JSON-ready dict."""
    from .common import libraries

    libs, torch_note = libraries(use_torch)
    common_args = ["--config", config.name, "--config-json", json.dumps(config.to_dict()), "--device", device,
                   "--steps", steps, "--warmup", warmup, "--attention", attention, "--seed", seed, "--forms", forms]
    jobs = {lib: ("memory", ["--lib", lib, *common_args]) for lib in libs}
    records, note = isolated.run_rounds(jobs, rounds, log, timeout)
    result = {"benchmark": "memory", "config": config.to_dict(), "device": device, "forms": forms, "steps": steps,
              "warmup": warmup,
              "rounds": rounds, "torch_attention": attention if "torch" in records else None,
              "torch_note": torch_note or note, "libraries": {}}
    for lib, rs in records.items():
        summary = dict(rs[-1])  # samples and flags of the last round; the measures below are medians
        summary.update({key: statistics.median(r[key] for r in rs) for key in MEASURES})
        summary["rounds"] = {key: [r[key] for r in rs] for key in ("step_peak", "step_peak_above_before", "growth")}
        result["libraries"][lib] = summary
    if "torch" in result["libraries"]:
        ours, theirs = result["libraries"]["ours"], result["libraries"]["torch"]
        result["step_peak_ratio_ours_over_torch"] = ours["step_peak"] / theirs["step_peak"]
        rise = theirs["step_peak_above_before"]
        result["step_rise_ratio_ours_over_torch"] = ours["step_peak_above_before"] / rise if rise >= MB else None
    return result


def format_result(result):
    """The result of `run` as readable lines."""
    labels = {"ours": "ours", "torch": f"torch eager ({result['torch_attention']})"}
    first = result["warmup"] + 1
    rows = []
    for lib, r in result["libraries"].items():
        rows.append([labels[lib], f"{r['rss_after_build'] / MB:.0f}", f"{r['step_peak'] / MB:.0f}",
                     f"{r['step_peak_above_before'] / MB:.1f}", f"{r['rss_after_first'] / MB:.0f}",
                     f"{r['rss_after_steps'] / MB:.0f}", f"{r['growth'] / MB:+.1f}"])
    lines = [
        f"memory  {result['config']['name']}, {result['device']}; each library in a fresh process, "
        f"median of {result['rounds']} round{'s' if result['rounds'] > 1 else ''}",
        "",
        format_table(["library", "RSS built MB", "step peak MB", "step rise MB", f"RSS @{first} MB",
                      f"RSS @{first + result['steps']} MB", "growth MB"], rows),
        "",
        "step peak: the process's peak RSS during one step (after warm-up); step rise: that peak minus the RSS just before the step",
        f"growth: RSS after {first + result['steps']} steps minus RSS after {first} (both after a step)",
    ]
    if "step_peak_ratio_ours_over_torch" in result:
        rise = result["step_rise_ratio_ours_over_torch"]
        lines.append(f"ours/torch step peak: {result['step_peak_ratio_ours_over_torch']:.2f}x; "
                     f"ours/torch step rise: {'n/a (torch rose < 1 MB)' if rise is None else f'{rise:.2f}x'}")
    if result.get("torch_note"):
        lines.append(result["torch_note"])
    if any(r.get("peak_is_lifetime") for r in result["libraries"].values()):
        lines.append("note: the peak-RSS mark could not be reset here, so 'step peak' is the process's lifetime peak")
    return "\n".join(lines)


def _main(argv=None):
    from .common import run_step_worker

    run_step_worker("worker of the memory benchmark (one library, one round)", measure, 200, argv)


if __name__ == "__main__":
    _main()
