"""`tinygrad-tf export`: a run's model as a PyTorch file."""
import os

import click

from .common import OutputFile, fail_cleanly


@click.command()
@click.option("--checkpoint", "checkpoint_dir", required=True, type=click.Path(file_okay=False), help="A run directory.")
@click.option("--out", "path", required=True, type=OutputFile(), help="The file to write, e.g. model.pt.")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
@click.option("--force", is_flag=True, hidden=True)  # the earlier name of --overwrite, kept for old scripts
@fail_cleanly
def export(checkpoint_dir, path, overwrite, force):
    """Write the run's model as a PyTorch file (needs torch: pip install -e .[interop]).

    The file holds the config, the state dict (our names) and the vocabularies:

    \b
        saved = torch.load("model.pt")
        model = TorchTransformer(**saved["config"]); model.load_state_dict(saved["state_dict"])

    with TorchTransformer from tinygrad_tf.interop.torch_model.
    """
    from ..interop import export_run

    module = export_run(checkpoint_dir, path, overwrite=overwrite or force)
    params = sum(p.numel() for p in module.parameters())
    click.echo(f"exported {checkpoint_dir} to {path} ({params:,} parameters, {os.path.getsize(path) / 1e6:.1f} MB)")
