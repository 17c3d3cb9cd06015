"""The learner's file: loaded from its path, its function called so that any error shows the learner's own lines.

An exception raised while the learner's code runs is turned into a
`LearnerError` whose text is the learner's frames only (file, line, the
line's text) and the message, never the package's: whatever called the
learner's function (a check, the engine's backward) is none of the learner's
business. A stub that still raises NotImplementedError is a `NotWritten`.
A call of exit() (SystemExit) is a LearnerError too, so that it can neither
end the check nor pass for success; Ctrl-C (KeyboardInterrupt) still stops it.
"""
import importlib.util
import os
import sys
import traceback

FRAMES_AT_ENDS = 3  # of a long traceback, this many of the learner's frames from each end


class LearnerError(Exception):
    """The learner's code raised, failed to load, or returned something unusable; str() is the whole story.

    Attributes:
        place: the learner's lines the error passed through and its type, the same for the same mistake
            met again with other shapes (None where unknown).
        message: the last line of the story (the exception's type and message).
    """

    def __init__(self, text, place=None):
        super().__init__(text)
        self.place, self.message = place, text.splitlines()[-1] if text else ""


class NotWritten(LearnerError):
    """The learner's function still raises NotImplementedError."""


class LearnerFunction:
    """The learner's function, called like the function itself; every exception comes out as a LearnerError."""

    def __init__(self, function, path):
        self.function, self.path, self.name = function, path, function.__name__

    def __call__(self, *args):
        try:
            return self.function(*args)
        except NotImplementedError:
            raise NotWritten(f"{self.name} is not yet implemented (it raises NotImplementedError): "
                             f"write its body in {self.path}") from None
        except (Exception, SystemExit) as error:  # exit() too: the check must go on (Ctrl-C still stops it)
            place = tuple(f.lineno for f in learner_frames(error, self.path)) + (type(error).__name__,)
            raise LearnerError(error_text(error, self.path), place) from None


def load(path, function_name):
    """The learner's function `function_name` from the file at `path`, as a LearnerFunction.

    The file runs as a module of its own, never entered into `sys.modules` or
    found through `sys.path` (so two checks of one file see its latest text).

    Raises:
        LearnerError: the file is missing, has a syntax error, raises when run, or lacks the function.
    """
    path = os.path.abspath(path)
    if os.path.isdir(path):
        raise LearnerError(f"{path} is a directory; give the file that defines {function_name}() "
                           "(`tinygrad-tf exercise start` writes it)")
    if not os.path.isfile(path):
        raise LearnerError(f"{path}: no such file (write it with `tinygrad-tf exercise start`)")
    spec = importlib.util.spec_from_file_location(f"exercise_{function_name}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        source = open(path, encoding="utf-8").read()
        code = compile(source, path, "exec")
    except SyntaxError as error:
        where = f"{error.filename}, line {error.lineno}"
        text = f"\n    {error.text.rstrip()}" if error.text else ""
        raise LearnerError(f"syntax error in {where}: {error.msg}{text}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise LearnerError(f"{path}: cannot be read ({error})") from None
    sys.modules[spec.name] = module  # while it runs only: what a dataclass in the file looks itself up in
    try:
        exec(code, module.__dict__)
    except (Exception, SystemExit) as error:
        raise LearnerError(f"{path} raised while it was loaded:\n{error_text(error, path)}") from None
    finally:
        del sys.modules[spec.name]
    function = getattr(module, function_name, None)
    if not callable(function):
        raise LearnerError(f"{path} defines no function {function_name}(); the exercise asks for it "
                           "(`tinygrad-tf exercise start` writes its signature)")
    return LearnerFunction(function, path)


def error_text(error, path):
    """The traceback of `error` reduced to the frames in the learner's file `path`, and its message."""
    frames = learner_frames(error, path)
    lines = ["Traceback (your code):"] if frames else []
    left_out = len(frames) - 2 * FRAMES_AT_ENDS  # deep recursion: the first few calls and the last few
    for i, frame in enumerate(frames):
        if left_out > 0 and FRAMES_AT_ENDS <= i < len(frames) - FRAMES_AT_ENDS:
            if i == FRAMES_AT_ENDS:
                lines.append(f"  ... {left_out} more calls ...")
            continue
        lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}')
        if frame.line:
            lines.append(f"    {frame.line.strip()}")
    lines.append(_exit_text(error) if isinstance(error, SystemExit)
                 else "".join(traceback.format_exception_only(type(error), error)).rstrip())
    return "\n".join(lines)


def _exit_text(error):
    """What calling exit() means here: the check cannot end the program, so it counts as a failure."""
    called = "exit()" if error.code is None else f"exit({error.code!r})"
    return f"your code called {called}, which would end the check: leave it out"


def learner_frames(error, path):
    """The frames of `error`'s traceback that are in the learner's file `path`, outermost first."""
    return [f for f in traceback.extract_tb(error.__traceback__) if _same_file(f.filename, path)]


def _same_file(a, b):
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))

