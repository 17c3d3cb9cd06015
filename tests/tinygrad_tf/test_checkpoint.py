"""Checkpoint files: round trip, every kind of damage is a CheckpointError naming the file, atomic saves."""
import glob
import json
import os
import pathlib

import numpy as np
import pytest

from tinygrad_tf import checkpoint
from tinygrad_tf.checkpoint import META, CheckpointError


def _arrays(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "model/encoder.layers.0.self_attn.q_proj.weight": rng.normal(size=(8, 8)).astype(np.float32),
        "model/generator.bias": rng.normal(size=(11,)).astype(np.float32),
        "optimizer/0.m": rng.normal(size=(8, 8)).astype(np.float32),
        "steps": np.array(seed, dtype=np.int64),
    }


META_VALUES = {"config": {"task": "copy", "d_model": 8}, "state": {"step": 7}, "src_vocab": ["<pad>", "ñ", "¿"]}


def _arrays_file(directory):
    """The .npz the checkpoint's JSON names (found without trusting the code under test's choice of name)."""
    files = glob.glob(os.path.join(str(directory), "*.npz"))
    assert len(files) == 1, files
    return files[0]


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype
        np.testing.assert_array_equal(a[k], b[k])


def test_round_trip(tmp_path):
    checkpoint.save(str(tmp_path), _arrays(), META_VALUES)
    assert checkpoint.exists(str(tmp_path))
    arrays, meta = checkpoint.load(str(tmp_path))
    _assert_same(arrays, _arrays())
    for k, v in META_VALUES.items():
        assert meta[k] == v
    # the JSON is plain UTF-8 JSON a person can read
    text = (tmp_path / META).read_text(encoding="utf-8")
    assert json.loads(text)["src_vocab"] == ["<pad>", "ñ", "¿"]


def test_saving_again_replaces_the_checkpoint(tmp_path):
    checkpoint.save(str(tmp_path), _arrays(1), META_VALUES)
    checkpoint.save(str(tmp_path), _arrays(2), dict(META_VALUES, state={"step": 8}))
    arrays, meta = checkpoint.load(str(tmp_path))
    _assert_same(arrays, _arrays(2))
    assert meta["state"] == {"step": 8}
    assert len(glob.glob(str(tmp_path / "*.npz"))) == 1  # no stale arrays left behind
    assert not glob.glob(str(tmp_path / "*.tmp*"))


