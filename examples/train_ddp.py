"""Train an exported model with PyTorch's DistributedDataParallel: the step from this engine to PyTorch.

Takes a training run of `tinygrad-tf train`, turns its model into a
torch.nn.Module (`tinygrad_tf.interop.to_torch`: same architecture, same
weights) and trains it a few steps in several processes with
DistributedDataParallel: each process takes its own share of the batches, and
DDP averages the gradients so every copy makes the same update. The gloo
backend runs on CPUs, so one machine is enough:

    torchrun --nproc_per_node 2 examples/train_ddp.py --checkpoint runs/copy --steps 20
    (or: python -m torch.distributed.run --nproc_per_node 2 examples/train_ddp.py ...)

With --out model.pt the trained weights are saved (by rank 0) in the format
of `tinygrad-tf export`, so `tinygrad_tf.interop.load_torch` and
`from_torch` read them back. Needs torch: pip install -e .[interop].
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from torch.nn.parallel import DistributedDataParallel  # noqa: E402

from tinygrad_tf import Trainer  # noqa: E402
from tinygrad_tf.data import Batch, Vocab, make_batches  # noqa: E402
from tinygrad_tf.interop import save_torch, to_torch  # noqa: E402
from tinygrad_tf.interop.torch_model import loss_fn  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="a run directory written by tinygrad-tf train")
    parser.add_argument("--steps", type=int, default=20, help="optimizer updates (each process one batch per update)")
    parser.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate")
    parser.add_argument("--out", default=None, help="save the trained model here (rank 0), as tinygrad-tf export does")
    return parser.parse_args(argv)


def batches(trainer, rank, world):
    """This process's share of the run's training batches, as torch tensors, epoch after epoch."""
    epoch = 0
    while True:
        order = make_batches(trainer.train_pairs, trainer.config.batch_tokens, seed=trainer.config.seed + epoch)
        for chunk in order[rank::world]:  # every world-th batch: the processes see different data
            batch = Batch(*zip(*chunk))
            yield (torch.from_numpy(batch.src.numpy()), torch.from_numpy(batch.tgt_in.numpy()),
                   torch.from_numpy(batch.tgt_out.numpy()))
        epoch += 1


def train(args, rank, world):
    """Train the run's model with DDP for args.steps updates; rank 0 saves it when args.out is given."""
    torch.manual_seed(0)
    trainer = Trainer.resume(args.checkpoint, log=lambda *a: None)  # the run's data, vocabularies and model
    model = DistributedDataParallel(to_torch(trainer.model).train())  # broadcasts rank 0's weights to all
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.98), eps=1e-9)
    data = batches(trainer, rank, world)
    for step in range(1, args.steps + 1):
        src, tgt_in, tgt_out = next(data)
        logits = model(src, tgt_in)  # (batch, tgt_len, vocab)
        loss = loss_fn(logits, tgt_out, pad_id=Vocab.pad_id, label_smoothing=trainer.config.label_smoothing)
        optimizer.zero_grad()
        loss.backward()  # DDP all-reduces (averages) the gradients across the processes here
        optimizer.step()
        mean_loss = loss.detach().clone()
        dist.all_reduce(mean_loss)
        if rank == 0:
            print(f"step {step}: loss {mean_loss.item() / world:.4f} (mean over {world} processes)", flush=True)
    # every process holds the same weights after each update; show it on the generator
    checksum = model.module.generator.weight.detach().sum().reshape(1)
    sums = [torch.zeros(1) for _ in range(world)]
    dist.all_gather(sums, checksum)
    if rank == 0:
        print(f"weights identical on all {world} processes: {all(torch.equal(s, sums[0]) for s in sums)}", flush=True)
        if args.out:
            save_torch(model.module.eval(), args.out, trainer.src_vocab.itos, trainer.tgt_vocab.itos)
            print(f"saved {args.out}", flush=True)


def main(argv=None):
    args = parse_args(argv)
    dist.init_process_group("gloo")  # torchrun sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT
    rank, world = dist.get_rank(), dist.get_world_size()
    train(args, rank, world)
    # Leave together: the DDP model (which holds the process group) is gone once train() returns, and the
    # barrier keeps one process from tearing its connections down while another still saves. A process
    # that exits while its peer still uses the group can abort in gloo's threads at shutdown.
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
