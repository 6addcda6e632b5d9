// Shared helpers for the shim's translation units. Not part of the C ABI.
#pragma once
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <atomic>
#include <functional>
#include <string>
#include "ctorch.h"

namespace gbt {

void set_error(const std::string &message);

inline at::Tensor &T(gbt_tensor t) {
  if (t == nullptr) throw std::invalid_argument("a required tensor argument is null");
  return *reinterpret_cast<at::Tensor *>(t);
}
inline c10::optional<at::Tensor> opt(gbt_tensor t) {
  if (t == nullptr) return c10::nullopt;
  return *reinterpret_cast<at::Tensor *>(t);
}
inline gbt_tensor wrap(at::Tensor t) { return reinterpret_cast<gbt_tensor>(new at::Tensor(std::move(t))); }
inline at::IntArrayRef dims(const int64_t *p, int64_t n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }
at::ScalarType scalar_type(int code);
int dtype_code(at::ScalarType t);
at::Generator *generator(gbt_generator g);

// libtorch's OpenMP backend keeps the intra-op thread count per OS thread and
// fixes it on a thread's first parallel call; a thread that touched libtorch
// before `at::set_num_threads` would run single-threaded for good. Every entry
// point therefore applies the requested count to its thread when it differs.
// A thread may override the count for itself (`gbt_set_calling_thread_threads`).
extern std::atomic<int> requested_threads;
extern thread_local int calling_thread_threads;
void set_openmp_threads_here(int n);
// libtorch also resets a thread's count to the process-wide one on the thread's first
// parallel call or count query (`lazy_init_num_threads`); it runs here first, so that reset
// cannot undo a count set for the calling thread alone.
inline void apply_requested_threads() {
  at::internal::lazy_init_num_threads();
  static thread_local int applied = 0;
  int wanted = calling_thread_threads > 0 ? calling_thread_threads : requested_threads.load(std::memory_order_relaxed);
  if (wanted != applied) {
    if (calling_thread_threads > 0) set_openmp_threads_here(wanted); else at::set_num_threads(wanted);
    applied = wanted;
  }
}

// body(first, last) over shares of [begin, end) on libtorch's OpenMP threads (parallel.cpp); use
// it instead of `at::parallel_for`, whose parallel region needs the caller built with OpenMP.
void parallel_for(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)> &body);

// Convolutions over 1 to 3 input channels whose input gradient is wanted (small_input_convolution.cpp).
bool small_input_convolution_applies(const at::Tensor &x, const at::Tensor &w, at::IntArrayRef dilation, int64_t groups);
at::Tensor small_input_convolution(const at::Tensor &x, const at::Tensor &w, const c10::optional<at::Tensor> &b, at::IntArrayRef stride,
                                   at::IntArrayRef padding);

// A function compiled twice, for AVX2 and for baseline x86-64, the copy chosen at load time.
#define GBT_CPU_CLONES __attribute__((target_clones("avx2", "default")))

// Max pooling over 2×2 windows with stride 2 (max_pool.cpp).
bool max_pool_2x2_applies(const at::Tensor &x);
at::Tensor max_pool_2x2(const at::Tensor &x);

// A 3×3 stride-1, padding-1 convolution as Winograd F(4×4, 3×3) over oneDNN's sgemm, on
// activations in oneDNN's blocked layout (winograd_gemm.cpp; AVX2 and FMA needed).
struct WinogradGemm {
  static bool cpu_supported();
  explicit WinogradGemm(const at::Tensor &weight); // (out, in, 3, 3), channel counts divisible by 8
  // out (n, out_channels, height, width) = conv(x) + bias [+ out when accumulating], ReLU if asked;
  // both blocked by `block` (8 or 16) channels.
  void run(const float *x, float *out, int64_t n, int64_t height, int64_t width, int64_t block, const float *bias, bool accumulate,
           bool relu) const;
  int64_t out_channels, channels;
  at::Tensor transformed; // (36, in, out)
};

// Max pooling on oneDNN's blocked layout for convolution plans, optionally followed by a ReLU
// (blocked_max_pool.cpp).
struct BlockedMaxPool {
  BlockedMaxPool(int64_t kernel, int64_t stride, int64_t padding, bool relu);
  // The input's shape: (n, channels, h, w) in blocks of `channel_block` (8 or 16) channels.
  void set_shape(int64_t n, int64_t channels, int64_t h, int64_t w, int64_t channel_block);
  // y = pool(x); `won` (one byte per output value, or null) keeps the winning positions.
  void forward(const float *x, float *y, uint8_t *won) const;
  // gx = the input gradient for the output gradient gy, from a forward pass's `won`.
  void backward(const float *gy, const uint8_t *won, float *gx) const;
  int64_t kernel, stride, padding;
  bool relu;
  int64_t block = 0, planes = 0, height = 0, width = 0, out_height = 0, out_width = 0;
  int64_t output_values() const { return planes * out_height * out_width * block; }
};

} // namespace gbt

// Wraps an entry point's body: every exception becomes an error message and status 1.
#define GBT_TRY(...)                                                              \
  try {                                                                           \
    gbt::apply_requested_threads();                                               \
    __VA_ARGS__;                                                                  \
    return 0;                                                                     \
  } catch (const c10::Error &e) {                                                 \
    gbt::set_error(e.what_without_backtrace());                                   \
  } catch (const std::exception &e) {                                             \
    gbt::set_error(e.what());                                                     \
  } catch (...) {                                                                 \
    gbt::set_error("unknown C++ exception in libtorch");                          \
  }                                                                               \
  return 1;