def test_missing_directory_and_files(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(CheckpointError, match="nowhere"):
        checkpoint.load(str(missing))
    assert not checkpoint.exists(str(missing))

    checkpoint.save(str(tmp_path), _arrays(), META_VALUES)
    npz = _arrays_file(tmp_path)
    os.remove(npz)
    with pytest.raises(CheckpointError) as info:
        checkpoint.load(str(tmp_path))
    assert npz in str(info.value)

    checkpoint.save(str(tmp_path), _arrays(), META_VALUES)
    os.remove(tmp_path / META)
    with pytest.raises(CheckpointError) as info:
        checkpoint.load(str(tmp_path))
    assert str(tmp_path / META) in str(info.value)


@pytest.mark.parametrize("keep", [0, 10, 0.5, 0.95])
def test_truncated_arrays(tmp_path, keep):
    checkpoint.save(str(tmp_path), _arrays(), META_VALUES)
    npz = _arrays_file(tmp_path)
    data = pathlib.Path(npz).read_bytes()
    pathlib.Path(npz).write_bytes(data[: int(keep * len(data)) if isinstance(keep, float) else keep])
    with pytest.raises(CheckpointError) as info:
        checkpoint.load(str(tmp_path))
    assert npz in str(info.value)


@pytest.mark.parametrize("where", [0.1, 0.5, 0.9])
def test_corrupted_bytes(tmp_path, where):
    checkpoint.save(str(tmp_path), _arrays(), META_VALUES)
    npz = _arrays_file(tmp_path)
    data = bytearray(pathlib.Path(npz).read_bytes())
    data[int(where * len(data))] ^= 0xFF
    pathlib.Path(npz).write_bytes(bytes(data))
    with pytest.raises(CheckpointError) as info:
        checkpoint.load(str(tmp_path))
    assert npz in str(info.value)


@pytest.mark.parametrize("garbage", [b"", b"\x00\xff garbage {", b'{"config": {"task": "co', b"[1, 2, 3]", b'"a string"', b"null"])
def test_garbage_json(tmp_path, garbage):
    checkpoint.save(str(tmp_path), _arrays(), META_VALUES)
    (tmp_path / META).write_bytes(garbage)
    with pytest.raises(CheckpointError) as info:
        checkpoint.load(str(tmp_path))
    assert str(tmp_path / META) in str(info.value)


def test_json_naming_another_file_is_rejected(tmp_path):
    checkpoint.save(str(tmp_path), _arrays(), META_VALUES)
    meta = json.loads((tmp_path / META).read_text(encoding="utf-8"))
    for bad in ("../../etc/passwd", "/etc/passwd", 42, None):
        (tmp_path / META).write_text(json.dumps(dict(meta, arrays_file=bad)), encoding="utf-8")
        with pytest.raises(CheckpointError) as info:
            checkpoint.load(str(tmp_path))
        assert str(tmp_path / META) in str(info.value)


def test_arrays_from_another_save(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    checkpoint.save(str(a), _arrays(1), META_VALUES)
    checkpoint.save(str(b), _arrays(2), META_VALUES)
    npz = _arrays_file(a)
    pathlib.Path(npz).write_bytes(pathlib.Path(_arrays_file(b)).read_bytes())
    with pytest.raises(CheckpointError) as info:
        checkpoint.load(str(a))
    assert npz in str(info.value)


# ---- atomic writes -------------------------------------------------------------------


class Boom(Exception):
    pass


def _fail_on_call(monkeypatch, module, name, which):
    """Make module.name raise Boom on its `which`-th call (1-based); earlier calls work."""
    real, calls = getattr(module, name), []

    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) == which:
            raise Boom(f"{name} failed")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def _old_checkpoint_survives(tmp_path):
    arrays, meta = checkpoint.load(str(tmp_path))
    _assert_same(arrays, _arrays(1))
    assert meta["state"] == {"step": 1}
    assert not glob.glob(str(tmp_path / "*.tmp*")), "a temporary file was left behind"


@pytest.mark.parametrize("which", [1, 2])
def test_a_failing_rename_keeps_the_old_checkpoint(tmp_path, monkeypatch, which):
    """Whichever rename fails (the arrays' or the JSON's), the previous checkpoint still loads."""
    checkpoint.save(str(tmp_path), _arrays(1), dict(META_VALUES, state={"step": 1}))
    calls = _fail_on_call(monkeypatch, os, "replace", which)
    with pytest.raises(Boom):
        checkpoint.save(str(tmp_path), _arrays(2), dict(META_VALUES, state={"step": 2}))
    assert len(calls) == which
    monkeypatch.undo()
    _old_checkpoint_survives(tmp_path)


def test_a_failing_write_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    checkpoint.save(str(tmp_path), _arrays(1), dict(META_VALUES, state={"step": 1}))
    _fail_on_call(monkeypatch, os, "fsync", 2)  # the JSON's data never reaches the disk
    with pytest.raises(Boom):
        checkpoint.save(str(tmp_path), _arrays(2), dict(META_VALUES, state={"step": 2}))
    monkeypatch.undo()
    _old_checkpoint_survives(tmp_path)


def test_a_failing_savez_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    checkpoint.save(str(tmp_path), _arrays(1), dict(META_VALUES, state={"step": 1}))
    _fail_on_call(monkeypatch, np, "savez", 1)
    with pytest.raises(Boom):
        checkpoint.save(str(tmp_path), _arrays(2), dict(META_VALUES, state={"step": 2}))
    monkeypatch.undo()
    _old_checkpoint_survives(tmp_path)


def test_clean_removes_what_an_interrupted_save_left(tmp_path):
    checkpoint.save(str(tmp_path), _arrays(1), META_VALUES)
    kept = sorted(os.listdir(tmp_path))
    leftovers = ["checkpoint.json.tmp-123", "checkpoint-00000000deadbeef.npz", "checkpoint-00000000deadbeef.npz.tmp-9",
                 "log.jsonl.tmp-5"]
    for name in leftovers:
        (tmp_path / name).write_bytes(b"partial")
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")  # not the checkpoint's: untouched
    assert checkpoint.clean(str(tmp_path)) == sorted(leftovers)
    assert sorted(os.listdir(tmp_path)) == sorted(kept + ["notes.txt"])
    _assert_same(checkpoint.load(str(tmp_path))[0], _arrays(1))


def test_clean_keeps_every_arrays_file_when_the_json_is_unreadable(tmp_path):
    checkpoint.save(str(tmp_path), _arrays(1), META_VALUES)
    (tmp_path / META).write_text("{torn", encoding="utf-8")
    npz = os.path.basename(_arrays_file(tmp_path))
    assert checkpoint.clean(str(tmp_path)) == []
    assert os.path.exists(tmp_path / npz)
