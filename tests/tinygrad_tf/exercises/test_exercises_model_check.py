"""The model check of the forward pieces (attention, positional table, causal mask) names the first attention,
in the order the model runs them, whose output (or Q, K, V gradient) differs."""
import numpy as np

from exercise_answers import WRONG, wrong_answer, write
from tinygrad_tf.exercises import EXERCISES, check
from tinygrad_tf.exercises import attention_outputs, models
from tinygrad_tf.nn.attention import scaled_dot_product_attention


def _model_details(report):
    model = report.checks[-1]
    assert model.title.startswith("inside") and not model.passed
    return model.details


def _answer(name, mistake):
    _, old, new, _ = next(entry for entry in WRONG[name] if entry[0] == mistake)
    return wrong_answer(name, old, new)


def test_a_wrong_mask_in_attention_names_the_encoders_first_attention_with_norms(tmp_path):
    details = _model_details(check("attention", write(tmp_path, "attention", _answer("attention", "the mask read backwards"))))
    assert details[0] == "first wrong: attention output in encoder.layers.0.self_attn"
    assert details[1].startswith("    output should have had norm") and "largest error" in details[1]
    assert "should be:" in details[2] and "was:" in details[3]
    assert any("parameter gradients differ" in line for line in details)


def test_a_wrong_causal_mask_is_first_seen_in_the_decoders_self_attention(tmp_path):
    report = check("causal_mask", write(tmp_path, "causal_mask", _answer("causal_mask", "hides the word itself")))
    assert _model_details(report)[0] == "first wrong: attention output in decoder.layers.0.self_attn"


def test_a_wrong_positional_table_is_first_seen_in_the_first_attention(tmp_path):
    report = check("positional_encoding", write(tmp_path, "positional_encoding",
                                                _answer("positional_encoding", "sines and cosines swapped")))
    assert _model_details(report)[0] == "first wrong: attention output in encoder.layers.0.self_attn"


def test_an_attention_computed_on_data_is_said_not_to_depend_on_q_and_k(tmp_path):
    cut = EXERCISES["attention"].solution.replace(
        "    return ops.matmul(ops.softmax(scores, axis=-1), v)",
        "    from autograd import Tensor\n    return ops.matmul(Tensor(ops.softmax(scores, axis=-1).data), v)")
    details = _model_details(check("attention", write(tmp_path, "attention", cut)))
    assert details[0] == "first wrong: the attention in encoder.layers.0.self_attn: its output does not depend on q and k"
    assert "the gradients of Q and K are None" in details[1]


def test_the_recorded_outputs_are_the_attentions_own_in_running_order():
    model, batch = models.transformer(), models.batch()
    calls = []
    from tinygrad_tf.exercises import model_run

    model_run.record(model, batch, attention_outputs.recording(model, None, calls))
    layers = models.SIZES["layers"]
    assert [c.module for c in calls] == (
        [f"encoder.layers.{i}.self_attn" for i in range(layers)]
        + [f"decoder.layers.{i}.{kind}" for i in range(layers) for kind in ("self_attn", "cross_attn")])
    first = calls[0]
    q, k, v = (t.detach() for t in first.inputs)
    mask = model.src_mask(batch.src)
    np.testing.assert_allclose(first.output, scaled_dot_product_attention(q, k, v, mask)[0].numpy(), rtol=1e-12)
    assert all(t.grad is not None for t in first.inputs)  # kept through backward
    assert "attention" not in vars(model.encoder.layers[0].self_attn)  # the model's own attention again
