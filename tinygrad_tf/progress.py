"""Training progress: a bar on a terminal, plain lines every few seconds otherwise (log files, CI)."""
import math
import sys
import time

import click


class Progress:
    """Shows step, loss, learning rate, tokens/s and the time left.

    Args:
        total: the last step.
        done: steps already done (a resumed run).
        label: text before the bar.
        stream: where to write (default stdout); None output when `enabled` is False.
        interval: seconds between lines when `stream` is not a terminal (the first step always prints one).
    """

    def __init__(self, total, done, label, enabled=True, stream=None, interval=10.0):
        self.total, self.label, self.interval = total, label, interval
        self.stream = stream or sys.stdout
        self.enabled = enabled
        self.tty = enabled and _is_terminal(self.stream)
        self.start_step, self.start_time, self.last_line = done, time.time(), -math.inf
        self.bar = click.progressbar(length=total, label=label, show_pos=True, item_show_func=lambda s: s,
                                     file=self.stream) if self.tty else None
        if self.bar is not None:
            self.bar.update(done)

    def __enter__(self):
        if self.bar is not None:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def update(self, step, loss, lr, tokens_per_s, deadline=math.inf):
        """Record that `step` finished with `loss`."""
        if not self.enabled:
            return
        text = f"step {step}/{self.total} loss {loss:.3f} lr {lr:.2e} {tokens_per_s:,.0f} tok/s"
        if self.bar is not None:
            self.bar.current_item = text
            self.bar.update(1)
            return
        now = time.time()
        if now - self.last_line >= self.interval:
            self.last_line = now
            click.echo(f"{self.label}: {text}, {_duration(self.time_left(step, deadline))} left", file=self.stream)

    def time_left(self, step, deadline=math.inf):
        """Seconds to the last step at this run's pace so far, or to `deadline` if that comes first."""
        done = step - self.start_step
        now = time.time()
        left = (self.total - step) * (now - self.start_time) / done if done > 0 else math.inf
        return min(left, max(deadline - now, 0.0))


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _duration(seconds):
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"
