"""Training: the `Trainer` runs steps, evaluates, logs and checkpoints (resumable)."""
import math
import os
import signal
import time

import numpy as np

import ops
from autograd import allocator, manual_seed, no_grad

from . import checkpoint, rundir
from .config import MODEL_FIELDS, TrainConfig
from .data import (
    Batch, NoDataError, Vocab, load_text_splits, make_batches, tokenizers_from_meta, tokenizers_to_meta, train_tokenizers,
)
from .decode import Translator
from .interrupt import Interrupted, StopRequests
from .nn import Transformer
from .optim import Adam, NoamSchedule, clip_grad_norm
from .progress import Progress
from .rundir import append_log
from .scores import corpus_scores


class TrainingDiverged(RuntimeError):
    """The loss became nan or inf: the weights are no longer usable."""


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
        self.replaces_run = False  # True: `out` holds an older run, replaced (checkpoint and log) at this one's first save
        manual_seed(config.seed)
        self.texts = load_text_splits(config.task, config.seed, config.max_len, config.max_pairs)
        if tokenizers is None:
            tokenizers = train_tokenizers(config.tokenizer, self.texts.train, config.vocab_size, config.min_freq,
                                          config.shared_vocab)
        self.src_tokenizer, self.tgt_tokenizer = tokenizers
        self.src_vocab, self.tgt_vocab = self.src_tokenizer.vocab, self.tgt_tokenizer.vocab
        self.splits = self.texts.map(self.src_tokenizer.split, self.tgt_tokenizer.split)  # token lists
        self.train_pairs = self._encode(self.splits.train)
        if not self.train_pairs:
            raise NoDataError("max_pairs", f"no training pairs for {config.task} (max_pairs={config.max_pairs}, "
                                           f"max_len={config.max_len})")
        self.model = build_model(config, len(self.src_vocab), len(self.tgt_vocab)).to(config.device)
        self.optimizer = Adam(self.model.parameters(), lr=0.0, betas=(0.9, 0.98), eps=1e-9)
        self.schedule = NoamSchedule(self.optimizer, config.d_model, config.warmup, config.lr, config.decay, config.steps)
        self.step, self.epoch, self.batch_index = 0, 0, 0
        self.window = [0.0, 0]  # (sum of loss x tokens, tokens) since the last log row: its train_loss

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
            if not order:  # would spin forever
                raise NoDataError("max_pairs", "no training pairs to make batches of")
            while self.batch_index < len(order):
                yield Batch(*zip(*order[self.batch_index]), device=self.config.device)
            self.epoch, self.batch_index = self.epoch + 1, 0

    def train_step(self, batch):
        """One update on `batch`; returns the loss as a 0-d Tensor (still on the device)."""
        self.model.train()
        manual_seed(self.config.seed * 1_000_003 + self.step)  # dropout masks depend only on the step
        with ops.fast.enable():  # training runs the ops' fast forms: the same math in fewer passes
            logits = self.model(batch.src, batch.tgt_in, batch.src_mask, batch.tgt_mask)  # (batch, tgt_len, vocab)
            loss = ops.cross_entropy(logits, batch.tgt_out, ignore_index=Vocab.pad_id,
                                     label_smoothing=self.config.label_smoothing)
            self.optimizer.zero_grad()
            loss.backward()
            if self.config.clip:
                clip_grad_norm(self.optimizer.params, self.config.clip)
            self.schedule.step()
            self.optimizer.step()
        self.step += 1
        self.batch_index += 1
        return loss

    def fit(self, progress=True, progress_every=10.0):
        """Train until `config.steps` (or `config.epochs`); evaluate, log and checkpoint along the way.

        Ctrl-C or SIGTERM lets the current step finish, saves a checkpoint and
        raises `interrupt.Interrupted` (a KeyboardInterrupt). So does output
        that can no longer be written (`... | head` has exited): then the
        signal named is SIGPIPE and nothing more is logged. A loss that is no
        longer finite raises `TrainingDiverged` and keeps the last checkpoint.

        Args:
            progress: show progress (a bar on a terminal, else a line every `progress_every` seconds).
        """
        cfg = self.config
        allocator.keep_freed_memory()  # each step's arrays reuse the last step's memory (no page faults)
        if self.out and self.step:
            rundir.trim_log(self.out, self.step, note=self.log)  # rows a stopped run wrote after its checkpoint come again
        window_start, timed_tokens = time.time(), 0  # for tokens/s (the window itself may predate a resume)
        deadline = time.time() + 60 * cfg.max_minutes if cfg.max_minutes else math.inf
        bar = Progress(cfg.steps, self.step, f"training {cfg.task}", enabled=progress, interval=progress_every,
                       eval_every=cfg.eval_every)
        self._updating = self._in_step = False
        stop = StopRequests(note=self.log)
        try:
            with stop, bar:
                for batch in self.batches():
                    if self.step >= cfg.steps or time.time() > deadline:
                        break
                    self._updating = True  # a hard interrupt now would leave a half-applied step
                    self._in_step = True  # the weights, moments and step count are being changed
                    loss = float(self.train_step(batch).item())  # the one host sync per step
                    self._in_step = False
                    self._check_finite(loss)
                    self.window = [self.window[0] + loss * batch.num_tokens, self.window[1] + batch.num_tokens]
                    timed_tokens += batch.num_tokens
                    speed = timed_tokens / max(time.time() - window_start, 1e-9)
                    bar.update(self.step, loss, self.optimizer.lr, speed, deadline)
                    if self.step % cfg.eval_every == 0 or self.step == cfg.steps:
                        self._report(speed, bar)
                        window_start, timed_tokens = time.time(), 0
                    self._updating = False
                    if stop.requested:
                        self._save_on_stop()
                        raise Interrupted(stop.signum, self.step)
                if self.step % cfg.eval_every and self.window[1]:  # stopped by epochs or time between evaluations
                    self._report(timed_tokens / max(time.time() - window_start, 1e-9), bar)
        except Interrupted:
            raise
        except BrokenPipeError:  # whoever read our output is gone: stop as on a signal, with nothing more to say
            self.log = _quiet
            saved = not self._in_step  # never a checkpoint of half a step
            if saved:
                self._save_on_stop()
            raise Interrupted(signal.SIGPIPE, self.step, saved) from None
        except KeyboardInterrupt:
            if self._updating or stop.requested:  # mid-step, or a second signal: the user wants no more waiting
                kept = f"the last checkpoint in {self.out} is kept" if self.out and checkpoint.exists(self.out) \
                    else "nothing was saved"
                self.log(f"\nstopped at once: {kept}")
            else:
                self._save_on_stop()
            raise
        return self

    def _save_on_stop(self):
        if self.out is None:
            self.log(f"\ninterrupted at step {self.step}: nothing saved (the trainer has no `out` directory)")
            return
        self.save()
        self.log(f"\ninterrupted at step {self.step}: checkpoint saved to {self.out}; continue with --resume {self.out}")

    def _check_finite(self, loss):
        if not math.isfinite(loss):
            raise TrainingDiverged(f"the training loss became {loss} at step {self.step}; the model is no longer "
                                   f"usable and was not saved (try a smaller --lr or a longer --warmup)")

    def _report(self, speed, progress):
        """Evaluate, append a row to the log and save: the window's mean train loss goes in the row.

        `progress` (a `Progress`) says that the evaluation runs and times it for its estimate.
        """
        train_loss = self.window[0] / max(self.window[1], 1)
        progress.evaluating(self.step)
        started = time.time()
        metrics = self.evaluate("valid", self.config.bleu_sentences)
        progress.evaluated(time.time() - started)
        record = dict(step=self.step, epoch=self.epoch, train_loss=round(train_loss, 4), valid_loss=round(metrics["loss"], 4),
                      valid_bleu=round(metrics["bleu"], 2), valid_chrf=round(metrics["chrf"], 2),
                      bleu_signature=metrics["scores"].bleu_signature, lr=self.optimizer.lr, tokens_per_s=round(speed, 1), time=time.time())
        self.window = [0.0, 0]
        if self.out:  # written before the line is shown: output that fails cannot lose the row or the checkpoint
            if self.replaces_run:
                self.save()  # the older run's checkpoint and log go first, so its rows and ours never mix
            append_log(self.out, record)
            self.save()
        self.log(f"\nstep {self.step}: train loss {train_loss:.3f}, valid loss {metrics['loss']:.3f}, valid BLEU {metrics['bleu']:.2f}")

    # ---- evaluation -----------------------------------------------------------
    @no_grad()
    def loss_on(self, pairs):
        """Mean per-token cross-entropy (without smoothing) on encoded pairs, in eval mode."""
        self.model.eval()
        total, tokens = 0.0, 0
        for chunk in make_batches(pairs, self.config.batch_tokens):
            batch = Batch(*zip(*chunk), device=self.config.device)
            with ops.fast.enable():
                logits = self.model(batch.src, batch.tgt_in, batch.src_mask, batch.tgt_mask)
                loss = ops.cross_entropy(logits, batch.tgt_out, ignore_index=Vocab.pad_id, reduction="sum")
            total += float(loss.item())
            tokens += batch.num_tokens
        return total / max(tokens, 1)

    def evaluate(self, split="test", max_sentences=None, beam=1, use_cache=True, loss=True):
        """Loss, and sacreBLEU's corpus BLEU and chrF (greedy or beam), on a split, with sample translations.

        The scores compare the translations as a user reads them (joined by the
        tokenizer, names cased as in the source) with the corpus's own
        reference sentences, as sacreBLEU is meant to be used: "scores" holds
        them with their signatures. Exact match counts lower-cased words
        (`tokenize`'s), whatever the tokenizer. Samples are (source, reference,
        translation) strings.
        """
        texts = getattr(self.texts, split)[:max_sentences]
        pairs = getattr(self.splits, split)[:max_sentences]
        started = time.perf_counter()
        with ops.fast.enable():
            hyps = self.translator(use_cache).translate_tokens([s for s, _ in pairs], beam=beam)
        seconds = time.perf_counter() - started
        outputs = [self.tgt_tokenizer.join(h, source=src) for h, (src, _) in zip(hyps, texts)]
        scores = corpus_scores(outputs, [ref for _, ref in texts])
        words, refs = [self.tgt_tokenizer.words(h) for h in hyps], [self.tgt_tokenizer.words(t) for _, t in pairs]
        exact = float(np.mean([h == t for h, t in zip(words, refs)])) if pairs else math.nan
        return {"loss": self.loss_on(self._encode(pairs)) if loss else math.nan, "bleu": scores.bleu,
                "chrf": scores.chrf, "scores": scores, "detail": scores.bleu_detail, "exact": exact,
                "seconds": seconds, "sentences": len(pairs), "samples": [(src, ref, out) for (src, ref), out in zip(texts[:5], outputs[:5])]}

    def translator(self, use_cache=True):
        return Translator(self.model, self.src_vocab, self.tgt_vocab, self.config.device, use_cache,
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
            "state": {"step": self.step, "epoch": self.epoch, "batch_index": self.batch_index, "window": self.window,
                      "optimizer": {k: v for k, v in opt.items() if k != "arrays"}, "schedule": self.schedule.state_dict()},
            **tokenizers_to_meta(self.src_tokenizer, self.tgt_tokenizer),
        }
        if self.replaces_run and directory == self.out:
            rundir.remove_log(directory)  # an older run's rows; this run's start now
        checkpoint.save(directory, arrays, meta)  # replaces an older run's checkpoint, arrays included
        if directory == self.out:
            self.replaces_run = False

    def _load_state(self, arrays, state, directory):
        try:
            self.model.load_state_dict(_prefixed(arrays, "model/"))
            self.optimizer.load_state_dict(dict(state["optimizer"], arrays=_prefixed(arrays, "optimizer/")))
            self.schedule.load_state_dict(state["schedule"])
            self.step, self.epoch, self.batch_index = (_count(state, name) for name in ("step", "epoch", "batch_index"))
            loss_sum, tokens = state.get("window", (0.0, 0))  # older checkpoints: saved at a log row
            self.window = [float(loss_sum), int(tokens)]
        except (KeyError, ValueError, TypeError, IndexError) as e:
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
        config = TrainConfig.from_dict(_with_old_defaults(meta["config"]))
        tokenizers = tokenizers_from_meta(meta)
    except (KeyError, TypeError, ValueError) as e:
        raise checkpoint.CheckpointError(f"checkpoint {os.path.join(directory, checkpoint.META)} is missing or has bad fields ({e})") from None
    for name, array in _prefixed(arrays, "model/").items():  # training never saves these: the file was changed
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise checkpoint.CheckpointError(f"checkpoint in {directory}: weight {name} holds nan or inf values")
    return config, tokenizers, arrays, meta


def _count(state, name):
    """`state[name]` when it is a whole number >= 0; else a ValueError naming the field and its value."""
    value = state[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"state.{name} is {value!r}, not a whole number from 0 up")
    return value


def _with_old_defaults(values):
    """A saved config's fields, with the values that runs saved before a field existed were trained with."""
    values = dict(values)
    values.setdefault("decay", "inverse_sqrt")  # the only schedule there was, whatever the default is now
    return values


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
    with ops.fast.enable():
        return load_translator(checkpoint_dir, device).translate(list(sentences), beam=beam)


def _quiet(*args, **kwargs):
    """A log that says nothing (the output is closed)."""
