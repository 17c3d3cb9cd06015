"""Starting: `from tinygrad_tf import nn` and the CLI's start load nothing heavy, Ctrl-C while starting is quiet,
closed standard streams are one-line errors, and the top-level help and --version.
"""
import os
import re
import signal
import subprocess
import sys

import pytest
from helpers import run_cli, tiny_copy_training

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAINING_APP = ("tinygrad_tf.train", "tinygrad_tf.config", "tinygrad_tf.data", "tinygrad_tf.decode",
                "tinygrad_tf.checkpoint", "tinygrad_tf.rundir", "tinygrad_tf.viz", "tinygrad_tf.cli")
LIBRARIES = ("sacrebleu", "tokenizers", "matplotlib", "graphviz", "IPython")


def _python(code, **kwargs):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=300, **kwargs)


def _loaded(code):
    result = _python(code + "; import sys; print(sorted(sys.modules))")
    assert result.returncode == 0, result.stderr
    return set(eval(result.stdout.strip().splitlines()[-1]))  # a list of strings we printed ourselves


def _heavy(modules, names):
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_importing_nn_loads_neither_the_training_application_nor_its_libraries():
    loaded = _loaded("from tinygrad_tf import nn")
    assert "tinygrad_tf.nn" in loaded
    assert _heavy(loaded, TRAINING_APP + LIBRARIES) == []


def test_the_lazy_names_of_the_package_still_work():
    loaded = _loaded("import tinygrad_tf; assert tinygrad_tf.TrainConfig.for_task('copy').task == 'copy'; "
                     "from tinygrad_tf import Trainer, translate, load_translator, optim")
    assert "tinygrad_tf.train" in loaded and "tinygrad_tf.config" in loaded


def test_the_cli_starts_without_numpy_or_any_command():
    loaded = _loaded("from tinygrad_tf.cli import main")
    assert _heavy(loaded, ("numpy", "autograd", "ops", "tinygrad_tf.nn", "tinygrad_tf.cli.train") + LIBRARIES) == []


def test_ctrl_c_while_a_command_is_imported_ends_quietly_with_130():
    code = ("import os, signal, importlib\n"
            "import tinygrad_tf.cli as cli\n"
            "real = importlib.import_module\n"
            "def interrupted_import(*args):\n"
            "    os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the middle of importing the command\n"
            "    return real(*args)\n"
            "cli.importlib.import_module = interrupted_import\n"
            "cli.main(['train', '--help'])\n")
    result = _python(code)
    assert result.returncode == 128 + signal.SIGINT, result.stderr
    assert "Traceback" not in result.stderr and "KeyboardInterrupt" not in result.stderr
    assert result.stderr.strip() == "interrupted"


def test_a_running_command_gets_ctrl_c_as_keyboard_interrupt_again():
    code = ("import signal\n"
            "import tinygrad_tf.cli as cli\n"
            "from tinygrad_tf.cli import common\n"
            "import click\n"
            "@click.command()\n"
            "@common.fail_cleanly\n"
            "def probe():\n"
            "    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler\n"
            "    signal.raise_signal(signal.SIGINT)\n"
            "cli.main.add_command(probe)\n"
            "cli.COMMANDS['probe'] = ('train', 'probe')\n"
            "cli.LazyGroup.get_command = lambda self, ctx, name: probe\n"
            "cli.main(['probe'])\n")
    result = _python(code)
    assert result.returncode == 130 and result.stderr.strip() == "interrupted", result.stderr


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("startup") / "run")
    result = run_cli("train", *tiny_copy_training(steps=2, max_pairs=40, batch_tokens=200, eval_every=2), "--out", out)
    assert result.exit_code == 0, result.output
    return out


def _cli_with_closed(fd, *args):
    """`python -m tinygrad_tf ARGS` with file descriptor `fd` closed, as `<&-` (0) or `>&-` (1) do."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "tinygrad_tf", *args], env=env, cwd=ROOT, timeout=300, text=True,
                          stdout=None if fd == 1 else subprocess.PIPE, stderr=subprocess.PIPE,
                          preexec_fn=lambda: os.close(fd))


def _one_error_line(stderr):
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, stderr
    return errors[0]


def test_translate_with_stdin_closed_says_to_give_sentences(run_dir):
    result = _cli_with_closed(0, "translate", "--checkpoint", run_dir)
    assert result.returncode == 1
    assert "standard input is closed" in _one_error_line(result.stderr)


def test_a_command_with_stdout_closed_says_so(run_dir):
    result = _cli_with_closed(1, "translate", "--checkpoint", run_dir, "1 2")
    assert result.returncode == 1
    assert "standard output is closed" in _one_error_line(result.stderr)


def test_interactive_step_with_stdin_closed_walks_to_the_end():
    result = _cli_with_closed(0, "step", "mlp", "--d-model", "2", "--seq-len", "1", "-i")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "every parameter now holds the gradient" in result.stdout


def test_every_summary_of_the_top_level_help_fits():
    result = run_cli("--help")
    assert result.exit_code == 0
    listed = re.findall(r"^  (\w+)\s{2,}(.+)$", result.output.split("Commands:")[1], re.M)
    assert [name for name, _ in listed] == ["train", "translate", "evaluate", "export", "plot", "step", "graph",
                                            "explore", "tour", "exercise", "bench"]
    assert all(not summary.endswith(("...", "…")) for _, summary in listed), result.output


def test_version_is_the_packages():
    with open(os.path.join(ROOT, "tinygrad_tf", "__init__.py"), encoding="utf-8") as f:
        version = re.search(r'__version__ = "([^"]+)"', f.read()).group(1)
    result = run_cli("--version")
    assert result.exit_code == 0 and result.output.strip() == f"tinygrad-tf, version {version}"
