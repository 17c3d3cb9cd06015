"""Moving a model to PyTorch and back (the optional extra `interop`: pip install -e .[interop]).

    from tinygrad_tf.interop import to_torch, from_torch
    module = to_torch(model)        # a torch.nn.Module: same architecture, same weights, same logits
    model = from_torch(module)      # and back to a tinygrad_tf.nn.Transformer

    export_run("runs/spa-eng", "model.pt")   # what `tinygrad-tf export` does (save_torch writes the file)
    module, vocabs = load_torch("model.pt")  # the torch module (eval mode) and the vocabularies

The torch model is `torch_model.TorchTransformer` with "manual" attention:
the same four Linears per attention as ours, so the state-dict names are the
same on both sides. torch is imported only when one of these functions runs:
`import tinygrad_tf` (and this package) never imports it.
"""
import io
import os
import pickle

FORMAT = "tinygrad_tf.torch/1"  # written into exported files; lets `load_torch` recognise them


def _torch():
    try:
        import torch
    except ImportError:
        raise RuntimeError("the PyTorch interop needs torch: pip install -e .[interop]") from None
    return torch


def transformer_config(model):
    """The constructor arguments of a `tinygrad_tf.nn.Transformer`, read off the built model."""
    encoder, decoder = model.encoder.layers, model.decoder.layers
    some_layer = (list(encoder) + list(decoder))[0]
    return dict(
        src_vocab=model.src_embed.weight.shape[0], tgt_vocab=model.tgt_embed.weight.shape[0], d_model=model.d_model,
        num_heads=some_layer.self_attn.num_heads, num_encoder_layers=len(encoder), num_decoder_layers=len(decoder),
        d_ff=some_layer.feed_forward.linear1.weight.shape[0], dropout=some_layer.feed_forward.dropout.p,
        max_len=model.positional.max_len, norm_first=some_layer.norm_first,
        tie_weights=_tie_mode(model), pad_id=model.pad_id,
        activation=some_layer.feed_forward.activation,
    )


def _tie_mode(model):
    """How the model shares its matrices: "all" (both embeddings and the output), "target", or False."""
    if model.generator.weight is not model.tgt_embed.weight:
        return False
    return "all" if model.src_embed.weight is model.tgt_embed.weight else "target"


def to_torch(model):
    """A `torch_model.TorchTransformer` with the architecture and weights of our `Transformer`.

    The module comes back in the mode `model` is in (train or eval), on the CPU, in float32.
    """
    _torch()
    from .torch_model import TorchTransformer, load_from_ours

    module = TorchTransformer(**transformer_config(model), attention="manual")
    load_from_ours(module, model.state_dict())
    return module.train(model.training)


def from_torch(module):
    """Our `Transformer` with the architecture and weights of a `TorchTransformer` (from `to_torch` or `load_torch`)."""
    torch = _torch()
    from ..nn import Transformer

    config = dict(getattr(module, "config", {}))
    if config.pop("attention", None) != "manual":
        raise ValueError(f"from_torch: expected a TorchTransformer with attention='manual' (as to_torch makes), got {type(module).__name__}")
    model = Transformer(**config)
    with torch.no_grad():
        model.load_state_dict({k: v.detach().cpu().float().numpy() for k, v in module.state_dict().items()})
    return model.train(module.training)


def export_run(checkpoint_dir, path, overwrite=False):
    """Write the model of a training run to `path` as a PyTorch file: {format, config, state_dict, vocabularies}.

    The file is written to a temporary name and renamed into place; an existing
    `path` is an error unless `overwrite`. Returns the torch module.
    """
    _torch()
    from ..outputs import check
    from ..train import load_translator

    check(path)  # never a device, a folder or one of a run's own files, even with `overwrite`
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"export: {path} already exists (choose another --out, or --overwrite to replace it)")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"export: cannot write {path}: directory {directory} does not exist")
    translator = load_translator(checkpoint_dir, device="cpu")
    module = to_torch(translator.model).eval()
    save_torch(module, path, translator.src_vocab.itos, translator.tgt_vocab.itos)
    return module


def save_torch(module, path, src_itos, tgt_itos):
    """Write a `TorchTransformer` and its vocabularies (lists of tokens) to `path`, atomically."""
    torch = _torch()
    from ..outputs import write_bytes

    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "config": module.config, "state_dict": module.state_dict(),
                "src_vocab": list(src_itos), "tgt_vocab": list(tgt_itos)}, buffer)
    write_bytes(path, buffer.getvalue())


def load_torch(path):
    """(module, (src_itos, tgt_itos)) from a file written by `export_run`; the module is in eval mode."""
    torch = _torch()
    from .torch_model import TorchTransformer

    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as e:
        raise ValueError(f"load_torch: cannot read {path} ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise ValueError(f"load_torch: {path} is not a model exported by tinygrad-tf export")
    module = TorchTransformer(**saved["config"])
    module.load_state_dict(saved["state_dict"])
    return module.eval(), (saved["src_vocab"], saved["tgt_vocab"])
