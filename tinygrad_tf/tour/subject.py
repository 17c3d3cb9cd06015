"""What the tour looks at: one model, its vocabularies and one source sentence."""
import dataclasses

import numpy as np

from autograd import Tensor, manual_seed

from ..data import Vocab, tokenize
from ..decode import Translator
from ..nn import Transformer
from ..plots import attention_maps
from ..viz.reading import read_with, run_task

DEFAULT_SENTENCE = "The animal didn't cross the street because it was too tired."
# The random model's target words: a translation of the default sentence, so decoding shows words.
_RANDOM_TARGET_WORDS = tokenize("El animal no cruzó la calle porque estaba demasiado cansado.")
RANDOM_MODEL = dict(d_model=32, num_heads=4, num_encoder_layers=2, num_decoder_layers=2, d_ff=64)


@dataclasses.dataclass
class Subject:
    """A model in eval mode with the sentence it reads, and its greedy translation.

    Attributes:
        model: a `nn.Transformer` (eval mode).
        src_vocab, tgt_vocab: its vocabularies.
        sentence: the raw source sentence.
        src_tokens: the encoder's tokens as the model sees them, then <eos>: an unknown word
            is labelled "<unk> (word)" (`viz.reading`).
        src_words: the same tokens as written in the sentence, then <eos>.
        src_ids: (1, src_len) the ids the encoder reads (unknown words are <unk>).
        out_ids: the greedy output ids, up to and including <eos> when it ended.
        tgt_tokens: the decoder's input tokens: <bos> then the output but its last.
        tgt_ids: (1, tgt_len) their ids.
        trained: whether the weights come from a training run.
        translation: the greedy output as text (an <unk> replaced by the source word it attended to).
        reading: how the model reads the sentence (`viz.reading.Reading`), with its warnings.
        output_words: the translation's word for each output token before <eos> (an <unk> becomes
            the source word it was aligned with).
    """

    model: Transformer
    src_vocab: Vocab
    tgt_vocab: Vocab
    sentence: str
    src_tokens: list
    src_ids: np.ndarray
    out_ids: list
    tgt_tokens: list
    tgt_ids: np.ndarray
    trained: bool
    translation: str
    reading: object
    src_words: list
    output_words: list

    @property
    def device(self):
        return self.model.src_embed.weight.device

    @property
    def output_tokens(self):
        """The tokens the decoder wrote, one per decoder row."""
        return [self.tgt_vocab.itos[i] for i in self.out_ids]

    def tensor(self, ids):
        return Tensor(ids, device=self.device)



def make_subject(model, src_vocab, tgt_vocab, sentence=DEFAULT_SENTENCE, trained=True, max_len=None,
                 tokenizers=None, task=None):
    """Put `model` in eval mode, read `sentence` and decode it greedily (as `plots.attention_maps` does).

    `tokenizers` are the run's (source, target) tokenizers (default: word
    tokenizers over the vocabularies); `task` its training task, which the
    warnings of `subject.reading` name.

    Raises:
        ValueError: when the sentence has no tokens or is longer than the positional table.
    """
    tokens = tokenize(sentence)
    if not tokens:
        raise ValueError(f"tour: the sentence {sentence!r} has no tokens")
    limit = model.positional.max_len
    if len(tokens) + 1 > limit:
        raise ValueError(f"tour: the sentence has {len(tokens)} tokens; this model reads at most {limit - 1}")
    translator = Translator(model, src_vocab, tgt_vocab, model.src_embed.weight.device,  # puts the model in eval mode
                            tokenizers=tokenizers)
    maps = attention_maps(translator, sentence, max_len=min(max_len or len(tokens) + 4, limit - 1))
    out_ids = [tgt_vocab.stoi[t] for t in maps.output_tokens]
    reading = read_with(translator, sentence, task)
    eos = maps.src_tokens[len(reading.labels):]
    return Subject(model, src_vocab, tgt_vocab, sentence, reading.labels + eos, maps.src_ids[None], out_ids,
                   maps.tgt_tokens, maps.tgt_ids[None], trained, maps.translation, reading, list(maps.src_tokens),
                   list(maps.output_words))


def random_subject(sentence=DEFAULT_SENTENCE, seed=0):
    """A small model with fixed random weights (reseeds autograd's generators with `seed`).

    Its source vocabulary is the sentence's own words, so nothing is <unk>; its
    target vocabulary is a Spanish sentence's words. The pictures show the
    mechanics with real computed numbers, but no learned meaning.
    """
    tokens = tokenize(sentence)
    src_vocab, tgt_vocab = Vocab(dict.fromkeys(tokens)), Vocab(dict.fromkeys(_RANDOM_TARGET_WORDS))
    manual_seed(seed)
    model = Transformer(len(src_vocab), len(tgt_vocab), dropout=0.0, max_len=64, pad_id=Vocab.pad_id, **RANDOM_MODEL)
    return make_subject(model, src_vocab, tgt_vocab, sentence, trained=False, max_len=len(tokens) + 2)


def load_subject(run_dir, sentence=DEFAULT_SENTENCE, device=None):
    """The model of a training run (its checkpoint directory) reading `sentence`."""
    from ..train import load_translator

    translator = load_translator(run_dir, device)
    return make_subject(translator.model, translator.src_vocab, translator.tgt_vocab, sentence, trained=True,
                        tokenizers=(translator.src_tokenizer, translator.tgt_tokenizer), task=run_task(run_dir))
