// Winograd F(4×4, 3×3) convolutions as matrix products (Lavin & Gray 2016, "Fast Algorithms for
// Convolutional Neural Networks"), for CPUs where oneDNN 2.6 has no Winograd kernels (it has them
// for AVX-512 only).
//
// A 3×3 stride-1 convolution with padding 1 over activations in oneDNN's blocked layout
// (nChw8c or nChw16c): each 6×6 input tile becomes 36 transformed values per channel (BᵀdB), the
// transformed filters (GgGᵀ, computed once in double) multiply them as 36 matrix products
// (tiles × in-channels by in-channels × out-channels) on oneDNN's sgemm, and AᵀmA turns each
// tile's 36 products into a 4×4 output block, with the bias, a residual already in the output
// and the ReLU applied on the way out. 2.25 times fewer multiply-adds than a direct convolution.
//
// Tiles are processed in blocks small enough for the transformed values to stay in cache, one
// block per thread with single-threaded products; with too few tiles for that, or filters too large
// to re-read per block, all tiles are transformed at once and the 36 products are shared out.
#include "internal.h"

#ifdef GBT_HAS_DNNL
#include <oneapi/dnnl/dnnl.h>
#include <immintrin.h>
#include <cstring>
#include <memory>
#include <vector>

namespace gbt {
namespace {

#define GBT_AVX2 __attribute__((target("avx2,fma")))

typedef float v8 __attribute__((vector_size(32)));

GBT_AVX2 inline v8 load(const float *p) {
  v8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
GBT_AVX2 inline void store(float *p, v8 v) { std::memcpy(p, &v, sizeof v); }

// One row (or column, with stride s) of Bᵀd for F(4, 3), interpolation points 0, ±1, ±2.
GBT_AVX2 inline void input_row(const v8 *d, int s, v8 *r, int rs) {
  v8 d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s], d5 = d[5 * s];
  r[0] = 4 * d0 - 5 * d2 + d4;
  r[rs] = d3 + d4 - 4 * (d1 + d2);
  r[2 * rs] = 4 * (d1 - d2) - d3 + d4;
  r[3 * rs] = 2 * (d3 - d1) - d2 + d4;
  r[4 * rs] = 2 * (d1 - d3) - d2 + d4;
  r[5 * rs] = 4 * d1 - 5 * d3 + d5;
}

// One row (or column) of Aᵀm.
GBT_AVX2 inline void output_row(const v8 *m, int s, v8 *o, int os) {
  v8 a = m[s] + m[2 * s], b = m[s] - m[2 * s], c = m[3 * s] + m[4 * s], d = m[3 * s] - m[4 * s];
  o[0] = m[0] + a + c;
  o[os] = b + 2 * d;
  o[2 * os] = a + 4 * c;
  o[3 * os] = b + 8 * d + m[5 * s];
}

struct Geometry {
  int64_t n, channels, out_channels, height, width, block; // block: channels per blocked group (8 or 16)
  int64_t tiles_y() const { return (height + 3) / 4; }
  int64_t tiles_x() const { return (width + 3) / 4; }
  int64_t tiles() const { return n * tiles_y() * tiles_x(); }
  // Where the 8 channels [8g, 8g + 8) of image i start; pixels are `block` floats apart. Channel
  // counts are multiples of the block (no padded blocks, whose padding oneDNN expects to be zero).
  int64_t offset(int64_t i, int64_t g, int64_t channel_count) const {
    return ((i * (channel_count / block) + g * 8 / block) * height * width) * block + (g * 8) % block;
  }
};

// Transformed input of tiles [first, first + count) into rows [row, row + count) of the 36 matrices
// v[e] (rows × channels), `plane` floats apart.
GBT_AVX2 void transform_input(const float *x, const Geometry &s, int64_t first, int64_t count, float *v, int64_t row, int64_t plane) {
  const int64_t ty = s.tiles_y(), tx = s.tiles_x();
  for (int64_t k = 0; k < count; ++k) {
    const int64_t t = first + k, image = t / (ty * tx), y0 = (t / tx) % ty * 4 - 1, x0 = t % tx * 4 - 1;
    for (int64_t g = 0; g < s.channels / 8; ++g) {
      const float *base = x + s.offset(image, g, s.channels);
      v8 d[36], half[36];
      for (int i = 0; i < 6; ++i)
        for (int j = 0; j < 6; ++j) {
          const int64_t y = y0 + i, xx = x0 + j;
          d[i * 6 + j] = (y >= 0 && y < s.height && xx >= 0 && xx < s.width) ? load(base + (y * s.width + xx) * s.block) : v8{};
        }
      for (int j = 0; j < 6; ++j) input_row(d + j, 6, half + j, 6);
      for (int i = 0; i < 6; ++i) input_row(half + i * 6, 1, d + i * 6, 1);
      for (int e = 0; e < 36; ++e) store(v + e * plane + (row + k) * s.channels + g * 8, d[e]);
    }
  }
}

// Output blocks of tiles [first, first + count) from rows [row, row + count) of the 36 matrices
// m[e] (rows × out_channels), `plane` floats apart.
GBT_AVX2 void transform_output(const float *m, int64_t row, int64_t plane, const Geometry &s, int64_t first, int64_t count,
                               const float *bias, bool accumulate, bool relu, float *out) {
  const int64_t ty = s.tiles_y(), tx = s.tiles_x();
  for (int64_t k = 0; k < count; ++k) {
    const int64_t t = first + k, image = t / (ty * tx), y0 = (t / tx) % ty * 4, x0 = t % tx * 4;
    for (int64_t g = 0; g < s.out_channels / 8; ++g) {
      v8 products[36], half[24], o[16];
      for (int e = 0; e < 36; ++e) products[e] = load(m + e * plane + (row + k) * s.out_channels + g * 8);
      for (int j = 0; j < 6; ++j) output_row(products + j, 6, half + j, 6);
      for (int i = 0; i < 4; ++i) output_row(half + i * 6, 1, o + i * 4, 1);
      const v8 b = bias ? load(bias + g * 8) : v8{};
      float *base = out + s.offset(image, g, s.out_channels);
      for (int i = 0; i < 4 && y0 + i < s.height; ++i)
        for (int j = 0; j < 4 && x0 + j < s.width; ++j) {
          float *p = base + ((y0 + i) * s.width + x0 + j) * s.block;
          v8 value = o[i * 4 + j] + b;
          if (accumulate) value += load(p);
          if (relu) value = (v8)_mm256_max_ps((__m256)value, _mm256_setzero_ps());
          store(p, value);
        }
    }
  }
}

// The distance between the 36 matrices of `rows × columns` floats: one cache line more than their
// size, so that the 36 values of a tile do not all fall into the same cache set (matrix sizes are
// often multiples of 4 KB).
int64_t plane_size(int64_t rows, int64_t columns) { return rows * columns + 16; }

void products(const float *v, const float *u, int64_t count, int64_t channels, int64_t out_channels, int first, int last, float *m) {
  const int64_t v_plane = plane_size(count, channels), m_plane = plane_size(count, out_channels);
  for (int e = first; e < last; ++e) {
    auto status = dnnl_sgemm('N', 'N', count, out_channels, channels, 1.f, v + e * v_plane, channels, u + e * channels * out_channels,
                             out_channels, 0.f, m + e * m_plane, out_channels);
    if (status != dnnl_success) throw std::runtime_error("oneDNN's sgemm failed in a Winograd convolution");
  }
}

} // namespace

bool WinogradGemm::cpu_supported() {
  static const bool supported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return supported;
}

WinogradGemm::WinogradGemm(const at::Tensor &weight) : out_channels(weight.size(0)), channels(weight.size(1)) {
  if (weight.dim() != 4 || weight.size(2) != 3 || weight.size(3) != 3 || channels % 8 != 0 || out_channels % 8 != 0)
    throw std::invalid_argument("Winograd GEMM convolutions need 3×3 weights with channel counts divisible by 8");
  // u[e][c][k] = (G g_kc Gᵀ)[e], in double so the transform adds no rounding of its own.
  static const double G[6][3] = {{1. / 4, 0, 0},           {-1. / 6, -1. / 6, -1. / 6}, {-1. / 6, 1. / 6, -1. / 6},
                                 {1. / 24, 1. / 12, 1. / 6}, {1. / 24, -1. / 12, 1. / 6}, {0, 0, 1}};
  auto g = at::einsum("ai,kcij,bj->abck", {at::tensor(at::ArrayRef<double>(&G[0][0], 18)).reshape({6, 3}),
                                           weight.detach().to(at::kDouble),
                                           at::tensor(at::ArrayRef<double>(&G[0][0], 18)).reshape({6, 3})});
  transformed = g.reshape({36, channels, out_channels}).to(at::kFloat).contiguous();
}

void WinogradGemm::run(const float *x, float *out, int64_t n, int64_t height, int64_t width, int64_t block, const float *bias,
                       bool accumulate, bool relu) const {
  const Geometry s{n, channels, out_channels, height, width, block};
  const int64_t tiles = s.tiles();
  const float *u = transformed.data_ptr<float>();
  // About a megabyte of transformed values per block of tiles. Blocks re-read the transformed
  // filters (36·C·K floats) once per `chunk` tiles; all tiles at once write and read the
  // transformed values and products (36·(C + K) floats per tile) through memory instead, which is
  // cheaper where the filters are large (256 channels and more: 1.2–2× forward on ResNet-18's last stage
  // at 25 images; AVX2 imitation on an AVX-512 Xeon).
  const int64_t chunk = std::max<int64_t>(8, std::min<int64_t>(128, 8192 / std::max(channels, out_channels)));
  const int64_t threads = at::get_num_threads();
  const bool chunked = tiles >= 2 * threads * chunk && channels * out_channels < 2 * chunk * (channels + out_channels);
  if (chunked) {
    const int64_t blocks = (tiles + chunk - 1) / chunk;
    parallel_for(0, blocks, 1, [&](int64_t first, int64_t last) {
      thread_local std::vector<float> v, m;
      for (int64_t b = first; b < last; ++b) {
        const int64_t start = b * chunk, count = std::min(chunk, tiles - start);
        v.resize(36 * plane_size(count, channels));
        m.resize(36 * plane_size(count, out_channels));
        transform_input(x, s, start, count, v.data(), 0, plane_size(count, channels));
        products(v.data(), u, count, channels, out_channels, 0, 36, m.data());
        transform_output(m.data(), 0, plane_size(count, out_channels), s, start, count, bias, accumulate, relu, out);
      }
    });
    return;
  }
  // Not value-initialised: every element is written before it is read.
  std::unique_ptr<float[]> v(new float[36 * plane_size(tiles, channels)]), m(new float[36 * plane_size(tiles, out_channels)]);
  const int64_t grain = std::max<int64_t>(1, tiles / (4 * threads));
  parallel_for(0, tiles, grain, [&](int64_t first, int64_t last) {
    transform_input(x, s, first, last - first, v.get(), first, plane_size(tiles, channels));
  });
  parallel_for(0, 36, 1, [&](int64_t first, int64_t last) {
    products(v.get(), u, tiles, channels, out_channels, static_cast<int>(first), static_cast<int>(last), m.get());
  });
  parallel_for(0, tiles, grain, [&](int64_t first, int64_t last) {
    transform_output(m.get(), first, plane_size(tiles, out_channels), s, first, last - first, bias, accumulate, relu, out);
  });
}

} // namespace gbt
#endif
