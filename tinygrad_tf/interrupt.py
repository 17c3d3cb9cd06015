"""Stopping training cleanly on Ctrl-C (SIGINT) or SIGTERM.

The first signal only asks to stop: the trainer finishes the step it is in,
saves a checkpoint and raises `Interrupted`. A step is never cut in half, so
the checkpoint is exactly the state after a whole number of steps. A second
signal stops at once with KeyboardInterrupt, keeping the last checkpoint.
"""
import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """Training stopped on a signal; `exit_code` is the shell's 128 + signal number.

    `saved` is False only when the stop came in the middle of a step, which is never saved.
    """

    def __init__(self, signum, step, saved=True):
        super().__init__(f"{signal.Signals(signum).name} at step {step}")
        self.signum, self.step, self.saved = signum, step, saved
        self.exit_code = 128 + signum


class StopRequests:
    """While active (a context manager), SIGINT and SIGTERM set `.signum` instead of killing the process.

    Outside the main thread Python cannot install handlers; then nothing
    changes and Ctrl-C raises KeyboardInterrupt as usual.
    """

    def __init__(self, note=print):
        self.signum, self.note, self._previous = None, note, {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._previous[sig] = signal.signal(sig, self._request)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _request(self, signum, frame):
        if self.signum is not None:  # the second signal: do not wait any longer
            raise KeyboardInterrupt
        self.signum = signum
        try:
            self.note(f"\n{signal.Signals(signum).name}: stopping after this step to save a checkpoint "
                      "(send it again to stop at once without saving)")
        except OSError:  # the output is gone (Ctrl-C on `train | head` stops head too): the request stands
            pass

    @property
    def requested(self):
        return self.signum is not None
