"""`tinygrad-tf plot`: training curves of a run, or the positional-encoding table (matplotlib: pip install -e .[plot])."""
import click

from .common import PICTURE, Path, fail_cleanly, refuse_options


@click.command()
@click.argument("run_dir", required=False, type=Path(file_okay=False))
@click.option("--out", required=True, type=PICTURE,
              help="Picture to write; the format follows the extension (png, svg, pdf).")
@click.option("--positional", is_flag=True, help="Draw the sinusoidal positional encoding instead of a run's curves.")
@click.option("--max-len", type=click.IntRange(1, 10000), default=50, show_default=True, help="Positions (with --positional).")
@click.option("--d-model", type=click.IntRange(1, 10000), default=128, show_default=True, help="Dimensions (with --positional).")
@click.option("--dpi", type=click.IntRange(10, 600), default=100, show_default=True, help="Resolution of png pictures.")
@fail_cleanly
def plot(run_dir, out, positional, max_len, d_model, dpi):
    """Draw a run's training curves, or the positional encoding.

    With RUN_DIR: loss (train and valid), validation BLEU and learning rate
    against step, from RUN_DIR/log.jsonl. With --positional: the sinusoid
    table, positions × dimensions.

    \b
      tinygrad-tf plot runs/spa-eng --out curves.png
      tinygrad-tf plot --positional --out pe.png
    """
    from .. import plots

    if positional == (run_dir is not None):
        raise click.ClickException("give either RUN_DIR (training curves) or --positional, not both" if positional
                                   else "give RUN_DIR (training curves) or --positional")
    if not positional:
        refuse_options("to training curves (only to --positional)", "max_len", "d_model")
    if positional:
        path = plots.plot_positional_encoding(out, max_len=max_len, d_model=d_model, dpi=dpi)
    else:
        path = plots.plot_training_curves(run_dir, out, dpi=dpi)
    click.echo(f"wrote {path}")
