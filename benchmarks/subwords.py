"""Word vs subword runs on their test split: sacreBLEU (cased and lower-cased), chrF, and the <unk> rate.

Each RUN is a checkpoint directory from `tinygrad-tf train`. The test
sentences are the run's own (rebuilt from its config, as `evaluate` does);
hypotheses are the detokenised greedy translations, scored against the raw
reference sentences with sacreBLEU's defaults (13a tokenisation).

    python benchmarks/subwords.py runs/word runs/bpe --minutes 31 --minutes 33

prints one Markdown table row per run (and writes them as JSON with --json).
"""
import json

import click

from tinygrad_tf import checkpoint
from tinygrad_tf.config import TrainConfig
from tinygrad_tf.data import load_text_splits, tokenizers_from_meta, unknown_rate
from tinygrad_tf.train import load_translator


def measure(run, max_sentences=None):
    """Scores of the run saved in `run` on its test split (a dict of numbers and labels)."""
    import sacrebleu

    _, meta = checkpoint.load(run)
    config = TrainConfig.from_dict(meta["config"])
    src_tok, tgt_tok = tokenizers_from_meta(meta)
    test = load_text_splits(config.task, config.seed, config.max_len, config.max_pairs).test[:max_sentences]
    sources, references = [s for s, _ in test], [t for _, t in test]
    hypotheses = load_translator(run, device=config.device).translate(sources)
    vocab = f"{len(src_tok.vocab)}" if src_tok is tgt_tok else f"{len(src_tok.vocab)} / {len(tgt_tok.vocab)}"
    return {
        "run": run, "tokenizer": config.tokenizer + (", shared, tied" if config.tie_weights else ", shared" if config.shared_vocab else ""),
        "vocab": vocab, "steps": meta["state"]["step"], "sentences": len(test),
        "bleu": sacrebleu.corpus_bleu(hypotheses, [references]).score,
        "bleu_lower": sacrebleu.corpus_bleu(hypotheses, [references], lowercase=True).score,
        "chrf": sacrebleu.corpus_chrf(hypotheses, [references]).score,
        "unk_src": 100 * unknown_rate(src_tok, sources), "unk_tgt": 100 * unknown_rate(tgt_tok, references),
        "samples": list(zip(sources[:5], references[:5], hypotheses[:5])),
    }


@click.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(file_okay=False, exists=True))
@click.option("--minutes", multiple=True, type=float, help="Training wall time of each run, in RUNS order (for the table).")
@click.option("--max-sentences", type=int, default=None, help="Score only the first N test pairs.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Also write the results here.")
def main(runs, minutes, max_sentences, json_path):
    """Score RUNS on their test splits and print a Markdown table."""
    results = []
    click.echo("| tokenizer | vocabulary | steps | minutes | BLEU | BLEU (lower-cased) | chrF | <unk> source / target |")
    click.echo("|---|---|---|---|---|---|---|---|")
    for i, run in enumerate(runs):
        r = measure(run, max_sentences)
        r["minutes"] = minutes[i] if i < len(minutes) else None
        results.append(r)
        wall = f"{r['minutes']:.0f}" if r["minutes"] is not None else "?"
        click.echo(f"| {r['tokenizer']} | {r['vocab']} | {r['steps']} | {wall} | {r['bleu']:.1f} | {r['bleu_lower']:.1f} "
                   f"| {r['chrf']:.1f} | {r['unk_src']:.2f}% / {r['unk_tgt']:.2f}% |")
    for r in results:
        click.echo(f"\n{r['run']} ({r['sentences']} test pairs):")
        for src, ref, hyp in r["samples"]:
            click.echo(f"  {src}  ->  {hyp}   (reference: {ref})")
    if json_path:
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
