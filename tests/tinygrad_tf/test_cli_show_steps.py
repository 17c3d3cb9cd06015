"""`tinygrad-tf translate --show-steps K`: each output step's top-K tokens with the model's probabilities."""
import numpy as np
import pytest
from click.testing import CliRunner

from autograd import Tensor, no_grad
from tinygrad_tf import load_translator
from tinygrad_tf.cli import main
from tinygrad_tf.data import Vocab, tokenize
from helpers import tiny_copy_training

TINY = tiny_copy_training(steps=60, max_pairs=300, batch_tokens=300, eval_every=60, seed=7)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("steps") / "copy")
    result = CliRunner().invoke(main, ["train", *TINY, "--out", out])
    assert result.exit_code == 0, result.output
    return out


@no_grad()
def _reference(translator, sentence, out_tokens):
    """Softmax (float64 NumPy) of the teacher-forced logits over the chosen output."""
    itos = translator.tgt_vocab.itos
    ids = [itos.index(t) for t in out_tokens]
    src = Tensor(np.array([translator.src_vocab.encode_source(tokenize(sentence))]))
    logits = translator.model(src, Tensor(np.array([[Vocab.bos_id] + ids[:-1]]))).numpy()[0].astype(np.float64)
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("beam", [1, 3])
def test_step_candidates_are_the_models_distribution(run_dir, beam):
    translator = load_translator(run_dir)
    sentence = "3 1 4 1 5 9"
    steps = translator.step_candidates(sentence, k=4, beam=beam)
    chosen = [c for c, _ in steps]
    assert chosen[-1] == "<eos>"
    assert " ".join(chosen[:-1]) == translator.translate([sentence], beam=beam)[0]
    probs = _reference(translator, sentence, chosen)
    itos = translator.tgt_vocab.itos
    for step, (token, candidates) in enumerate(steps):
        assert len(candidates) == 4
        ps = [p for _, p in candidates]
        assert ps == sorted(ps, reverse=True)
        want = np.argsort(-probs[step], kind="stable")[:4]
        assert [t for t, _ in candidates] == [itos[i] for i in want]
        np.testing.assert_allclose(ps, probs[step][want], rtol=1e-4, atol=1e-6)
        if beam == 1 and candidates[0][0] not in ("<pad>", "<bos>"):
            assert token == candidates[0][0]  # greedy takes the most probable token


def test_show_steps_prints_every_step(run_dir):
    result = CliRunner().invoke(main, ["translate", "--checkpoint", run_dir, "--show-steps", "2", "1 2 3", "4 5"])
    assert result.exit_code == 0, result.output
    translator = load_translator(run_dir)
    expected = []
    for sentence in ["1 2 3", "4 5"]:
        expected.append(translator.translate([sentence])[0])  # one line at a time, as the CLI translates
        for n, (token, candidates) in enumerate(translator.step_candidates(sentence, 2), 1):
            expected.append(f"  step {n:>2}: {token:<12} | " + "  ".join(f"{t} {p:.3f}" for t, p in candidates))
    assert result.output.splitlines() == expected


def test_show_steps_needs_a_positive_k(run_dir):
    result = CliRunner().invoke(main, ["translate", "--checkpoint", run_dir, "--show-steps", "0", "1 2"])
    assert result.exit_code == 2 and "--show-steps" in result.output and "Traceback" not in result.output


def test_an_empty_translation_shows_the_step_where_eos_won(run_dir, monkeypatch):
    from tinygrad_tf import decode

    def eos_first(self, src, beam=1, max_len=None):  # a model that ends at once: an empty translation
        return [[Vocab.eos_id]] * src.shape[0], [[0]] * src.shape[0]

    monkeypatch.setattr(decode.Translator, "decode_ids", eos_first)
    result = CliRunner().invoke(main, ["translate", "--checkpoint", run_dir, "--show-steps", "3", "3 1 4"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "" and len(lines) == 2, result.output  # the empty translation, then its one step
    expected = _reference(load_translator(run_dir), "3 1 4", ["<eos>"])[0]
    itos = load_translator(run_dir).tgt_vocab.itos
    top = [(itos[i], expected[i]) for i in np.argsort(-expected, kind="stable")[:3]]
    assert lines[1].startswith("  step  1: <eos>")
    assert lines[1].split("| ")[1] == "  ".join(f"{token} {p:.3f}" for token, p in top)
