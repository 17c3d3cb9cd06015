"""The Transformer of "Attention Is All You Need", built on the `autograd` engine and `ops`."""
