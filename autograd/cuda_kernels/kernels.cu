// Fused row kernels for the CuPy backend: softmax, log_softmax, layer_norm and
// cross_entropy, forward and backward (gelu is an ElementwiseKernel in
// __init__.py).
//
// The file is compiled once per floating type: the code that loads it first
// defines `T` (float or double). Every kernel sees its input as (rows, cols),
// C-contiguous, reducing over the last axis, with one thread block per row:
// gridDim.x = rows and blockDim.x = BLOCK, a power of two. A block reduces its
// row through shared memory (block_sum, block_max), then writes the row, so
// each op is one kernel launch and one pass over memory instead of the five to
// ten array operations of the NumPy form.

#define BLOCK 256

// The sum of `v` over the threads of the block, returned to every thread.
__device__ T block_sum(T v, T* buf) {
    unsigned t = threadIdx.x;
    buf[t] = v;
    __syncthreads();
    for (unsigned s = BLOCK / 2; s > 0; s >>= 1) {
        if (t < s) buf[t] += buf[t + s];
        __syncthreads();
    }
    T total = buf[0];
    __syncthreads();  // buf is reused by the next reduction
    return total;
}

// The maximum of `v` over the threads of the block, returned to every thread.
__device__ T block_max(T v, T* buf) {
    unsigned t = threadIdx.x;
    buf[t] = v;
    __syncthreads();
    for (unsigned s = BLOCK / 2; s > 0; s >>= 1) {
        if (t < s && buf[t + s] > buf[t]) buf[t] = buf[t + s];
        __syncthreads();
    }
    T best = buf[0];
    __syncthreads();
    return best;
}

// The row maximum, or 0 when it is not finite: a fully masked row (all -inf)
// then exponentiates to zeros instead of NaN, as in the NumPy form.
__device__ T row_shift(const T* xr, long long cols, T* buf) {
    T m = xr[0];
    for (long long j = threadIdx.x; j < cols; j += BLOCK) m = xr[j] > m ? xr[j] : m;
    m = block_max(m, buf);
    return isfinite(m) ? m : (T)0;
}

// y = exp(x - max) / sum(exp(x - max)); a row summing to 0 stays 0.
extern "C" __global__ void softmax_forward(const T* x, T* y, long long cols) {
    __shared__ T buf[BLOCK];
    const T* xr = x + blockIdx.x * cols;
    T* yr = y + blockIdx.x * cols;
    T m = row_shift(xr, cols, buf);
    T s = 0;
    for (long long j = threadIdx.x; j < cols; j += BLOCK) {
        T e = exp(xr[j] - m);
        yr[j] = e;
        s += e;
    }
    s = block_sum(s, buf);
    if (s == 0) s = 1;
    for (long long j = threadIdx.x; j < cols; j += BLOCK) yr[j] = yr[j] / s;
}

// dx = y * (g - sum(g * y)): the softmax Jacobian applied to g.
extern "C" __global__ void softmax_backward(const T* y, const T* g, T* dx, long long cols) {
    __shared__ T buf[BLOCK];
    long long base = blockIdx.x * cols;
    T dot = 0;
    for (long long j = threadIdx.x; j < cols; j += BLOCK) dot += g[base + j] * y[base + j];
    dot = block_sum(dot, buf);
    for (long long j = threadIdx.x; j < cols; j += BLOCK) dx[base + j] = y[base + j] * (g[base + j] - dot);
}

// y = x - max - log(sum(exp(x - max))); a fully masked row stays -inf.
extern "C" __global__ void log_softmax_forward(const T* x, T* y, long long cols) {
    __shared__ T buf[BLOCK];
    const T* xr = x + blockIdx.x * cols;
    T* yr = y + blockIdx.x * cols;
    T m = row_shift(xr, cols, buf);
    T s = 0;
    for (long long j = threadIdx.x; j < cols; j += BLOCK) s += exp(xr[j] - m);
    s = block_sum(s, buf);
    T log_s = log(s == 0 ? (T)1 : s);
    for (long long j = threadIdx.x; j < cols; j += BLOCK) yr[j] = (xr[j] - m) - log_s;
}

// dx = g - softmax(x) * sum(g), with softmax(x) = exp(y).
extern "C" __global__ void log_softmax_backward(const T* y, const T* g, T* dx, long long cols) {
    __shared__ T buf[BLOCK];
    long long base = blockIdx.x * cols;
    T total = 0;
    for (long long j = threadIdx.x; j < cols; j += BLOCK) total += g[base + j];
    total = block_sum(total, buf);
    for (long long j = threadIdx.x; j < cols; j += BLOCK) dx[base + j] = g[base + j] - exp(y[base + j]) * total;
}

