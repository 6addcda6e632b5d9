// Max pooling over 2×2 windows with stride 2 (every pool of the demo CNN and most small CNNs).
// libtorch 1.13's CPU kernel runs far below memory speed here (23 ms for 256×32×28×28 values,
// 2 threads of the session-13 Intel Xeon, and it writes an int64 index per output when a gradient
// is needed); this pass takes ~2 ms and keeps one byte per output naming the window position that
// won. Ties and NaNs follow libtorch: the first maximum in row-major order wins, a NaN wins over
// numbers and a later NaN over an earlier one. The backward pass scatters each gradient to that
// position; under create_graph it calls libtorch's own backward instead, so gradients of gradients
// (double backprop) stay differentiable.
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>
#include <cmath>
#include <cstring>
#include <type_traits>
#include "internal.h"

using namespace gbt;

namespace {

// Planes [begin, end) of the forward pass.
template <typename T, bool keepCodes>
__attribute__((always_inline)) inline void forward_planes(const T *x, T *y, uint8_t *code, int64_t begin, int64_t end, int64_t H, int64_t W,
                                                          int64_t OH, int64_t OW) {
  for (int64_t plane = begin; plane < end; ++plane) {
    const T *in = x + plane * H * W;
    T *out = y + plane * OH * OW;
    uint8_t *won = code ? code + plane * OH * OW : nullptr;
    for (int64_t oh = 0; oh < OH; ++oh) {
      const T *top = in + 2 * oh * W, *bottom = top + W;
      T *row = out + oh * OW;
      uint8_t *rowWon = won ? won + oh * OW : nullptr;
      // Branch-free so the compiler vectorises the row: position k replaces the best so far when
      // greater or NaN (x != x), in row-major order.
      for (int64_t ow = 0; ow < OW; ++ow) {
        T best = top[2 * ow];
        uint8_t at = 0;
        const T c1 = top[2 * ow + 1], c2 = bottom[2 * ow], c3 = bottom[2 * ow + 1];
        bool take = (c1 > best) | (c1 != c1);
        best = take ? c1 : best; at = take ? 1 : at;
        take = (c2 > best) | (c2 != c2);
        best = take ? c2 : best; at = take ? 2 : at;
        take = (c3 > best) | (c3 != c3);
        best = take ? c3 : best; at = take ? 3 : at;
        row[ow] = best;
        if constexpr (keepCodes) rowWon[ow] = at;
      }
    }
  }
}

// L adjacent float windows at once (L = 8 or 4): their 2L top and 2L bottom values split into
// left and right columns, the four positions compared in row-major order as above. Pointers only:
// vectors passed between functions compiled for different CPUs would change their ABI.
template <int L>
__attribute__((always_inline)) inline void windows(const float *top, const float *bottom, float *out, uint8_t *won) {
  typedef float vf __attribute__((ext_vector_type(L)));
  typedef int32_t vi __attribute__((ext_vector_type(L)));
  typedef uint8_t vb __attribute__((ext_vector_type(L)));
  vf t0, t1, b0, b1;
  std::memcpy(&t0, top, sizeof t0), std::memcpy(&t1, top + L, sizeof t1);
  std::memcpy(&b0, bottom, sizeof b0), std::memcpy(&b1, bottom + L, sizeof b1);
  vf c[4];
  if constexpr (L == 8) {
    c[0] = __builtin_shufflevector(t0, t1, 0, 2, 4, 6, 8, 10, 12, 14), c[1] = __builtin_shufflevector(t0, t1, 1, 3, 5, 7, 9, 11, 13, 15);
    c[2] = __builtin_shufflevector(b0, b1, 0, 2, 4, 6, 8, 10, 12, 14), c[3] = __builtin_shufflevector(b0, b1, 1, 3, 5, 7, 9, 11, 13, 15);
  } else {
    c[0] = __builtin_shufflevector(t0, t1, 0, 2, 4, 6), c[1] = __builtin_shufflevector(t0, t1, 1, 3, 5, 7);
    c[2] = __builtin_shufflevector(b0, b1, 0, 2, 4, 6), c[3] = __builtin_shufflevector(b0, b1, 1, 3, 5, 7);
  }
  vf best = c[0];
  vi at = 0;
  for (int k = 1; k < 4; ++k) {
    const vi take = (c[k] > best) | (c[k] != c[k]);
    best = (vf)(((vi)c[k] & take) | ((vi)best & ~take));
    at = (take & k) | (~take & at);
  }
  std::memcpy(out, &best, sizeof best);
  if (won) {
    const vb codes = __builtin_convertvector(at, vb);
    std::memcpy(won, &codes, sizeof codes);
  }
}

// float, the common case, in vectors of 8 or 4 windows (the last vector of a row overlapping the
// one before it, so short rows need no scalar tail), compiled also for AVX2 and picked at load time
// where the CPU has it. The scalar loop above, vectorised by the compiler only along rows of 14 or 7
// windows, took 22% of a SmoothGrad run on the demo CNN (AVX2 imitation on an AVX-512 Xeon).
GBT_CPU_CLONES void forward_planes_float(const float *x, float *y, uint8_t *code, int64_t begin, int64_t end, int64_t H, int64_t W,
                                         int64_t OH, int64_t OW) {
  const int64_t L = OW >= 8 ? 8 : 4;
  if (OW < 4) {
    if (code) forward_planes<float, true>(x, y, code, begin, end, H, W, OH, OW);
    else forward_planes<float, false>(x, y, code, begin, end, H, W, OH, OW);
    return;
  }
  for (int64_t plane = begin; plane < end; ++plane)
    for (int64_t oh = 0; oh < OH; ++oh) {
      const float *top = x + plane * H * W + 2 * oh * W;
      const int64_t o = (plane * OH + oh) * OW;
      for (int64_t ow = 0; ow < OW; ow += L) {
        const int64_t at = std::min(ow, OW - L);
        if (L == 8) windows<8>(top + 2 * at, top + W + 2 * at, y + o + at, code ? code + o + at : nullptr);
        else windows<4>(top + 2 * at, top + W + 2 * at, y + o + at, code ? code + o + at : nullptr);
      }
    }
}

template <typename T, bool keepCodes>
void pool_forward(const T *x, T *y, uint8_t *code, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW) {
  gbt::parallel_for(0, planes, 8, [&](int64_t begin, int64_t end) {
    if constexpr (std::is_same_v<T, float>) forward_planes_float(x, y, code, begin, end, H, W, OH, OW);
    else forward_planes<T, keepCodes>(x, y, code, begin, end, H, W, OH, OW);
  });
}

// Planes [begin, end) of the backward pass.
template <typename T>
__attribute__((always_inline)) inline void backward_planes(const T *g, const uint8_t *code, T *gx, int64_t begin, int64_t end, int64_t H,
                                                           int64_t W, int64_t OH, int64_t OW) {
  for (int64_t plane = begin; plane < end; ++plane) {
    const T *grad = g + plane * OH * OW;
    const uint8_t *won = code + plane * OH * OW;
    T *out = gx + plane * H * W;
    // Each window's four values in one pass (the gradient where the code points, else 0); an
    // odd last row or column belongs to no window.
    for (int64_t oh = 0; oh < OH; ++oh) {
      T *top = out + 2 * oh * W, *bottom = top + W;
      const T *gradRow = grad + oh * OW;
      const uint8_t *wonRow = won + oh * OW;
      for (int64_t ow = 0; ow < OW; ++ow) {
        const T value = gradRow[ow];
        const uint8_t at = wonRow[ow];
        top[2 * ow] = at == 0 ? value : T(0);
        top[2 * ow + 1] = at == 1 ? value : T(0);
        bottom[2 * ow] = at == 2 ? value : T(0);
        bottom[2 * ow + 1] = at == 3 ? value : T(0);
      }
      if (W % 2) { top[W - 1] = T(0); bottom[W - 1] = T(0); }
    }
    if (H % 2) std::fill(out + (H - 1) * W, out + H * W, T(0));
  }
}

GBT_CPU_CLONES void backward_planes_float(const float *g, const uint8_t *code, float *gx, int64_t begin, int64_t end, int64_t H, int64_t W,
                                          int64_t OH, int64_t OW) {
  backward_planes<float>(g, code, gx, begin, end, H, W, OH, OW);
}

template <typename T>
void pool_backward(const T *g, const uint8_t *code, T *gx, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW) {
  gbt::parallel_for(0, planes, 8, [&](int64_t begin, int64_t end) {
    if constexpr (std::is_same_v<T, float>) backward_planes_float(g, code, gx, begin, end, H, W, OH, OW);
    else backward_planes<T>(g, code, gx, begin, end, H, W, OH, OW);
  });
}

// (N, C, H, W) → pooled values and, when wanted, the winning positions (uint8, same shape).
std::pair<at::Tensor, at::Tensor> pool(const at::Tensor &input, bool keepCodes) {
  const at::Tensor x = input.contiguous();
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), OH = H / 2, OW = W / 2;
  at::Tensor y = at::empty({N, C, OH, OW}, x.options());
  at::Tensor code = keepCodes ? at::empty({N, C, OH, OW}, x.options().dtype(at::kByte)) : at::Tensor();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "max_pool_2x2", [&] {
    if (keepCodes) pool_forward<scalar_t, true>(x.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), code.data_ptr<uint8_t>(), N * C, H, W, OH, OW);
    else pool_forward<scalar_t, false>(x.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), nullptr, N * C, H, W, OH, OW);
  });
  return {y, code};
}

