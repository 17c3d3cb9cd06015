"""Training progress: a bar on a terminal, plain lines every few seconds otherwise (log files, CI)."""
import math
import sys
import time

import click


class Progress:
    """Shows step, loss, learning rate, tokens/s and the time left, and says when an evaluation runs.

    The time left counts the evaluations still to come as well as the steps:
    each at the pace measured so far (until the first evaluation has been
    timed, the estimate says it leaves them out).

    Args:
        total: the last step.
        done: steps already done (a resumed run).
        label: text before the bar.
        stream: where to write (default stdout); None output when `enabled` is False.
        interval: seconds between lines when `stream` is not a terminal (the first step always prints one).
        eval_every: steps between evaluations (one more comes at the last step); None: no evaluations.
    """

    def __init__(self, total, done, label, enabled=True, stream=None, interval=10.0, eval_every=None):
        self.total, self.label, self.interval, self.eval_every = total, label, interval, eval_every
        self.eval_seconds, self.evaluations = 0.0, 0  # evaluations timed so far, and their time
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
            click.echo(f"{self.label}: {text}, {self._left_text(step, deadline)}", file=self.stream)

    def evaluating(self, step):
        """Say that the evaluation at `step` runs now (it can take longer than many steps)."""
        if not self.enabled:
            return
        text = f"step {step}/{self.total} evaluating on the validation split..."
        if self.bar is not None:
            self.bar.current_item = text
            self.bar.render_progress()
        else:
            click.echo(f"{self.label}: {text}", file=self.stream)

    def evaluated(self, seconds):
        """Record that an evaluation took `seconds`: the estimate of the time left counts the ones to come."""
        self.eval_seconds += seconds
        self.evaluations += 1

    def evaluations_left(self, step):
        """Evaluations still to run once `step` is done: one every `eval_every` steps from `step` on, and the last step's."""
        if not self.eval_every:
            return 0
        every = self.eval_every
        return max(self.total // every - (step - 1) // every, 0) + (1 if self.total % every else 0)

    def time_left(self, step, deadline=math.inf):
        """Seconds to the last step (evaluations included) at this run's pace so far, or to `deadline` if sooner."""
        done = step - self.start_step
        now = time.time()
        training = max(now - self.start_time - self.eval_seconds, 0.0)  # the steps' own time
        left = (self.total - step) * training / done if done > 0 else math.inf
        if self.evaluations:
            left += self.evaluations_left(step) * self.eval_seconds / self.evaluations
        return min(left, max(deadline - now, 0.0))

    def _left_text(self, step, deadline):
        left = self.time_left(step, deadline)
        untimed = not self.evaluations and self.evaluations_left(step) and left < max(deadline - time.time(), 0.0)
        return f"{_duration(left)} left" + (" + evaluations" if untimed else "")


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
