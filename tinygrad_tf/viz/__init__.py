"""Seeing the computation: pictures of recorded graphs and the backward pass, step by step.

    from tinygrad_tf.viz import describe, graph, trace
    d = describe(loss)                       # one description of the graph: nodes, roles, edges
    graph.render(loss, "graph.svg")          # the Graphviz picture (needs Graphviz's `dot`)
    for step in trace.backward_steps(loss):  # backward one node at a time
        print(step)

Modules (bottom first: the description and what it reads import no view):
    records      the backward pass's records, one per node (`BackwardStep`, `summary`)
    stepcheck    one backward step against central differences (`check_step`)
    description  the one description of a recorded graph that every view reads
    reading      a sentence as a model reads it: `<unk>` labels and warnings
    labels       how shapes, op titles, values and gradient norms are written
    graph        Graphviz pictures (`to_dot`, `render`)
    trace        backward step records (`backward_steps`, `check_step`, `summary`)
    frames       a picture per backward step, and GIFs of them
    specimens    the small models the views draw and walk (random or from a checkpoint)
    explorer     the backprop explorer: one self-contained HTML page (`tinygrad-tf explore`)

This package sits above the engine: `autograd` records graphs and runs
backward and knows nothing of pictures.
"""
from . import description, frames, graph, labels, trace
from .description import GraphDescription, describe

__all__ = ["GraphDescription", "describe", "description", "frames", "graph", "labels", "trace"]
