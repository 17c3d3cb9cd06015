"""Training: the `Trainer` runs steps, evaluates, logs and checkpoints (resumable)."""
import json
import math
import os
import time

import numpy as np

import ops
from autograd import manual_seed, no_grad

from . import checkpoint
from .bleu import corpus_bleu
from .config import MODEL_FIELDS, TrainConfig
from .data import Batch, Vocab, load_text_splits, make_batches, tokenizers_from_meta, tokenizers_to_meta, train_tokenizers
from .decode import Translator
from .nn import Transformer
from .optim import Adam, NoamSchedule, clip_grad_norm


class Trainer:
    """Builds data, model and optimizer from a `TrainConfig` and trains.

    Example:
        >>> trainer = Trainer(TrainConfig.for_task("copy", steps=300), out="runs/copy")
        >>> trainer.fit()
        >>> trainer.translator().translate(["1 2 3"])
    """

    def __init__(self, config, out=None, tokenizers=None, log=print):
        """Args:
            config: a `TrainConfig`.
            out: the run directory checkpoints and the log go to.
            tokenizers: (source, target) tokenizers to use; by default learned from the training split.
            log: where progress lines go.
        """
        self.config, self.out, self.log = config, out, log
        manual_seed(config.seed)
        self.texts = load_text_splits(config.task, config.seed, config.max_len, config.max_pairs)
        if tokenizers is None:
            tokenizers = train_tokenizers(config.tokenizer, self.texts.train, config.vocab_size, config.min_freq,
                                          config.shared_vocab)
        self.src_tokenizer, self.tgt_tokenizer = tokenizers
        self.src_vocab, self.tgt_vocab = self.src_tokenizer.vocab, self.tgt_tokenizer.vocab
        self.splits = self.texts.map(self.src_tokenizer.split, self.tgt_tokenizer.split)  # token lists
        self.train_pairs = self._encode(self.splits.train)
        self.model = build_model(config, len(self.src_vocab), len(self.tgt_vocab)).to(config.device)
        self.optimizer = Adam(self.model.parameters(), lr=0.0, betas=(0.9, 0.98), eps=1e-9)
        self.schedule = NoamSchedule(self.optimizer, config.d_model, config.warmup, config.lr)
        self.step, self.epoch, self.batch_index = 0, 0, 0

    # ---- construction ---------------------------------------------------------
    @classmethod
    def resume(cls, directory, log=print, **overrides):
        """Continue the run saved in `directory` exactly where it stopped.

        `overrides` may change how long and how to run (steps, epochs, device,
        eval_every); architecture fields are always the checkpoint's.
        """
        saved, tokenizers, arrays, meta = _read_run(directory)
        if "state" not in meta:
            raise checkpoint.CheckpointError(f"checkpoint {os.path.join(directory, checkpoint.META)} has no training state")
        changed = {k: v for k, v in overrides.items() if v is not None and k not in MODEL_FIELDS}
        config = TrainConfig.from_dict(dict(saved.to_dict(), **changed))
        trainer = cls(config, out=directory, tokenizers=tokenizers, log=log)
        trainer._load_state(arrays, meta["state"], directory)
        return trainer

    def _encode(self, pairs):
        return [(self.src_vocab.encode_source(s), self.tgt_vocab.encode(t)) for s, t in pairs]

    # ---- the loop -----------------------------------------------------------
    def batches(self):
        """Training batches from the current position on, epoch after epoch (seeded order)."""
        while self.config.epochs is None or self.epoch < self.config.epochs:
            order = make_batches(self.train_pairs, self.config.batch_tokens, seed=self.config.seed + self.epoch)
            while self.batch_index < len(order):
                yield Batch(*zip(*order[self.batch_index]), device=self.config.device)
            self.epoch, self.batch_index = self.epoch + 1, 0

    def train_step(self, batch):
        """One update on `batch`; returns the loss as a 0-d Tensor (still on the device)."""
        self.model.train()
        manual_seed(self.config.seed * 1_000_003 + self.step)  # dropout masks depend only on the step
        logits = self.model(batch.src, batch.tgt_in, batch.src_mask, batch.tgt_mask)  # (batch, tgt_len, vocab)
        loss = ops.cross_entropy(logits, batch.tgt_out, ignore_index=Vocab.pad_id, label_smoothing=self.config.label_smoothing)
        self.optimizer.zero_grad()
        loss.backward()
        if self.config.clip:
            clip_grad_norm(self.optimizer.params, self.config.clip)
        self.schedule.step()
        self.optimizer.step()
        self.step += 1
        self.batch_index += 1
        return loss

    def fit(self, progress=True):
        """Train until `config.steps` (or `config.epochs`); evaluate, log and checkpoint along the way.

        Ctrl-C saves a checkpoint and re-raises KeyboardInterrupt.
        """
        import click

        cfg = self.config
        window_loss, window_tokens, window_start = 0.0, 0, time.time()
        deadline = time.time() + 60 * cfg.max_minutes if cfg.max_minutes else math.inf
        sink = None if progress else open(os.devnull, "w")  # closed below
        bar = click.progressbar(length=cfg.steps, label=f"training {cfg.task}", show_pos=True,
                                item_show_func=lambda s: s, file=sink)
        bar.update(self.step)
        try:
            with bar:
                for batch in self.batches():
                    if self.step >= cfg.steps or time.time() > deadline:
                        break
                    loss = float(self.train_step(batch).item())  # the one host sync per step
                    window_loss += loss * batch.num_tokens
                    window_tokens += batch.num_tokens
                    speed = window_tokens / max(time.time() - window_start, 1e-9)
                    bar.current_item = f"step {self.step} loss {loss:.3f} lr {self.optimizer.lr:.2e} {speed:,.0f} tok/s"
                    bar.update(1)
                    if self.step % cfg.eval_every == 0 or self.step == cfg.steps:
                        self._report(window_loss / max(window_tokens, 1), speed)
                        window_loss, window_tokens, window_start = 0.0, 0, time.time()
        except KeyboardInterrupt:
            self.save()
            self.log(f"\ninterrupted at step {self.step}: checkpoint saved to {self.out}")
            raise
        finally:
            if sink is not None:
                sink.close()
        if self.step % cfg.eval_every and window_tokens:  # stopped by epochs between evaluations
            self._report(window_loss / window_tokens, window_tokens / max(time.time() - window_start, 1e-9))
        return self

    def _report(self, train_loss, speed):
        metrics = self.evaluate("valid", self.config.bleu_sentences)
        record = dict(step=self.step, epoch=self.epoch, train_loss=round(train_loss, 4), valid_loss=round(metrics["loss"], 4),
                      valid_bleu=round(metrics["bleu"], 2), lr=self.optimizer.lr, tokens_per_s=round(speed, 1), time=time.time())
        self.log(f"\nstep {self.step}: train loss {train_loss:.3f}, valid loss {metrics['loss']:.3f}, valid BLEU {metrics['bleu']:.2f}")
        if self.out:
            os.makedirs(self.out, exist_ok=True)
            with open(os.path.join(self.out, "log.jsonl"), "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
            self.save()

    # ---- evaluation -----------------------------------------------------------
    @no_grad()
    def loss_on(self, pairs):
        """Mean per-token cross-entropy (without smoothing) on encoded pairs, in eval mode."""
        self.model.eval()
        total, tokens = 0.0, 0
        for chunk in make_batches(pairs, self.config.batch_tokens):
            batch = Batch(*zip(*chunk), device=self.config.device)
            logits = self.model(batch.src, batch.tgt_in, batch.src_mask, batch.tgt_mask)
            loss = ops.cross_entropy(logits, batch.tgt_out, ignore_index=Vocab.pad_id, reduction="sum")
            total += float(loss.item())
            tokens += batch.num_tokens
        return total / max(tokens, 1)

    def evaluate(self, split="test", max_sentences=None, beam=1):
        """Loss and corpus BLEU (greedy or beam) on a split; also returns sample translations.

        BLEU and exact match count lower-cased words (`tokenize`'s), whatever
        the tokenizer, so word and subword runs are compared on equal terms.
        """
        pairs = getattr(self.splits, split)[:max_sentences]
        hyps = self.translator().translate_tokens([s for s, _ in pairs], beam=beam)
        hyps = [self.tgt_tokenizer.words(h) for h in hyps]
        refs = [self.tgt_tokenizer.words(t) for _, t in pairs]
        bleu = corpus_bleu(hyps, refs)
        exact = float(np.mean([h == t for h, t in zip(hyps, refs)])) if pairs else math.nan
        return {"loss": self.loss_on(self._encode(pairs)), "bleu": bleu.score, "detail": bleu, "exact": exact,
                "samples": [(self.src_tokenizer.words(s), t, h) for (s, _), t, h in zip(pairs[:5], refs, hyps)]}

    def translator(self):
        return Translator(self.model, self.src_vocab, self.tgt_vocab, self.config.device,
                          tokenizers=(self.src_tokenizer, self.tgt_tokenizer))

    # ---- checkpoints ----------------------------------------------------------
    def save(self, directory=None):
        """Write model, optimizer, position, config and vocabularies atomically to `directory`."""
        directory = directory or self.out
        if directory is None:
            raise ValueError("Trainer.save: no directory given and the trainer has no `out`")
        opt = self.optimizer.state_dict()
        arrays = {f"model/{k}": v for k, v in self.model.state_dict().items()}
        arrays.update({f"optimizer/{k}": v for k, v in opt["arrays"].items()})
        meta = {
            "config": self.config.to_dict(),
            "state": {"step": self.step, "epoch": self.epoch, "batch_index": self.batch_index,
                      "optimizer": {"lr": opt["lr"], "steps": opt["steps"]}, "schedule": self.schedule.state_dict()},
            **tokenizers_to_meta(self.src_tokenizer, self.tgt_tokenizer),
        }
        checkpoint.save(directory, arrays, meta)

    def _load_state(self, arrays, state, directory):
        try:
            self.model.load_state_dict(_prefixed(arrays, "model/"))
            self.optimizer.load_state_dict(dict(state["optimizer"], arrays=_prefixed(arrays, "optimizer/")))
            self.schedule.load_state_dict(state["schedule"])
            self.step, self.epoch, self.batch_index = state["step"], state["epoch"], state["batch_index"]
        except (KeyError, ValueError) as e:
            raise checkpoint.CheckpointError(f"checkpoint in {directory} does not fit the model: {e}") from None


def build_model(config, src_vocab_size, tgt_vocab_size):
    """The Transformer that `config` describes."""
    return Transformer(
        src_vocab_size, tgt_vocab_size, d_model=config.d_model, num_heads=config.heads,
        num_encoder_layers=config.layers, num_decoder_layers=config.layers, d_ff=config.d_ff,
        dropout=config.dropout, max_len=max(64, 2 * config.max_len + 16), norm_first=config.norm_first,
        tie_weights=config.tie_weights, pad_id=Vocab.pad_id,
    )


def _read_run(directory):
    """(config, (src_tokenizer, tgt_tokenizer), arrays, meta) of the checkpoint in `directory`."""
    arrays, meta = checkpoint.load(directory)
    try:
        config = TrainConfig.from_dict(meta["config"])
        tokenizers = tokenizers_from_meta(meta)
    except (KeyError, TypeError, ValueError) as e:
        raise checkpoint.CheckpointError(f"checkpoint {os.path.join(directory, checkpoint.META)} is missing or has bad fields ({e})") from None
    return config, tokenizers, arrays, meta


def _prefixed(arrays, prefix):
    """The arrays whose names start with `prefix`, with it removed."""
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def load_translator(directory, device=None):
    """A `Translator` from a checkpoint directory (only the model and tokenizers are read)."""
    config, (src_tokenizer, tgt_tokenizer), arrays, _ = _read_run(directory)
    device = device or config.device
    model = build_model(config, len(src_tokenizer.vocab), len(tgt_tokenizer.vocab))
    try:
        model.load_state_dict(_prefixed(arrays, "model/"))
    except (KeyError, ValueError) as e:
        raise checkpoint.CheckpointError(f"checkpoint in {directory} does not fit its config: {e}") from None
    return Translator(model.to(device), src_tokenizer.vocab, tgt_tokenizer.vocab, device,
                      tokenizers=(src_tokenizer, tgt_tokenizer))


def translate(sentences, checkpoint_dir, beam=1, device=None):
    """Translate sentences with the model saved in `checkpoint_dir` (a notebook-friendly one-liner)."""
    return load_translator(checkpoint_dir, device).translate(list(sentences), beam=beam)
