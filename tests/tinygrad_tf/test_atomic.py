"""Files written whole or not at all (tinygrad_tf.atomic), and the checks every command's output goes through
(tinygrad_tf.outputs): never over a device, FIFO, socket or folder, never over one of a run's own files.

A FIFO in a temporary folder stands for a device: no test touches a real device file.
"""
import errno
import os
import socket

import numpy as np
import pytest

from tinygrad_tf import atomic, checkpoint, outputs, rundir


def _fifo(tmp_path):
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return str(path)


def _leftovers(folder):
    return [name for name in os.listdir(folder) if atomic.target_of_temporary(name)]


def test_a_new_file_replaces_the_old_one_whole(tmp_path):
    path = str(tmp_path / "out.png")
    atomic.write_bytes(path, b"old")
    atomic.write_bytes(path, b"new contents")
    assert open(path, "rb").read() == b"new contents" and not _leftovers(tmp_path)


def test_the_temporary_file_keeps_the_extension_and_the_folder(tmp_path):
    path = str(tmp_path / "curves.png")
    with atomic.replacing(path) as tmp:
        assert os.path.dirname(tmp) == str(tmp_path) and tmp.endswith(".png") and tmp != path
        assert atomic.target_of_temporary(os.path.basename(tmp)) == "curves.png"
        open(tmp, "wb").write(b"x")


@pytest.mark.parametrize("make", ["fifo", "folder", "socket", "link to a fifo"])
def test_anything_but_a_regular_file_is_refused_and_left_as_it_was(tmp_path, make):
    if make == "fifo":
        path = _fifo(tmp_path)
    elif make == "folder":
        path = str(tmp_path / "folder")
        os.mkdir(path)
    elif make == "socket":
        path = str(tmp_path / "sock")
        server = socket.socket(socket.AF_UNIX)
        server.bind(path)
    else:
        path = str(tmp_path / "link")
        os.symlink(_fifo(tmp_path), path)
    before = os.lstat(path)
    with pytest.raises((FileExistsError, IsADirectoryError), match=os.path.basename(path)):
        atomic.write_bytes(path, b"data")
    after = os.lstat(path)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino) and not _leftovers(tmp_path)
    if make == "socket":
        server.close()


def test_a_failure_while_writing_leaves_the_old_file_and_no_temporary(tmp_path):
    path = str(tmp_path / "page.html")
    atomic.write_bytes(path, b"the old page")
    with pytest.raises(OSError) as caught:
        with atomic.replacing(path) as tmp:
            open(tmp, "wb").write(b"half of the ne")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as a full disk does, naming no file
    assert caught.value.filename == path and caught.value.errno == errno.ENOSPC  # the error names the file
    assert open(path, "rb").read() == b"the old page" and not _leftovers(tmp_path)


def test_a_writer_that_writes_nothing_replaces_nothing(tmp_path):
    path = str(tmp_path / "x.gif")
    atomic.write_bytes(path, b"old")
    with pytest.raises(FileNotFoundError, match="x.gif"):
        with atomic.replacing(path):
            pass
    assert open(path, "rb").read() == b"old"


def test_an_output_is_never_a_file_of_a_run(tmp_path):
    run = tmp_path / "run"
    checkpoint.save(str(run), {"w": np.zeros(2)}, {"config": {}})
    rundir.append_log(str(run), {"step": 1})
    arrays = checkpoint.load(str(run))[1]["arrays_file"]
    for name in (checkpoint.META, arrays, rundir.LOG, rundir.LOCK):
        with pytest.raises(rundir.RunDirError, match="file of the training run"):
            outputs.write_bytes(str(run / name), b"not a checkpoint")
    checkpoint.load(str(run))  # still loads
    outputs.write_bytes(str(run / "curves.png"), b"a picture beside the run is fine")
    outputs.write_bytes(str(tmp_path / "checkpoint.json"), b"{}")  # the name alone, outside a run, is fine


def test_an_interrupted_save_leaves_temporaries_that_clean_removes(tmp_path):
    run = str(tmp_path)
    checkpoint.save(run, {"w": np.ones(3)}, {"config": {}})
    meta = checkpoint.META
    stray = [atomic.temporary_name(meta).replace(str(os.getpid()), "77"), f"{meta}.tmp-12", "notes.txt.tmp-5.txt"]
    for name in stray:
        open(os.path.join(run, name), "wb").close()
    removed = checkpoint.clean(run)
    assert sorted(removed) == sorted(stray[:2])  # only the run's own temporaries; a stranger's file stays
    assert os.path.exists(os.path.join(run, "notes.txt.tmp-5.txt"))
