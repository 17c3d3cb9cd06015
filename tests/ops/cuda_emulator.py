"""Run the CuPy kernels of `autograd.cuda_kernels` on the CPU, to test them where there is no GPU.

`EmulatedCupy` stands in for the `cupy` module that `autograd.cuda_kernels` is handed: its
arrays are NumPy arrays, and its `RawModule` and `ElementwiseKernel` compile
the very same kernel source with g++, CUDA's built-ins emulated:

- each block's threads are real threads (one std::thread per GPU thread), and
  blocks run one after another;
- `__syncthreads()` is a std::barrier over the block's threads;
- `__shared__` arrays are `static`, shared by the threads of the one running block.

That is faithful for kernels that cooperate through shared memory and
barriers, which is how `kernels.cu` is written (no warp intrinsics). A race or
a missing barrier can still go unseen here; the GPU runs of the suite catch those.
"""
import ctypes
import hashlib
import os
import re
import shutil
import subprocess

import numpy as np

PRELUDE = r"""
#include <barrier>
#include <cmath>
#include <thread>
#include <vector>
using std::erf; using std::exp; using std::isfinite; using std::log; using std::sqrt; using std::tanh;
struct emulated_dim3 { unsigned x, y, z; };
static thread_local emulated_dim3 threadIdx;
static emulated_dim3 blockIdx, blockDim, gridDim;
static std::barrier<>* block_barrier;
#define __global__
#define __device__
#define __shared__ static
static void __syncthreads() { block_barrier->arrive_and_wait(); }
template <typename... P, typename... A>
static void launch(void (*kernel)(P...), unsigned grid, unsigned block, A... args) {
    gridDim = {grid, 1, 1};
    blockDim = {block, 1, 1};
    std::barrier<> barrier(block);
    block_barrier = &barrier;
    for (unsigned b = 0; b < grid; ++b) {
        blockIdx = {b, 0, 0};
        std::vector<std::thread> threads;
        for (unsigned t = 0; t < block; ++t)
            threads.emplace_back([=] { threadIdx = {t, 0, 0}; kernel(args...); });
        for (auto& thread : threads) thread.join();
    }
}
"""

_KERNEL = re.compile(r'extern "C" __global__ void (\w+)\(([^)]*)\)')
C_TYPES = {"float": ctypes.c_float, "double": ctypes.c_double}
NUMPY_TYPES = {"float": np.float32, "double": np.float64, "long long": np.int64, "bool": np.bool_}


def compiler():
    """The g++ program, or None."""
    return shutil.which("g++")


class EmulatedCupy:
    """The part of the `cupy` module that `autograd.cuda_kernels` uses, on NumPy arrays and g++-compiled kernels."""

    def __init__(self, build_dir):
        self.build_dir = build_dir

    def __getattr__(self, name):  # ascontiguousarray, empty_like, ones, zeros, ...: NumPy's
        return getattr(np, name)

    def RawModule(self, code):  # noqa: N802  (cupy's name)
        return _RawModule(self, code)

    def ElementwiseKernel(self, in_params, out_params, operation, name):  # noqa: N802
        return _ElementwiseKernel(self, in_params, out_params, operation)

    def build(self, source):
        """Compile C++ source to a shared library (cached by its text) and load it."""
        key = hashlib.sha256(source.encode()).hexdigest()[:16]
        path = os.path.join(self.build_dir, f"kernels_{key}.so")
        if not os.path.exists(path):
            src = path[:-3] + ".cpp"
            with open(src, "w", encoding="utf-8") as f:
                f.write(source)
            subprocess.run([compiler(), "-std=c++20", "-O1", "-shared", "-fPIC", "-pthread", "-o", path, src],
                           check=True, capture_output=True, text=True)
        return ctypes.CDLL(path)


class _RawModule:
    def __init__(self, cupy, code):
        self.t = re.match(r"typedef (\w+) T;", code).group(1)
        self.scalar = C_TYPES[self.t]
        self.kernels = {name: [p.strip() for p in params.split(",")] for name, params in _KERNEL.findall(code)}
        wrappers = []
        for name, params in self.kernels.items():
            names = [p.split()[-1].lstrip("*") for p in params]
            wrappers.append(f'extern "C" void run_{name}(unsigned grid, unsigned block, {", ".join(params)}) '
                            f'{{ launch({name}, grid, block, {", ".join(names)}); }}')
        self.lib = cupy.build(PRELUDE + code + "\n" + "\n".join(wrappers))

    def get_function(self, name):
        params = self.kernels[name]
        run = getattr(self.lib, f"run_{name}")

        def launch(grid, block, args):
            converted = [ctypes.c_uint(grid[0]), ctypes.c_uint(block[0])]
            for param, arg in zip(params, args, strict=True):
                if "*" in param:
                    c_type = param.replace("const ", "").split("*")[0].strip()
                    expected = NUMPY_TYPES[self.t if c_type == "T" else c_type]
                    assert arg.dtype == expected, f"{name}: {param} gets a {arg.dtype} array, the kernel reads {expected.__name__}"
                    assert arg.flags.c_contiguous, f"{name}: argument for {param} is not contiguous"
                    converted.append(ctypes.c_void_p(arg.ctypes.data))
                elif param.startswith("long long"):
                    converted.append(ctypes.c_longlong(int(arg)))
                else:  # a T scalar
                    converted.append(self.scalar(float(arg)))
            run(*converted)

        return launch


class _ElementwiseKernel:
    """An ElementwiseKernel: its operation run in a plain loop, once per element.

    As in CuPy, output arrays may be passed after the inputs; the operation then
    reads and updates them in place. Scalar inputs are broadcast like arrays.
    """

    def __init__(self, cupy, in_params, out_params, operation):
        self.cupy, self.operation = cupy, operation
        self.inputs = [p.split()[-1] for p in in_params.split(",")]
        self.outputs = [p.split()[-1] for p in out_params.split(",")]
        self.libs = {}

    def __call__(self, *args):
        given_outputs = list(args[len(self.inputs):])
        dtype = next(np.asarray(a).dtype for a in args if np.ndim(a))
        shape = np.broadcast_shapes(*(np.shape(a) for a in args))
        inputs = [np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype=dtype), shape)) for a in args[: len(self.inputs)]]
        for out in given_outputs:
            assert out.flags.c_contiguous and out.shape == shape, "outputs are updated in place"
        outputs = given_outputs or [np.empty(shape, dtype=dtype) for _ in self.outputs]
        if dtype not in self.libs:
            c_type = "float" if dtype == np.float32 else "double"
            params = [f"const T* in_{n}" for n in self.inputs] + [f"T* out_{n}" for n in self.outputs]
            body = "".join(f"T {n} = in_{n}[i]; " for n in self.inputs)
            body += "".join(f"T {n} = out_{n}[i]; " for n in self.outputs)
            body += "{ " + self.operation + "; } " + "".join(f"out_{n}[i] = {n}; " for n in self.outputs)
            self.libs[dtype] = self.cupy.build(
                f"#include <cmath>\nusing std::erf; using std::exp; using std::sqrt; using std::tanh;\ntypedef {c_type} T;\n"
                f'extern "C" void run({", ".join(params)}, long long n) {{ for (long long i = 0; i < n; ++i) {{ {body}}} }}')
        pointers = [ctypes.c_void_p(a.ctypes.data) for a in inputs + outputs]
        self.libs[dtype].run(*pointers, ctypes.c_longlong(int(np.prod(shape))))
        return outputs[0] if len(outputs) == 1 else tuple(outputs)
