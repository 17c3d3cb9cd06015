"""Positional encoding: the 20 x 512 table of sines and cosines.

Paper: "Attention Is All You Need", section 3.5 (Positional Encoding):

    PE(pos, 2i)     = sin(pos / 10000^(2i / d_model))
    PE(pos, 2i + 1) = cos(pos / 10000^(2i / d_model))

Attention by itself does not know word order: permute the words and every
output is permuted the same way. So before the first layer the model adds a
vector that depends only on the position. Each pair of dimensions (2i, 2i+1)
is a sine/cosine of one frequency; the wavelengths grow geometrically from
2*pi (dimension 0) to 10000 * 2*pi (the last pair), so early dimensions tell
neighbours apart and late ones vary slowly across the whole sentence. Every
value lies in [-1, 1], the same range whatever the sentence length.

The paper chose sinusoids because, for a fixed offset k, PE(pos + k) is a
linear function of PE(pos) -- each (sin, cos) pair is rotated by an angle
that depends only on k -- which should make it easy to attend by relative
position. This script prints the table made by `nn.PositionalEncoding` for
20 positions of d_model = 512, its sin half (even dimensions) and cos half
(odd dimensions), checks it against the formula, and checks the rotation.

Run:  python examples/03_positional_encoding.py
"""
import math
import os
import sys

import numpy as np

# Let the script run from a plain checkout (without `pip install -e .`).
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import autograd  # noqa: E402
from autograd import Tensor  # noqa: E402
from tinygrad_tf import nn  # noqa: E402

MAX_LEN, D_MODEL = 20, 512


def step(number, title):
    print(f"\nStep {number}: {title}")


def main():
    """Run the walkthrough; return the table, its halves and the formula checks."""
    autograd.manual_seed(0)

    step(1, "the table from nn.PositionalEncoding")
    # The module adds its table to whatever comes in; feeding zeros shows the
    # table itself. dropout=0 so nothing is zeroed.
    pe = nn.PositionalEncoding(D_MODEL, dropout=0.0, max_len=MAX_LEN).eval()
    zeros = Tensor(np.zeros((1, MAX_LEN, D_MODEL)))  # (batch, len, d_model)
    table = pe(zeros).numpy()[0]  # (20, 512)
    print(f"  PositionalEncoding(d_model={D_MODEL}, max_len={MAX_LEN})(zeros {zeros.shape}) -> {table.shape}")
    same_as_function = np.allclose(table, nn.sinusoid_table(MAX_LEN, D_MODEL), atol=1e-6)
    print(f"  equal to nn.sinusoid_table({MAX_LEN}, {D_MODEL}): {same_as_function}")

    step(2, "the sin half (even dimensions) and the cos half (odd dimensions)")
    sin_half = table[:, 0::2]  # (20, 256): PE(pos, 2i)
    cos_half = table[:, 1::2]  # (20, 256): PE(pos, 2i + 1)
    print(f"  sin half {sin_half.shape}, cos half {cos_half.shape}")
    print("  position 0 is sin(0) = 0 and cos(0) = 1 in every pair:",
          np.allclose(sin_half[0], 0.0), np.allclose(cos_half[0], 1.0))
    print("  the first dimensions vary fast down the positions, the last ones barely move:")
    print("    pos   dim0(sin)  dim1(cos)  dim2(sin)  dim3(cos)  ...  dim510(sin)  dim511(cos)")
    for pos in (0, 1, 2, 3, 10, 19):
        row = table[pos]
        print(f"    {pos:>3}  {row[0]:9.4f}  {row[1]:9.4f}  {row[2]:9.4f}  {row[3]:9.4f}"
              f"  ...  {row[510]:11.6f}  {row[511]:11.6f}")

    step(3, "every value lies in [-1, 1]")
    print(f"  min {table.min():.4f}, max {table.max():.4f}")

    step(4, "check against the formula, one value at a time")
    # Written straight from the paper, element by element, independently of the library.
    formula = np.zeros((MAX_LEN, D_MODEL))
    for pos in range(MAX_LEN):
        for i in range(D_MODEL // 2):
            angle = pos / 10000 ** (2 * i / D_MODEL)
            formula[pos, 2 * i] = math.sin(angle)
            formula[pos, 2 * i + 1] = math.cos(angle)
    for pos, dim in ((1, 0), (1, 1), (5, 2), (7, 100), (19, 511)):
        print(f"  PE({pos:>2}, {dim:>3}) table {table[pos, dim]: .6f}   formula {formula[pos, dim]: .6f}")
    matches_formula = np.allclose(table, formula, atol=1e-6)
    print(f"  whole table equal to the formula: {matches_formula}")

    step(5, "PE(pos + k) is PE(pos) rotated, pair by pair (why sinusoids)")
    # For the pair of frequency w: [sin w(p+k), cos w(p+k)] = R(w k) [sin w p, cos w p]
    # with R = [[cos wk, sin wk], [-sin wk, cos wk]], the same R for every p.
    k = 3
    w = 1.0 / 10000 ** (np.arange(0, D_MODEL, 2) / D_MODEL)  # (256,) one frequency per pair
    c, s = np.cos(w * k), np.sin(w * k)
    rotated_sin = c * sin_half[:-k] + s * cos_half[:-k]  # positions 0..16 moved on by k
    rotated_cos = -s * sin_half[:-k] + c * cos_half[:-k]
    rotation_holds = (np.allclose(rotated_sin, sin_half[k:], atol=1e-5)
                      and np.allclose(rotated_cos, cos_half[k:], atol=1e-5))
    print(f"  offset k={k}: rotating positions 0..{MAX_LEN - 1 - k} gives positions {k}..{MAX_LEN - 1}: {rotation_holds}")

    return {
        "table": table, "sinusoid_table": nn.sinusoid_table(MAX_LEN, D_MODEL),
        "sin_half": sin_half, "cos_half": cos_half,
        "same_as_function": same_as_function, "matches_formula": matches_formula,
        "rotation_holds": rotation_holds, "offset": k,
    }


if __name__ == "__main__":
    main()
