"""What the commands write: never over a device (a FIFO stands for one), never over a run's own files, always
whole (an older file survives a failure), and named as it is written.
"""
import dataclasses
import errno
import os
import shutil
import stat

import pytest
from helpers import assert_clean_error, run_cli, tiny_copy_training, train_tiny_run

from tinygrad_tf import atomic, checkpoint, rundir

TINY = tiny_copy_training(steps=4, max_pairs=60, batch_tokens=200, eval_every=4, seed=3)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_tiny_run(tmp_path_factory, "outputs", TINY)


@pytest.fixture
def workdir(tmp_path, trained, monkeypatch):
    """A scratch folder (the cwd) with a copy of the run as "run" and FIFOs "device", "device.html" standing for
    /dev/null."""
    shutil.copytree(trained, tmp_path / "run")
    os.mkfifo(tmp_path / "device")
    os.mkfifo(tmp_path / "device.html")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _still_a_fifo(path):
    return stat.S_ISFIFO(os.lstat(path).st_mode)


def _leftovers(folder):
    return [name for name in os.listdir(folder) if atomic.target_of_temporary(name)]


def _pictures_fail_half_written(monkeypatch):
    """matplotlib's savefig writes part of the file, then the disk is full."""
    from matplotlib.figure import Figure

    def full_disk(self, path, **kwargs):
        with open(path, "wb") as f:
            f.write(b"\x89PNG half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Figure, "savefig", full_disk)


@pytest.mark.parametrize("command", [
    ["export", "--checkpoint", "run", "--out", "device", "--overwrite"],
    ["export", "--checkpoint", "run", "--out", "device", "--force"],
    ["plot", "run", "--out", "device"],
    ["plot", "--positional", "--out", "device"],
    ["translate", "--checkpoint", "run", "--attention-plot", "device", "1 2"],
    ["graph", "attention", "--out", "device"],
    ["explore", "attention", "--out", "device.html"],
    ["step", "mlp", "--gif", "device"],
])
def test_a_device_is_never_replaced(workdir, command):
    assert_clean_error(run_cli(*command), "device", "FIFO")
    assert _still_a_fifo(workdir / "device") and not _leftovers(workdir)


def test_a_folder_named_as_an_output_is_refused(workdir):
    (workdir / "pic.png").mkdir()
    assert_clean_error(run_cli("plot", "--positional", "--out", "pic.png"), "pic.png")
    assert (workdir / "pic.png").is_dir()


@pytest.mark.parametrize("name", [checkpoint.META, rundir.LOG])
def test_a_runs_own_file_is_never_an_output(workdir, name):
    pytest.importorskip("torch")
    before = (workdir / "run" / name).read_bytes()
    assert_clean_error(run_cli("export", "--checkpoint", "run", "--out", f"run/{name}", "--overwrite"),
                       f"run/{name}", "training run")
    assert (workdir / "run" / name).read_bytes() == before
    assert run_cli("translate", "--checkpoint", "run", "1 2").exit_code == 0  # the run still loads


def test_a_failed_page_leaves_the_older_page_whole(workdir):
    (workdir / "old.html").write_text("the page from before", encoding="utf-8")
    result = run_cli("explore", "transformer", "--checkpoint", "run", "--sentence", "hola \udcff", "--out", "old.html")
    assert_clean_error(result, "--sentence", "UTF-8")
    assert (workdir / "old.html").read_text(encoding="utf-8") == "the page from before"


def test_a_full_disk_while_plotting_leaves_the_older_picture(workdir, monkeypatch):
    pytest.importorskip("matplotlib")
    (workdir / "c.png").write_bytes(b"the older picture")
    _pictures_fail_half_written(monkeypatch)
    assert_clean_error(run_cli("plot", "run", "--out", "c.png"), "c.png", "no space left on device")
    assert (workdir / "c.png").read_bytes() == b"the older picture" and not _leftovers(workdir)


def test_a_tour_that_fails_halfway_leaves_the_older_tour(workdir, monkeypatch):
    pytest.importorskip("matplotlib")
    tour = workdir / "tour"
    tour.mkdir()
    (tour / "index.html").write_text("older tour", encoding="utf-8")
    (tour / "01-embeddings.png").write_bytes(b"older picture")
    from tinygrad_tf.tour import write

    def fails(*args, **kwargs):  # the second picture cannot be drawn: the first is already written by then
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "somewhere")

    first, second, *rest = write.PICTURES
    monkeypatch.setattr(write, "PICTURES", (first, dataclasses.replace(second, make=fails), *rest))
    result = run_cli("tour", "--out", "tour", "--overwrite")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert (tour / "index.html").read_text(encoding="utf-8") == "older tour"
    assert (tour / "01-embeddings.png").read_bytes() == b"older picture"
    assert sorted(os.listdir(tour)) == ["01-embeddings.png", "index.html"]
    assert sorted(os.listdir(workdir)) == ["device", "device.html", "run", "tour"]  # no scratch folder left


def test_a_tour_never_replaces_a_device_in_its_folder(workdir):
    pytest.importorskip("matplotlib")
    tour = workdir / "tour"
    tour.mkdir()
    os.mkfifo(tour / "index.html")
    assert_clean_error(run_cli("tour", "--out", "tour", "--overwrite"), "index.html", "FIFO")
    assert _still_a_fifo(tour / "index.html") and os.listdir(tour) == ["index.html"]


def test_the_tour_refuses_a_sentence_that_is_not_utf8(workdir):
    pytest.importorskip("matplotlib")
    assert_clean_error(run_cli("tour", "--out", "t", "--sentence", "it \udcff was"), "--sentence", "UTF-8")
    assert not os.path.exists(workdir / "t")


def test_the_attention_plot_is_reported_by_the_name_it_is_written_to(workdir):
    pytest.importorskip("matplotlib")
    result = run_cli("translate", "--checkpoint", "run", "--attention-plot", "notes", "1 2")
    assert result.exit_code == 0, result.output
    assert "attention plot: notes.png" in result.output and os.path.isfile("notes.png") and not os.path.exists("notes")


def test_an_attention_plot_with_nothing_to_draw_is_an_error(workdir):
    pytest.importorskip("matplotlib")
    assert_clean_error(run_cli("translate", "--checkpoint", "run", "--attention-plot", "a.png", ""), "a.png",
                       "no attention plot")
    assert not os.path.exists("a.png")


def test_a_gif_named_without_its_extension_gets_it(workdir):
    pytest.importorskip("PIL")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    result = run_cli("step", "mlp", "--d-model", "2", "--seq-len", "1", "--gif", "anim")
    assert result.exit_code == 0, result.output
    assert "animation written to anim.gif" in result.output and (workdir / "anim.gif").read_bytes()[:3] == b"GIF"
