// WASM-SIMD loops for the seldpipe training kernels (see ../*.ts). The module imports the tfjs wasm backend's
// memory and works on tensors in place: every pointer is a byte offset into that memory. It must not own any
// memory itself (no data segment, no stack use), so there are no static data, no local arrays, no libc; scratch
// space comes in as pointers to temporary tensors. Rebuild with ./build.sh after editing.
#include <stdint.h>
#include <wasm_simd128.h>

typedef float f32;
#define EXPORT(name) __attribute__((export_name(#name)))

EXPORT(add_into) void add_into(f32 *restrict acc, const f32 *restrict src, int n) {
  for (int i = 0; i < n; i++) acc[i] += src[i];
}

// dst[c * rows + r] = src[r * cols + c], in 8-row blocks so both sides touch few cache lines.
EXPORT(transpose) void transpose(const f32 *restrict src, f32 *restrict dst, int rows, int cols) {
  int r = 0;
  for (; r + 8 <= rows; r += 8) {
    for (int c = 0; c < cols; c++) {
      f32 *d = dst + c * rows + r;
      const f32 *s = src + r * cols + c;
      d[0] = s[0]; d[1] = s[cols]; d[2] = s[2 * cols]; d[3] = s[3 * cols];
      d[4] = s[4 * cols]; d[5] = s[5 * cols]; d[6] = s[6 * cols]; d[7] = s[7 * cols];
    }
  }
  for (; r < rows; r++)
    for (int c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
}

// im2col rows: cols[row][(a, b, c)] = x[n, i·sh + a − top, j·sw + b − left, c] for output pixels first..first+rows.
EXPORT(im2col) void im2col(const f32 *restrict x, f32 *restrict cols, int first, int rows, int h, int w, int ci,
                           int ho, int wo, int fh, int fw, int sh, int sw, int top, int left) {
  int m = fh * fw * ci;
  for (int row = 0; row < rows; row++) {
    int pixel = first + row;
    int j = pixel % wo;
    int i = (pixel / wo) % ho;
    int n = pixel / (wo * ho);
    f32 *out = cols + row * m;
    for (int a = 0; a < fh; a++) {
      int yi = i * sh + a - top;
      for (int b = 0; b < fw; b++, out += ci) {
        int xj = j * sw + b - left;
        if (yi < 0 || yi >= h || xj < 0 || xj >= w) {
          for (int c = 0; c < ci; c++) out[c] = 0;
        } else {
          const f32 *in = x + ((n * h + yi) * w + xj) * ci;
          for (int c = 0; c < ci; c++) out[c] = in[c];
        }
      }
    }
  }
}

// Per-channel sums over `count` rows of `channels` values, of the values or (with `center`) of their squared
// deviations from it, exact enough for 10^6 rows: float partial sums over blocks of 256 rows (vectorised), added
// into double totals. partial: channels floats of scratch.
static void channel_sums(const f32 *restrict x, int count, int channels, const f32 *restrict center,
                         f32 *restrict partial, double *restrict total) {
  for (int c = 0; c < channels; c++) total[c] = 0;
  for (int first = 0; first < count; first += 256) {
    int last = first + 256 < count ? first + 256 : count;
    for (int c = 0; c < channels; c++) partial[c] = 0;
    if (center) {
      for (int row = first; row < last; row++) {
        const f32 *in = x + row * channels;
        for (int c = 0; c < channels; c++) {
          f32 d = in[c] - center[c];
          partial[c] += d * d;
        }
      }
    } else {
      for (int row = first; row < last; row++) {
        const f32 *in = x + row * channels;
        for (int c = 0; c < channels; c++) partial[c] += in[c];
      }
    }
    for (int c = 0; c < channels; c++) total[c] += partial[c];
  }
}

EXPORT(sum_rows) void sum_rows(const f32 *restrict x, int count, int channels, f32 *restrict out, f32 *restrict partial,
                               double *restrict total) {
  channel_sums(x, count, channels, 0, partial, total);
  for (int c = 0; c < channels; c++) out[c] = (f32)total[c];
}

// Batch statistics: mean and biased variance (two passes) per channel.
EXPORT(bn_stats) void bn_stats(const f32 *restrict x, int count, int channels, f32 *restrict mean, f32 *restrict variance,
                               f32 *restrict partial, double *restrict total) {
  channel_sums(x, count, channels, 0, partial, total);
  for (int c = 0; c < channels; c++) mean[c] = (f32)(total[c] / count);
  channel_sums(x, count, channels, mean, partial, total);
  for (int c = 0; c < channels; c++) variance[c] = (f32)(total[c] / count);
}

// out = x·a + b per channel (the normalisation with scale and shift folded in).
EXPORT(affine_rows) void affine_rows(const f32 *restrict x, int count, int channels, const f32 *restrict a,
                                     const f32 *restrict b, f32 *restrict out) {
  for (int row = 0; row < count; row++) {
    const f32 *in = x + row * channels;
    f32 *o = out + row * channels;
    for (int c = 0; c < channels; c++) o[c] = in[c] * a[c] + b[c];
  }
}

// Σ dy and Σ dy·(x − mean) per channel.
EXPORT(bn_grad_sums) void bn_grad_sums(const f32 *restrict dy, const f32 *restrict x, const f32 *restrict mean, int count,
                                       int channels, f32 *restrict sum_dy, f32 *restrict sum_dyx, f32 *restrict partial,
                                       double *restrict total) {
  // partial and total hold two channel blocks: [Σ dy | Σ dy·x̃].
  for (int c = 0; c < 2 * channels; c++) total[c] = 0;
  for (int first = 0; first < count; first += 256) {
    int last = first + 256 < count ? first + 256 : count;
    for (int c = 0; c < 2 * channels; c++) partial[c] = 0;
    for (int row = first; row < last; row++) {
      const f32 *g = dy + row * channels;
      const f32 *in = x + row * channels;
      for (int c = 0; c < channels; c++) {
        partial[c] += g[c];
        partial[channels + c] += g[c] * (in[c] - mean[c]);
      }
    }
    for (int c = 0; c < 2 * channels; c++) total[c] += partial[c];
  }
  for (int c = 0; c < channels; c++) {
    sum_dy[c] = (f32)total[c];
    sum_dyx[c] = (f32)total[channels + c];
  }
}

// dx = a·dy + b·x + d per channel.
EXPORT(bn_grad_apply) void bn_grad_apply(const f32 *restrict dy, const f32 *restrict x, int count, int channels,
                                         const f32 *restrict a, const f32 *restrict b, const f32 *restrict d,
                                         f32 *restrict dx) {
  for (int row = 0; row < count; row++) {
    const f32 *g = dy + row * channels;
    const f32 *in = x + row * channels;
    f32 *o = dx + row * channels;
    for (int c = 0; c < channels; c++) o[c] = a[c] * g[c] + b[c] * in[c] + d[c];
  }
}

// Max-pool gradient for windows that tile the input: each dy goes to the first position of its window (in row-major
// window order) that holds the pooled maximum, every other dx is 0. Rows of windows are [fh, w, channels] blocks.
// Four channels at a time, with the "already routed" mask kept in a register.
EXPORT(maxpool_grad) void maxpool_grad(const f32 *restrict x, const f32 *restrict pooled, const f32 *restrict dy,
                                       f32 *restrict dx, int rows, int w, int channels, int wo, int fh, int fw) {
  int row_stride = w * channels;
  for (int row = 0; row < rows; row++) {
    for (int col = 0; col < wo; col++) {
      const f32 *max = pooled + (row * wo + col) * channels;
      const f32 *g = dy + (row * wo + col) * channels;
      int c = 0;
      for (; c + 4 <= channels; c += 4) {
        v128_t m = wasm_v128_load(max + c), gv = wasm_v128_load(g + c), taken = wasm_i32x4_splat(0);
        for (int a = 0; a < fh; a++) {
          for (int b = 0; b < fw; b++) {
            int at = (row * fh + a) * row_stride + (col * fw + b) * channels + c;
            v128_t hit = wasm_v128_andnot(wasm_f32x4_eq(wasm_v128_load(x + at), m), taken);
            wasm_v128_store(dx + at, wasm_v128_and(gv, hit));
            taken = wasm_v128_or(taken, hit);
          }
        }
      }
      for (; c < channels; c++) {
        int taken = 0;
        for (int a = 0; a < fh; a++) {
          for (int b = 0; b < fw; b++) {
            int at = (row * fh + a) * row_stride + (col * fw + b) * channels + c;
            int hit = x[at] == max[c] && !taken;
            dx[at] = hit ? g[c] : 0;
            taken |= hit;
          }
        }
      }
    }
  }
}

// out[b, 0:n] (+)= a[b, 0:k] · m[0:k, col:col+n] with m row-major of `stride` columns.
static void matmul_rows(f32 *restrict out, const f32 *restrict a, const f32 *restrict m, int rows, int k, int n, int col,
                        int stride, int accumulate) {
  for (int b = 0; b < rows; b++) {
    f32 *o = out + b * n;
    if (!accumulate)
      for (int j = 0; j < n; j++) o[j] = 0;
    for (int i = 0; i < k; i++) {
      f32 value = a[b * k + i];
      const f32 *mr = m + i * stride + col;
      for (int j = 0; j < n; j++) o[j] += value * mr[j];
    }
  }
}

// Math.tanh and Math.exp of the host: the module has no libm.
__attribute__((import_module("env"), import_name("tanh"))) double js_tanh(double);
__attribute__((import_module("env"), import_name("exp"))) double js_exp(double);

#define SAVED 5  // per step and unit: z, r, candidate h̃, dz/dpre, dr/dpre

// GRU recurrence (reset_after = false, gates z, r, h) from precomputed input projections x [B, T, 3U] and the
// recurrent kernel R [U, 3U]; h [B, T, U] in processing order; saved [T, B, 5U] for the backward pass.
// scratch: 5·B·U floats.
EXPORT(gru_forward) void gru_forward(const f32 *restrict x, const f32 *restrict r, f32 *restrict h, f32 *restrict saved,
                                     int batch, int steps, int units, int backwards, int hard, f32 *restrict scratch) {
  int u3 = 3 * units;
  f32 *h_prev = scratch;
  f32 *gates = h_prev + batch * units;
  f32 *reset_h = gates + 2 * batch * units;
  f32 *candidate = reset_h + batch * units;
  for (int i = 0; i < batch * units; i++) h_prev[i] = 0;
  for (int t = 0; t < steps; t++) {
    int tau = backwards ? steps - 1 - t : t;
    matmul_rows(gates, h_prev, r, batch, units, 2 * units, 0, u3, 0);
    for (int b = 0; b < batch; b++) {
      const f32 *xr = x + (b * steps + tau) * u3;
      f32 *sr = saved + (t * batch + b) * SAVED * units;
      const f32 *g = gates + b * 2 * units;
      for (int j = 0; j < units; j++) {
        f32 z_pre = xr[j] + g[j];
        f32 r_pre = xr[units + j] + g[units + j];
        f32 z, rg, dz, dr;
        if (hard) {
          f32 zl = 0.2f * z_pre + 0.5f, rl = 0.2f * r_pre + 0.5f;
          z = zl < 0 ? 0 : zl > 1 ? 1 : zl;
          rg = rl < 0 ? 0 : rl > 1 ? 1 : rl;
          // tfjs differentiates clipByValue as 1 on the closed interval.
          dz = zl >= 0 && zl <= 1 ? 0.2f : 0;
          dr = rl >= 0 && rl <= 1 ? 0.2f : 0;
        } else {
          z = (f32)(1.0 / (1.0 + js_exp(-z_pre)));
          rg = (f32)(1.0 / (1.0 + js_exp(-r_pre)));
          dz = z * (1 - z);
          dr = rg * (1 - rg);
        }
        sr[j] = z;
        sr[units + j] = rg;
        sr[3 * units + j] = dz;
        sr[4 * units + j] = dr;
        reset_h[b * units + j] = rg * h_prev[b * units + j];
      }
    }
    matmul_rows(candidate, reset_h, r, batch, units, units, 2 * units, u3, 0);
    for (int b = 0; b < batch; b++) {
      const f32 *xr = x + (b * steps + tau) * u3;
      f32 *sr = saved + (t * batch + b) * SAVED * units;
      f32 *hr = h + (b * steps + t) * units;
      for (int j = 0; j < units; j++) {
        f32 hh = (f32)js_tanh(xr[2 * units + j] + candidate[b * units + j]);
        f32 z = sr[j];
        f32 value = z * h_prev[b * units + j] + (1 - z) * hh;
        sr[2 * units + j] = hh;
        hr[j] = value;
        h_prev[b * units + j] = value;
      }
    }
  }
}

// Backpropagation through time for gru_forward: dx [B, T, 3U] (gradient of the input projections) and dR [U, 3U]
// from dy [B, T, U]. scratch: 3U·U + 8·B·U floats.
EXPORT(gru_backward) void gru_backward(const f32 *restrict dy, const f32 *restrict h, const f32 *restrict saved,
                                       const f32 *restrict r, f32 *restrict dx, f32 *restrict dr_out, int batch,
                                       int steps, int units, int backwards, f32 *restrict scratch) {
  int u3 = 3 * units, bu = batch * units;
  f32 *rt = scratch;  // Rᵀ [3U, U]: the products with Rᵀ become row updates
  f32 *dh_next = rt + u3 * units;
  f32 *h_prev = dh_next + bu;
  f32 *reset_h = h_prev + bu;
  f32 *d_cand = reset_h + bu;
  f32 *d_reset_h = d_cand + bu;
  f32 *d_gates = d_reset_h + bu;  // 2·B·U
  f32 *dz = d_gates + 2 * bu;
  transpose(r, rt, units, u3);
  for (int i = 0; i < units * u3; i++) dr_out[i] = 0;
  for (int i = 0; i < bu; i++) dh_next[i] = 0;
  for (int t = steps - 1; t >= 0; t--) {
    int tau = backwards ? steps - 1 - t : t;
    for (int b = 0; b < batch; b++)
      for (int j = 0; j < units; j++) h_prev[b * units + j] = t > 0 ? h[(b * steps + t - 1) * units + j] : 0;
    for (int b = 0; b < batch; b++) {
      const f32 *sr = saved + (t * batch + b) * SAVED * units;
      f32 *xr = dx + (b * steps + tau) * u3;
      const f32 *gr = dy + (b * steps + t) * units;
      for (int j = 0; j < units; j++) {
        int i = b * units + j;
        f32 z = sr[j], hh = sr[2 * units + j];
        f32 dh = gr[j] + dh_next[i];
        dz[i] = dh * (h_prev[i] - hh);
        f32 d_pre_h = dh * (1 - z) * (1 - hh * hh);
        xr[2 * units + j] = d_pre_h;
        d_cand[i] = d_pre_h;
        dh_next[i] = dh * z;
        reset_h[i] = sr[units + j] * h_prev[i];
      }
    }
    for (int b = 0; b < batch; b++) {
      const f32 *dc = d_cand + b * units;
      f32 *drh = d_reset_h + b * units;
      for (int k = 0; k < units; k++) {
        // dR[:, 2U:3U] += (r ⊙ h_prev)ᵀ · dCandidate
        f32 value = reset_h[b * units + k];
        f32 *row = dr_out + k * u3 + 2 * units;
        for (int j = 0; j < units; j++) row[j] += value * dc[j];
        drh[k] = 0;
      }
      // dResetH = dCandidate · R[:, 2U:3U]ᵀ
      for (int j = 0; j < units; j++) {
        f32 value = dc[j];
        const f32 *row = rt + (2 * units + j) * units;
        for (int k = 0; k < units; k++) drh[k] += value * row[k];
      }
    }
    for (int b = 0; b < batch; b++) {
      const f32 *sr = saved + (t * batch + b) * SAVED * units;
      f32 *xr = dx + (b * steps + tau) * u3;
      for (int j = 0; j < units; j++) {
        int i = b * units + j;
        f32 d_pre_z = dz[i] * sr[3 * units + j];
        f32 d_pre_r = d_reset_h[i] * h_prev[i] * sr[4 * units + j];
        dh_next[i] += d_reset_h[i] * sr[units + j];
        xr[j] = d_pre_z;
        xr[units + j] = d_pre_r;
        d_gates[b * 2 * units + j] = d_pre_z;
        d_gates[b * 2 * units + units + j] = d_pre_r;
      }
    }
    for (int b = 0; b < batch; b++) {
      const f32 *g = d_gates + b * 2 * units;
      // dR[:, 0:2U] += h_prevᵀ · dGates
      for (int k = 0; k < units; k++) {
        f32 value = h_prev[b * units + k];
        f32 *row = dr_out + k * u3;
        for (int j = 0; j < 2 * units; j++) row[j] += value * g[j];
      }
      // dhNext += dGates · R[:, 0:2U]ᵀ
      f32 *dn = dh_next + b * units;
      for (int j = 0; j < 2 * units; j++) {
        f32 value = g[j];
        const f32 *row = rt + j * units;
        for (int k = 0; k < units; k++) dn[k] += value * row[k];
      }
    }
  }
}
