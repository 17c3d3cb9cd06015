"""`Vocab`: token <-> id, with the special tokens <pad> <bos> <eos> <unk>."""
import collections
import json

from .. import outputs

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)


class Vocab:
    """A token list whose positions are the ids; ids 0-3 are <pad> <bos> <eos> <unk>."""

    pad_id, bos_id, eos_id, unk_id = range(4)

    def __init__(self, tokens):
        tokens = list(tokens)
        if tuple(tokens[:4]) != SPECIALS:
            tokens = list(SPECIALS) + [t for t in tokens if t not in SPECIALS]
        self.itos = tokens
        self.stoi = {t: i for i, t in enumerate(tokens)}

    @classmethod
    def build(cls, sentences, min_freq=1, max_size=None):
        """From tokenised sentences: tokens seen at least `min_freq` times, most frequent first."""
        counts = collections.Counter(tok for s in sentences for tok in s)
        kept = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max(0, max_size - len(SPECIALS))]
        return cls(kept)

    def __len__(self):
        return len(self.itos)

    def encode(self, tokens, bos=False, eos=False):
        """Token strings -> ids (unknown tokens -> <unk>)."""
        ids = [self.stoi.get(t, self.unk_id) for t in tokens]
        return ([self.bos_id] if bos else []) + ids + ([self.eos_id] if eos else [])

    def encode_source(self, tokens):
        """Ids of a source sentence as the encoder reads it: the tokens, then <eos>.

        The end marker gives the decoder something to attend to when the
        source is used up, which is how it learns where to stop (without it,
        the copy task confuses lengths 3 and 4).
        """
        return self.encode(tokens, eos=True)

    def decode(self, ids):
        """Ids -> tokens, stopping at <eos> and dropping <pad>/<bos>."""
        out = []
        for i in ids:
            i = int(i)
            if i == self.eos_id:
                break
            if i not in (self.pad_id, self.bos_id):
                out.append(self.itos[i] if 0 <= i < len(self.itos) else UNK)
        return out

    def to_json(self):
        return json.dumps({"tokens": self.itos}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text):
        return cls(json.loads(text)["tokens"])

    def save(self, path):
        """Write the vocabulary to `path` as JSON, whole or not at all."""
        outputs.write_text(path, self.to_json())

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            return cls.from_json(f.read())
