"""PyTorch interop: to_torch gives our logits in torch.nn, from_torch goes back, export writes a loadable file.

Models are random (dropout 0, eval mode), with padded sources and targets so
the masks matter; logits are compared in float32 with a float32 tolerance.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

from autograd import Tensor, manual_seed, no_grad
from nn_testing import briefly_trained
from tinygrad_tf.nn import Transformer

torch = pytest.importorskip("torch")
from tinygrad_tf.interop import export_run, from_torch, load_torch, to_torch, transformer_config  # noqa: E402

PAD = 0
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _model(norm_first=False, activation="relu", tie_weights=False, seed=0, src_vocab=23):
    manual_seed(seed)
    model = Transformer(src_vocab, 29, d_model=32, num_heads=4, num_encoder_layers=2, num_decoder_layers=3, d_ff=48,
                        dropout=0.0, max_len=40, norm_first=norm_first, tie_weights=tie_weights, pad_id=PAD,
                        activation=activation)
    for name, p in model.named_parameters():  # move the LayerNorms off 1 and 0 so that they are really tested
        if ".norm" in name or name.startswith("norm"):
            p.data[...] += np.random.default_rng(seed).normal(0, 0.2, p.shape).astype(np.float32)
    return model.eval()


def _batch(seed=0, batch=4, src_len=9, tgt_len=7):
    rng = np.random.default_rng(seed)
    src = rng.integers(3, 23, size=(batch, src_len))
    tgt = rng.integers(3, 29, size=(batch, tgt_len))
    for r in range(batch):  # padded tails of different lengths
        src[r, src_len - r :] = PAD
        tgt[r, tgt_len - r :] = PAD
    return src, tgt


@no_grad()
def _our_logits(model, src, tgt):
    return model(Tensor(src), Tensor(tgt)).numpy()


VARIANTS = [dict(), dict(norm_first=True), dict(activation="gelu"), dict(norm_first=True, tie_weights="target"),
            dict(tie_weights="all", src_vocab=29)]


@pytest.mark.parametrize("variant", VARIANTS, ids=["post-norm", "pre-norm", "gelu", "pre-norm-tied", "three-way-tied"])
def test_to_torch_gives_our_logits(variant):
    model = _model(**variant)
    module = to_torch(model)
    assert isinstance(module, torch.nn.Module) and not module.training
    src, tgt = _batch()
    with torch.no_grad():
        theirs = module(torch.from_numpy(src), torch.from_numpy(tgt)).numpy()
    ours = _our_logits(model, src, tgt)
    assert theirs.dtype == np.float32 and theirs.shape == ours.shape == (4, 7, 29)
    np.testing.assert_allclose(theirs, ours, rtol=1e-4, atol=1e-5)
    # the same names on both sides
    assert set(module.state_dict()) == set(model.state_dict())
    if variant.get("tie_weights"):
        assert module.generator.weight is module.tgt_embed.weight
        assert (module.src_embed.weight is module.tgt_embed.weight) == (variant["tie_weights"] == "all")


@pytest.mark.parametrize("variant", VARIANTS[:2], ids=["post-norm", "pre-norm"])
def test_from_torch_round_trip(variant):
    model = _model(**variant, seed=3)
    module = to_torch(model)
    with torch.no_grad():  # change the torch weights, so that coming back really copies them
        for p in module.parameters():
            p.add_(0.01 * torch.randn_like(p))
    back = from_torch(module)
    assert transformer_config(back) == transformer_config(model)
    src, tgt = _batch(seed=1)
    with torch.no_grad():
        theirs = module.eval()(torch.from_numpy(src), torch.from_numpy(tgt)).numpy()
    np.testing.assert_allclose(_our_logits(back.eval(), src, tgt), theirs, rtol=1e-4, atol=1e-5)
    for name, value in to_torch(back).state_dict().items():
        np.testing.assert_array_equal(value.numpy(), module.state_dict()[name].numpy(), err_msg=name)


def test_from_torch_refuses_another_module():
    with pytest.raises(ValueError, match="from_torch"):
        from_torch(torch.nn.Linear(2, 2))


def test_gradients_flow_in_the_torch_model():
    module = to_torch(_model()).train()
    src, tgt = _batch()
    module(torch.from_numpy(src), torch.from_numpy(tgt)).sum().backward()
    assert all(p.grad is not None for p in module.parameters())


def test_importing_the_package_does_not_import_torch():
    code = "import sys, tinygrad_tf, tinygrad_tf.interop, tinygrad_tf.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=ROOT), check=True)
    assert out.stdout.strip() == "False", out.stderr


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("interop") / "copy")
    briefly_trained("copy", steps=4, d_model=16, heads=2, layers=1, d_ff=32, max_pairs=200, batch_tokens=200,
                    warmup=2, eval_every=10**6, seed=5).save(out)
    return out


def test_export_writes_a_file_plain_torch_loads(run_dir, tmp_path):
    from tinygrad_tf import load_translator
    from tinygrad_tf.interop.torch_model import TorchTransformer

    path = str(tmp_path / "model.pt")
    export_run(run_dir, path)
    # the documented two lines for a PyTorch user
    saved = torch.load(path, weights_only=True)
    module = TorchTransformer(**saved["config"])
    module.load_state_dict(saved["state_dict"])
    translator = load_translator(run_dir)
    src, tgt = _batch(batch=3, src_len=6, tgt_len=5)
    src, tgt = src % len(translator.src_vocab), tgt % len(translator.tgt_vocab)
    with torch.no_grad():
        theirs = module.eval()(torch.from_numpy(src), torch.from_numpy(tgt)).numpy()
    np.testing.assert_allclose(theirs, _our_logits(translator.model, src, tgt), rtol=1e-4, atol=1e-5)
    loaded, (src_itos, tgt_itos) = load_torch(path)
    assert src_itos == translator.src_vocab.itos and tgt_itos == translator.tgt_vocab.itos
    assert not loaded.training
    with pytest.raises(FileExistsError, match="already exists"):
        export_run(run_dir, path)
    assert sorted(os.listdir(tmp_path)) == ["model.pt"]  # no temporary left behind


def test_load_torch_rejects_other_files(tmp_path):
    path = str(tmp_path / "other.pt")
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="not a model exported"):
        load_torch(path)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="cannot read"):
        load_torch(str(garbage))


def test_export_command(run_dir, tmp_path):
    from click.testing import CliRunner
    from helpers import assert_clean_error

    from tinygrad_tf.cli import main

    path = str(tmp_path / "model.pt")
    result = CliRunner().invoke(main, ["export", "--checkpoint", run_dir, "--out", path])
    assert result.exit_code == 0, result.output
    assert "exported" in result.output and os.path.isfile(path)
    before = os.path.getmtime(path), os.path.getsize(path)
    assert_clean_error(CliRunner().invoke(main, ["export", "--checkpoint", run_dir, "--out", path]), path, "exists")
    assert (os.path.getmtime(path), os.path.getsize(path)) == before  # not overwritten
    result = CliRunner().invoke(main, ["export", "--checkpoint", run_dir, "--out", path, "--overwrite"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["export", "--checkpoint", run_dir, "--out", path, "--force"])  # its old name
    assert result.exit_code == 0, result.output
    missing = str(tmp_path / "no_run")
    other = str(tmp_path / "other.pt")
    assert_clean_error(CliRunner().invoke(main, ["export", "--checkpoint", missing, "--out", other]), missing)
    assert not os.path.exists(other)
    assert_clean_error(CliRunner().invoke(main, ["export", "--checkpoint", run_dir, "--out", str(tmp_path / "no" / "m.pt")]),
                       "does not exist")
