"""Which tour picture shows the concept a graph node plays (Q, K, V, scores, the mask, ...).

The explorer's side panel shows that picture beside a node whose role is one
of the tour's concepts (`tinygrad-tf explore --tour DIR`).
"""
import os

from .pictures import PICTURES

# The roles the model gives its ops (nn marks them), and the picture of each.
ROLE_PICTURES = {
    "× √d_model": "01-embeddings.png", "+ positional table": "08-positional.png",
    "Q": "03-qkv.png", "K": "03-qkv.png", "V": "03-qkv.png",
    "Kᵀ": "05-matrix-form.png", "scores QKᵀ": "05-matrix-form.png", "scale 1/√d_k": "05-matrix-form.png",
    "attention weights": "07-attention.png", "W_O (output projection)": "06-heads.png",
    "residual x + sublayer": "09-residual-norm.png", "logits": "12-decoding.png",
}
MASK_PICTURES = (("mask (causal", "11-causal-mask.png"), ("mask", "05-matrix-form.png"))  # by the role's start
CROSS_ATTENTION = "10-cross-attention.png"  # an attention step inside a cross_attn module
DECODER_SELF_ATTENTION = "11-causal-mask.png"  # the scores and weights of a decoder's masked self-attention
ATTENTION_STEPS = ("05-matrix-form.png", "07-attention.png")  # the pictures of scores and weights
# Which layer and head each picture draws: (the module path it shows, or None when that varies; in words).
SHOWN = {
    "03-qkv.png": ("encoder.layers.0.self_attn", "encoder layer 0's self-attention"),
    "04-scores.png": ("encoder.layers.0.self_attn", "encoder layer 0's self-attention"),
    "05-matrix-form.png": ("encoder.layers.0.self_attn", "encoder layer 0's self-attention"),
    "06-heads.png": ("encoder.layers.0.self_attn", "encoder layer 0's self-attention"),
    "07-attention.png": (None, "the encoder layer and head the head search picked (named in its title)"),
    "09-residual-norm.png": ("encoder.layers.0", "encoder layer 0's self-attention sublayer"),
    "10-cross-attention.png": (None, "the last decoder layer's cross-attention (its first head unless --head)"),
    "11-causal-mask.png": ("decoder.layers.0.self_attn",
                           "decoder layer 0's masked self-attention (its first head unless --head)"),
}


def picture_of(role, module=None):
    """The tour picture (a `pictures.Picture`) of a node's role, or None when the tour has none."""
    file = ROLE_PICTURES.get(role) or next((f for start, f in MASK_PICTURES if (role or "").startswith(start)), None)
    if file in ATTENTION_STEPS and module and "cross_attn" in module:
        file = CROSS_ATTENTION
    elif file in ATTENTION_STEPS and module and module.startswith("decoder") and "self_attn" in module:
        file = DECODER_SELF_ATTENTION
    return next((p for p in PICTURES if p.file == file), None)


def shown_elsewhere(file, module):
    """A sentence naming the layer and head picture `file` draws when it is not `module`'s, else ""."""
    if file not in SHOWN or not module:
        return ""
    path, words = SHOWN[file]
    if path is not None and (module == path or module.startswith(path + ".")):
        return ""
    return f"This picture shows {words}; this node is in {module}."


def concept_finder(tour_dir, page_path):
    """A function (role, module) -> {title, caption, file, href} for the explorer, or None for no concept.

    `href` is the picture's path relative to the page at `page_path`, or None when `tour_dir` is None
    or holds no such file (the panel then says how to draw it).
    """
    def find(role, module):
        picture = picture_of(role, module)
        if picture is None:
            return None
        href = None
        if tour_dir is not None and os.path.exists(os.path.join(tour_dir, picture.file)):
            page_dir = os.path.dirname(os.path.abspath(page_path))
            href = os.path.relpath(os.path.abspath(os.path.join(tour_dir, picture.file)), page_dir).replace(os.sep, "/")
        caption = " ".join(filter(None, (picture.caption, shown_elsewhere(picture.file, module))))
        return dict(title=picture.title, caption=caption, file=picture.file, href=href)

    return find
