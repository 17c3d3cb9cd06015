"""Weight initialisation, drawn from the seeded CPU generator (`autograd.manual_seed`)."""
import math

from autograd.random import generator


def xavier_uniform(shape, gain=1.0):
    """Glorot & Bengio (2010): U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_out, fan_in = shape[0], shape[1]
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return generator("cpu").uniform(-bound, bound, size=shape)


def normal(shape, std):
    return generator("cpu").normal(0.0, std, size=shape)