// x_hat = (x - mean) / sqrt(var + eps) with the biased variance; y = x_hat * w + b.
// Keeps x_hat and 1 / sqrt(var + eps) (one per row) for backward.
extern "C" __global__ void layer_norm_forward(const T* x, const T* w, const T* b, T* y, T* x_hat, T* rstd,
                                              long long cols, T eps) {
    __shared__ T buf[BLOCK];
    long long base = blockIdx.x * cols;
    T s = 0;
    for (long long j = threadIdx.x; j < cols; j += BLOCK) s += x[base + j];
    T mean = block_sum(s, buf) / cols;
    T ss = 0;
    for (long long j = threadIdx.x; j < cols; j += BLOCK) {
        T c = x[base + j] - mean;
        ss += c * c;
    }
    T r = (T)1 / sqrt(block_sum(ss, buf) / cols + eps);
    if (threadIdx.x == 0) rstd[blockIdx.x] = r;
    for (long long j = threadIdx.x; j < cols; j += BLOCK) {
        T h = (x[base + j] - mean) * r;
        x_hat[base + j] = h;
        y[base + j] = h * w[j] + b[j];
    }
}

// dx = rstd * (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat)), with g_hat = g * w.
// The gradients of w and b are column sums over rows, left to CuPy's reductions.
extern "C" __global__ void layer_norm_backward(const T* g, const T* x_hat, const T* rstd, const T* w, T* dx,
                                               long long cols) {
    __shared__ T buf[BLOCK];
    long long base = blockIdx.x * cols;
    T sg = 0, sgx = 0;
    for (long long j = threadIdx.x; j < cols; j += BLOCK) {
        T gh = g[base + j] * w[j];
        sg += gh;
        sgx += gh * x_hat[base + j];
    }
    T mean_g = block_sum(sg, buf) / cols;
    T mean_gx = block_sum(sgx, buf) / cols;
    T r = rstd[blockIdx.x];
    for (long long j = threadIdx.x; j < cols; j += BLOCK)
        dx[base + j] = r * (g[base + j] * w[j] - mean_g - x_hat[base + j] * mean_gx);
}

// Per row: the softmax (kept for backward) and the label-smoothed loss
//   lse - (1 - s) * shifted[target] - s * mean(shifted),  shifted = x - max, lse = log(sum(exp(shifted))),
// or 0 for a row whose target is ignored. A target outside [0, cols) gives a NaN loss
// (checking on the host would make the step wait for the GPU).
extern "C" __global__ void cross_entropy_forward(const T* x, const long long* target, const bool* valid,
                                                 T* probs, T* loss, long long cols, T smoothing) {
    __shared__ T buf[BLOCK];
    long long row = blockIdx.x, base = row * cols;
    T m = x[base];
    for (long long j = threadIdx.x; j < cols; j += BLOCK) m = x[base + j] > m ? x[base + j] : m;
    m = block_max(m, buf);
    T s = 0, shifted_sum = 0;
    for (long long j = threadIdx.x; j < cols; j += BLOCK) {
        T shifted = x[base + j] - m;
        T e = exp(shifted);
        probs[base + j] = e;
        s += e;
        shifted_sum += shifted;
    }
    s = block_sum(s, buf);
    shifted_sum = block_sum(shifted_sum, buf);
    for (long long j = threadIdx.x; j < cols; j += BLOCK) probs[base + j] = probs[base + j] / s;
    if (threadIdx.x == 0) {
        long long t = target[row];
        if (!valid[row]) {
            loss[row] = 0;
        } else if (t < 0 || t >= cols) {
            loss[row] = sqrt((T)-1);  // NaN
        } else {
            loss[row] = log(s) - (1 - smoothing) * (x[base + t] - m) - smoothing * (shifted_sum / cols);
        }
    }
}

// dx = (softmax - q) * scale[row], with q = (1 - s) * one_hot(target) + s / cols.
extern "C" __global__ void cross_entropy_backward(const T* probs, const long long* target, const T* row_scale,
                                                  T* dx, long long cols, T smoothing) {
    long long row = blockIdx.x, base = row * cols, t = target[row];
    T scale = row_scale[row], spread = smoothing / cols;
    for (long long j = threadIdx.x; j < cols; j += BLOCK)
        dx[base + j] = (probs[base + j] - spread - (j == t ? 1 - smoothing : (T)0)) * scale;
}
