"""The README's quick start, as a newcomer follows it: a virtual environment before the first install, what to do
when the quick start is run again (in the CLI's own words), what the test command skips, and which install the
quoted scores are for.
"""
import os
import re

from tinygrad_tf.rundir import RunDirError, check_new

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _quick_start():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    return text.split("## Quick start", 1)[1].split("\n## ", 1)[0]


def _commands(section):
    return [line for block in re.findall(r"```bash\n(.*?)```", section, re.S) for line in block.splitlines()]


def test_a_virtual_environment_is_made_before_the_first_install():
    commands = _commands(_quick_start())
    first_install = next(i for i, c in enumerate(commands) if "pip install" in c)
    made = [i for i, c in enumerate(commands) if "-m venv" in c and "activate" in c]
    assert made and made[0] < first_install


def test_running_the_quick_start_again_is_explained_in_the_clis_words(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.json").write_text("{}", encoding="utf-8")
    try:
        check_new(str(run))
    except RunDirError as e:
        refusal = str(e)
    words = "already holds a run"
    assert words in refusal and "--overwrite" in refusal
    section = " ".join(_quick_start().split())
    assert words in section and "--overwrite" in section.split(words, 1)[1][:200]


def test_the_skipped_gpu_half_of_the_tests_is_explained():
    section = " ".join(_quick_start().split())
    assert re.search(r"without a GPU .{0,80}skipped", section)


def test_the_quoted_scores_say_which_install_they_are_for():
    section = " ".join(_quick_start().split())
    scores = section.index("scores the 1,000 held-out test pairs")
    said = section[scores:scores + 900]
    assert re.search(r"BLEU \d+\.\d greedy", said)
    assert "for the install above" in said and "With numba installed" in said