struct MaxPool2x2 : public torch::autograd::Function<MaxPool2x2> {
  static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &x) {
    auto [y, code] = pool(x, true);
    ctx->save_for_backward({x});
    ctx->saved_data["code"] = code;
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx, torch::autograd::variable_list grads) {
    const at::Tensor x = ctx->get_saved_variables()[0];
    const at::Tensor code = ctx->saved_data["code"].toTensor();
    const at::Tensor g = grads[0].contiguous();
    const int64_t H = x.size(2), W = x.size(3), OH = H / 2, OW = W / 2;
    if (at::GradMode::is_enabled()) {
      // Differentiable (create_graph): libtorch's backward from the same positions as int64 indices.
      const at::Tensor rows = at::arange(OH, code.options().dtype(at::kLong)).mul(2).view({OH, 1});
      const at::Tensor cols = at::arange(OW, code.options().dtype(at::kLong)).mul(2).view({1, OW});
      const at::Tensor c = code.to(at::kLong);
      const at::Tensor indices = (rows + c.div(2, "floor")) * W + cols + c.remainder(2);
      return {at::max_pool2d_with_indices_backward(g, x, {2, 2}, {2, 2}, {0, 0}, {1, 1}, false, indices)};
    }
    at::Tensor gx = at::empty_like(x, at::MemoryFormat::Contiguous);
    AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "max_pool_2x2_backward", [&] {
      pool_backward<scalar_t>(g.data_ptr<scalar_t>(), code.data_ptr<uint8_t>(), gx.data_ptr<scalar_t>(), x.size(0) * x.size(1), H, W, OH, OW);
    });
    return {gx};
  }
};

} // namespace

namespace gbt {
// Whether the 2×2, stride-2 pass applies: a dense 4-d float or double tensor with at least one window.
bool max_pool_2x2_applies(const at::Tensor &x) {
  return x.dim() == 4 && x.layout() == at::kStrided && x.device().is_cpu() &&
         (x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble) && x.size(2) >= 2 && x.size(3) >= 2 && x.numel() > 0;
}

at::Tensor max_pool_2x2(const at::Tensor &x) {
  if (at::GradMode::is_enabled() && x.requires_grad()) return MaxPool2x2::apply(x);
  return pool(x, false).first;
}
} // namespace gbt
