"""The twelve pictures in order: file name, title, what to look at, and how each is made."""
import dataclasses

from . import data as figdata
from .draw_attention import draw_heads, draw_matrix_form, draw_qkv, draw_scores, draw_word_attention
from .draw_basics import draw_embeddings, draw_positional, draw_residual_norm, draw_stacks
from .draw_common import subtitle
from .draw_decoder import draw_causal_mask, draw_cross_attention, draw_decoding
from .search import head_search


@dataclasses.dataclass(frozen=True)
class Choice:
    """What the attention pictures follow.

    Attributes:
        layer, head: the encoder layer (07 only) and the head; when both are None, 07 follows the head
            that the head search (`tour.head_search`) ranks first, and the other pictures head 0.
        word: the query word; target: the word the head search ranks heads by (None: any other word).
    """

    layer: int = None
    head: int = None
    word: object = None
    target: object = None

    @property
    def head_or_first(self):
        return 0 if self.head is None else self.head


@dataclasses.dataclass(frozen=True)
class Picture:
    file: str
    title: str
    caption: str
    make: object  # (subject, Choice) -> matplotlib Figure
    finding: object = None  # (subject, Choice) -> what this model's numbers show, said after the caption


def _last(layers):
    return len(layers) - 1


def followed_head(subject, choice, search):
    """(layer, head) picture 07 draws: the search's strongest unless the learner chose."""
    if choice.layer is None and choice.head is None:
        return search.best.layer, search.best.head
    return (_last(subject.model.encoder.layers) if choice.layer is None else choice.layer), choice.head_or_first


def _word_attention(subject, choice):
    search = head_search(subject, choice.word, choice.target)
    layer, head = followed_head(subject, choice, search)
    return draw_word_attention(figdata.self_attention_data(subject, layer, head, choice.word), subtitle(subject), search)


def _word_attention_caption(subject, choice):
    return head_search(subject, choice.word, choice.target).statement()


def _first_layer(draw):
    return lambda subject, choice: draw(figdata.self_attention_data(subject, 0, choice.head_or_first, choice.word),
                                        subtitle(subject))


PICTURES = (
    Picture("01-embeddings.png", "Embeddings",
            "Each source token becomes a row of numbers: its learned embedding, scaled by √d_model, plus the "
            "positional encoding of its place. Compare panel 2 and panel 4: the scale makes the word's own numbers "
            "dominate the small positional ones.",
            lambda s, c: draw_embeddings(figdata.embeddings_data(s), subtitle(s))),
    Picture("02-stacks.png", "The encoder and decoder stacks",
            "Data flows upwards. Every encoder layer is self-attention then a feed-forward network, each followed by "
            "add & norm; every decoder layer adds a cross-attention whose keys and values are the encoder's output "
            "(red arrows). The labels are the model's module paths.",
            lambda s, c: draw_stacks(figdata.stacks_data(s), subtitle(s))),
    Picture("03-qkv.png", "Queries, keys and values",
            "The first encoder layer's input X is multiplied by three learned matrices. For one head, each token gets "
            "a query (what it looks for), a key (what it offers) and a value (what it passes on): one strip each.",
            _first_layer(draw_qkv)),
    Picture("04-scores.png", "Attention for one word",
            "One query token scores every key by a dot product, the scores are divided by √d_k and a softmax turns "
            "them into weights that sum to 1. The word's output is the weighted sum of the values (right).",
            _first_layer(draw_scores)),
    Picture("05-matrix-form.png", "The same as matrices",
            "All queries at once: Q Kᵀ is every score, scaling and the mask act on the whole matrix, each row's "
            "softmax gives one word's weights and multiplying by V gives every output row. Read the shapes in the "
            "titles.", _first_layer(draw_matrix_form)),
    Picture("06-heads.png", "Multi-head attention",
            "Each head has its own W_Q, W_K, W_V, so each attends in its own way (top). Their outputs are laid side "
            "by side and W_O mixes them back into one d_model-wide row per token (bottom).",
            _first_layer(draw_heads)),
    Picture("07-attention.png", "Where one word looks",
            "The chosen word's attention weights over the sentence, as a heatmap row (red box) and as lines whose "
            "thickness is the weight. The grid (right) is the head search: every encoder layer and head, ranked by "
            "the weight from the word to the target word (or to the word it stands out on most) minus the mean "
            "weight the other words put there, with both numbers: a head where every word looks at the same token "
            "is no link of this word's. The picture follows the best head unless --layer/--head choose one.",
            _word_attention, _word_attention_caption),
    Picture("08-positional.png", "Positional encoding",
            "The table added to the embeddings: one row per position, sines and cosines of decreasing frequency. The "
            "model interleaves them (left); the explainer draws the sin half and the cos half side by side (right).",
            lambda s, c: draw_positional(figdata.positional_data(), "")),
    Picture("09-residual-norm.png", "Residual connection and layer norm",
            "The first encoder layer's self-attention sublayer: its input, its output, their sum, and the layer "
            "norm of the sum. The line plots show each token's mean and spread: the norm brings every row back "
            "to mean 0 and the same scale.",
            lambda s, c: draw_residual_norm(figdata.residual_norm_data(s, 0), subtitle(s))),
    Picture("10-cross-attention.png", "Cross-attention",
            "The last decoder layer's attention over the source: the encoder output is projected to K and V, the "
            "decoder's states to Q. Each row of the weights shows which source words the decoder read while "
            "writing the next word.",
            lambda s, c: draw_cross_attention(figdata.cross_attention_data(s, _last(s.model.decoder.layers), c.head_or_first),
                                              subtitle(s))),
    Picture("11-causal-mask.png", "The causal mask",
            "In the decoder's self-attention a position may see only itself and earlier positions. Scores above the "
            "diagonal become −∞, so after the softmax their weights are exactly 0 and every row sums to 1 over "
            "the past.",
            lambda s, c: draw_causal_mask(figdata.causal_data(s, 0, c.head_or_first), subtitle(s))),
    Picture("12-decoding.png", "Greedy decoding",
            "The decoder writes one token per step. Each row is one step: the decoder's output vector at the last "
            "position (left) goes through the final linear layer, which gives a logit to every word of the target "
            "vocabulary (all of them, the top five named); the softmax turns them into probabilities, and the most "
            "likely word (orange) is appended and read at the next step, until <eos>. Where the model writes <unk>, "
            "the translation puts the source word it was aligned with.",
            lambda s, c: draw_decoding(figdata.decoding_data(s), subtitle(s))),
)

FILES = tuple(p.file for p in PICTURES)
