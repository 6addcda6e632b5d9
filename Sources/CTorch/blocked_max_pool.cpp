// Max pooling for convolution plans, on oneDNN's blocked layout (nChw8c or nChw16c), with an
// optional ReLU on the way out (max and ReLU commute, so a ReLU before the pool fuses too).
//
// oneDNN 2.6's pooling kernels ran far below memory speed on ResNet-18's 3×3 stride-2 pool over
// 25×64×112² activations (AVX2 kernels on an AVX-512 Xeon with oneDNN capped at AVX2: 45 ms forward
// keeping the argmax, 30 ms backward, plus 18 ms for a separate ReLU forward and backward).
// Here each output keeps one byte naming the window position that won (255: no gradient, where the
// fused ReLU gave 0), and the backward pass gathers, for each input, the gradients of the windows
// it won, so every input gradient is written once. Ties and NaNs follow libtorch: the first maximum
// in row-major order wins, a NaN wins over numbers and a later NaN over an earlier one.
#include "internal.h"

#include <cstring>
#include <stdexcept>

namespace gbt {
namespace {

constexpr uint8_t no_gradient = 255;

// Eight channels of one pixel; one or two of them (V) make a block. Written with vector extensions
// so that one source serves every CPU: the AVX2 clone where the CPU has it, SSE pairs otherwise.
typedef float v8 __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef uint8_t v8b __attribute__((vector_size(8)));

// Macros, not functions: vectors passed by value between the clones would change their ABI.
#define STORE(p, v) do { auto v_ = (v); std::memcpy((p), &v_, sizeof v_); } while (0)
#define SELECT(mask, a, b) ((v8)((((v8i)(a)) & (mask)) | (((v8i)(b)) & ~(mask))))

// Output rows [first, last) of all planes (a plane: one image's block of 8·V channels),
// row-major over (plane, row).
GBT_CPU_CLONES void forward_rows(const BlockedMaxPool &p, const float *x, float *y, uint8_t *won, int64_t first, int64_t last) {
  const int V = static_cast<int>(p.block / 8);
  const int64_t B = p.block;
  for (int64_t r = first; r < last; ++r) {
    const int64_t plane = r / p.out_height, oy = r % p.out_height;
    const int64_t y0 = oy * p.stride - p.padding, ky0 = std::max<int64_t>(0, -y0), ky1 = std::min(p.kernel, p.height - y0);
    const float *in = x + plane * p.height * p.width * B;
    for (int64_t ox = 0; ox < p.out_width; ++ox) {
      const int64_t x0 = ox * p.stride - p.padding, kx0 = std::max<int64_t>(0, -x0), kx1 = std::min(p.kernel, p.width - x0);
      v8 best[2];
      v8i at[2];
      for (int h = 0; h < V; ++h) best[h] = v8{} - __builtin_inff(), at[h] = v8i{} + static_cast<int32_t>(ky0 * p.kernel + kx0);
      for (int64_t ky = ky0; ky < ky1; ++ky)
        for (int64_t kx = kx0; kx < kx1; ++kx) {
          const float *q = in + ((y0 + ky) * p.width + x0 + kx) * B;
          const int32_t k = static_cast<int32_t>(ky * p.kernel + kx);
          for (int h = 0; h < V; ++h) {
            v8 v;
            std::memcpy(&v, q + 8 * h, sizeof v);
            const v8i take = (v > best[h]) | (v != v);
            best[h] = SELECT(take, v, best[h]);
            at[h] = (take & k) | (~take & at[h]);
          }
        }
      const int64_t o = (r * p.out_width + ox) * B;
      for (int h = 0; h < V; ++h) {
        // libtorch's ReLU passes the gradient of a NaN, not of a 0.
        const v8i zero = p.relu ? (v8i)(best[h] < 0) : v8i{}, blocked = p.relu ? (v8i)(best[h] <= 0) : v8i{};
        STORE(y + o + 8 * h, SELECT(zero, v8{}, best[h]));
        if (won) STORE(won + o + 8 * h, __builtin_convertvector((blocked & no_gradient) | (~blocked & at[h]), v8b));
      }
    }
  }
}

// Input rows [first, last) of the input gradient, row-major over (plane, row): each input takes the
// gradients of the windows whose code names it, summed in output order.
GBT_CPU_CLONES void backward_rows(const BlockedMaxPool &p, const float *gy, const uint8_t *won, float *gx, int64_t first, int64_t last) {
  const int V = static_cast<int>(p.block / 8);
  const int64_t B = p.block;
  for (int64_t r = first; r < last; ++r) {
    const int64_t plane = r / p.height, iy = r % p.height;
    // Windows oy with oy·stride − padding ≤ iy < oy·stride − padding + kernel.
    const int64_t oy0 = std::max<int64_t>(0, (iy + p.padding - p.kernel + p.stride) / p.stride);
    const int64_t oy1 = std::min(p.out_height, (iy + p.padding) / p.stride + 1);
    const float *g = gy + plane * p.out_height * p.out_width * B;
    const uint8_t *codes = won + plane * p.out_height * p.out_width * B;
    for (int64_t ix = 0; ix < p.width; ++ix) {
      const int64_t ox0 = std::max<int64_t>(0, (ix + p.padding - p.kernel + p.stride) / p.stride);
      const int64_t ox1 = std::min(p.out_width, (ix + p.padding) / p.stride + 1);
      v8 sum[2] = {};
      for (int64_t oy = oy0; oy < oy1; ++oy)
        for (int64_t ox = ox0; ox < ox1; ++ox) {
          const int32_t k = static_cast<int32_t>((iy - (oy * p.stride - p.padding)) * p.kernel + ix - (ox * p.stride - p.padding));
          const int64_t o = (oy * p.out_width + ox) * B;
          for (int h = 0; h < V; ++h) {
            v8b code;
            v8 value;
            std::memcpy(&code, codes + o + 8 * h, sizeof code);
            std::memcpy(&value, g + o + 8 * h, sizeof value);
            const v8i mine = __builtin_convertvector(code, v8i) == k;
            sum[h] += SELECT(mine, value, v8{});
          }
        }
      for (int h = 0; h < V; ++h) STORE(gx + (r * p.width + ix) * B + 8 * h, sum[h]);
    }
  }
}

} // namespace

BlockedMaxPool::BlockedMaxPool(int64_t kernel, int64_t stride, int64_t padding, bool relu)
    : kernel(kernel), stride(stride), padding(padding), relu(relu) {
  if (kernel < 1 || kernel * kernel >= no_gradient || stride < 1 || padding < 0 || 2 * padding > kernel)
    throw std::invalid_argument("max pooling needs a window of 1 to 15, a positive stride and padding at most half the window");
}

void BlockedMaxPool::set_shape(int64_t n, int64_t channels, int64_t h, int64_t w, int64_t channel_block) {
  if (channel_block != 8 && channel_block != 16) throw std::invalid_argument("blocked max pooling needs blocks of 8 or 16 channels");
  block = channel_block;
  planes = n * ((channels + block - 1) / block);
  height = h, width = w;
  out_height = (h + 2 * padding - kernel) / stride + 1, out_width = (w + 2 * padding - kernel) / stride + 1;
  if (out_height <= 0 || out_width <= 0) throw std::invalid_argument("the input is smaller than the pooling window");
}

void BlockedMaxPool::forward(const float *x, float *y, uint8_t *won) const {
  const int64_t grain = std::max<int64_t>(1, 32768 / (out_width * block));
  parallel_for(0, planes * out_height, grain, [&](int64_t first, int64_t last) {
    forward_rows(*this, x, y, won, first, last);
  });
}

void BlockedMaxPool::backward(const float *gy, const uint8_t *won, float *gx) const {
  const int64_t grain = std::max<int64_t>(1, 32768 / (width * block));
  parallel_for(0, planes * height, grain, [&](int64_t first, int64_t last) {
    backward_rows(*this, gy, won, gx, first, last);
  });
}

} // namespace gbt
