"""The error function, which NumPy lacks (needed by the exact GELU)."""
import math

import numpy as np

try:
    from scipy.special import erf as _scipy_erf
except ImportError:  # exact but slower: math.erf element by element
    _scipy_erf = None


def erf(xp, x):
    """erf(x) elementwise, on the backend of `x`, keeping its dtype."""
    if xp is not np:
        from cupyx.scipy.special import erf as cupy_erf

        return cupy_erf(x)
    if _scipy_erf is not None:
        return _scipy_erf(x).astype(x.dtype, copy=False)
    return np.frompyfunc(math.erf, 1, 1)(x).astype(x.dtype)
