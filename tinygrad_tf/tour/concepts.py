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


def picture_of(role, module=None):
    """The tour picture (a `pictures.Picture`) of a node's role, or None when the tour has none."""
    file = ROLE_PICTURES.get(role) or next((f for start, f in MASK_PICTURES if (role or "").startswith(start)), None)
    if file in ("05-matrix-form.png", "07-attention.png") and module and "cross_attn" in module:
        file = CROSS_ATTENTION
    return next((p for p in PICTURES if p.file == file), None)


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
        return dict(title=picture.title, caption=picture.caption, file=picture.file, href=href)

    return find
