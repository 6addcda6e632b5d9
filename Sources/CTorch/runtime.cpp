// Runtime, generators, metadata, creation and data movement.
#include "internal.h"
#include <ATen/Parallel.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <cstring>
#include <sstream>
#include <zlib.h>
#include <malloc.h>
#include <dlfcn.h>
#include <sched.h>
#include <initializer_list>
#include <unistd.h>
#include <vector>
#include <torch/version.h>

namespace gbt {
static int cores_available() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  return 1;
}
std::atomic<int> requested_threads{cores_available()};
thread_local int calling_thread_threads = 0;

// libgomp keeps the thread count per OS thread; setting it here touches no other thread (unlike
// at::set_num_threads, which also resizes shared pools). Looked up at run time: libgomp is
// libtorch's dependency, not ours.
void set_openmp_threads_here(int n) {
  using Setter = void (*)(int);
  static Setter set = reinterpret_cast<Setter>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (set != nullptr) set(n);
}

static thread_local std::string last_error;
void set_error(const std::string &message) { last_error = message; }

at::ScalarType scalar_type(int code) {
  switch (code) {
  case GBT_FLOAT32: return at::kFloat;
  case GBT_FLOAT64: return at::kDouble;
  case GBT_INT64: return at::kLong;
  case GBT_BOOL: return at::kBool;
  case GBT_INT32: return at::kInt;
  case GBT_UINT8: return at::kByte;
  case GBT_FLOAT16: return at::kHalf;
  case GBT_BFLOAT16: return at::kBFloat16;
  case GBT_INT8: return at::kChar;
  case GBT_INT16: return at::kShort;
  }
  throw std::invalid_argument("unknown dtype code " + std::to_string(code));
}

int dtype_code(at::ScalarType t) {
  switch (t) {
  case at::kFloat: return GBT_FLOAT32;
  case at::kDouble: return GBT_FLOAT64;
  case at::kLong: return GBT_INT64;
  case at::kBool: return GBT_BOOL;
  case at::kInt: return GBT_INT32;
  case at::kByte: return GBT_UINT8;
  case at::kHalf: return GBT_FLOAT16;
  case at::kBFloat16: return GBT_BFLOAT16;
  case at::kChar: return GBT_INT8;
  case at::kShort: return GBT_INT16;
  default: throw std::invalid_argument(std::string("unsupported dtype ") + c10::toString(t));
  }
}

at::Generator *generator(gbt_generator g) { return reinterpret_cast<at::Generator *>(g); }
static c10::optional<at::Generator> opt_gen(gbt_generator g) {
  if (g == nullptr) return c10::nullopt;
  return *generator(g);
}
static at::Device device_of(int type, int index) {
  if (type == 0) return at::Device(at::kCPU);
  if (type == 1) return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
  throw std::invalid_argument("unknown device type " + std::to_string(type));
}
} // namespace gbt

using namespace gbt;

extern "C" {

const char *gbt_last_error(void) { return last_error.c_str(); }
int gbt_set_num_threads(int n) {
  GBT_TRY(if (n < 1) throw std::invalid_argument("thread count must be at least 1"); requested_threads.store(n); apply_requested_threads())
}
int gbt_get_num_threads(void) {
  try {
    apply_requested_threads();
    return at::get_num_threads();
  } catch (...) {
    return 1;
  }
}
int gbt_get_calling_thread_threads(void) { return calling_thread_threads; }
int gbt_set_calling_thread_threads(int n) {
  GBT_TRY(if (n < 0) throw std::invalid_argument("thread count must not be negative"); calling_thread_threads = n; apply_requested_threads())
}
// OpenBLAS keeps one thread count for the whole process; other BLAS libraries are left alone (-1).
int gbt_blas_threads(void) {
  using Getter = int (*)(void);
  static Getter get = reinterpret_cast<Getter>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return get != nullptr ? get() : -1;
}
void gbt_set_blas_threads(int n) {
  using Setter = void (*)(int);
  static Setter set = reinterpret_cast<Setter>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set != nullptr && n > 0) set(n);
}
int gbt_cuda_device_count(void) {
  try { return at::hasCUDA() ? static_cast<int>(at::detail::getCUDAHooks().getNumGPUs()) : 0; } catch (...) { return 0; }
}
int gbt_manual_seed(uint64_t seed) { GBT_TRY(at::manual_seed(seed)) }
#define GBT_STR2(x) #x
#define GBT_STR(x) GBT_STR2(x)
const char *gbt_version(void) { return GBT_STR(TORCH_VERSION_MAJOR) "." GBT_STR(TORCH_VERSION_MINOR) "." GBT_STR(TORCH_VERSION_PATCH); }
int gbt_set_grad_enabled(int enabled, int *previous) {
  GBT_TRY(*previous = c10::GradMode::is_enabled(); c10::GradMode::set_enabled(enabled != 0))
}
int gbt_is_grad_enabled(void) { return c10::GradMode::is_enabled(); }
int gbt_has_mkldnn(void) { return at::hasMKLDNN() ? 1 : 0; }
void gbt_keep_freed_memory(void) {
#if defined(__GLIBC__)
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, -1);
#endif
}

// Debian's OpenBLAS 0.3.21 picks its kernels by CPU model, and on models newer than it knows (an
// Intel Xeon of family 6, model 207, with AVX-512, 2026-12-02) it falls back to its Prescott (SSE3)
// kernels: sgemm ran at 62 GFLOPS there instead of 300 with the SkylakeX kernels, slowing every
// matrix product. It reads OPENBLAS_CORETYPE in its initialiser. Unless the user chose a core:
// on an Intel CPU the restart for OMP_WAIT_POLICY (below) sets the core its instructions allow
// (what OpenBLAS picks on the Intel models it knows); and if OpenBLAS still fell back to Prescott
// on a CPU with AVX2 or AVX-512 (another vendor's new model, or no restart because the user set
// OMP_WAIT_POLICY), the executable starts itself again from its own initialiser, which runs after
// OpenBLAS's. Programs it starts (the benchmarks' PyTorch peers) inherit the choice.
static const char *gbt_blas_core_for_features() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd")) {
    return "OPENBLAS_CORETYPE=SkylakeX";
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "OPENBLAS_CORETYPE=Haswell";
  return nullptr;
}
static const char *gbt_blas_core_for_intel() {
  __builtin_cpu_init();
  return __builtin_cpu_is("intel") ? gbt_blas_core_for_features() : nullptr;
}
const char *gbt_blas_core(void) {
  using Name = char *(*)(void);
  static Name name = reinterpret_cast<Name>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  return name != nullptr ? name() : "not OpenBLAS";
}

// Starts this executable again with `envp` plus `added` (nullptr entries skipped); returns only
// if that fails.
static void gbt_restart(char **argv, char **envp, std::initializer_list<const char *> added) {
  size_t count = 0;
  for (; envp[count] != nullptr; ++count) {}
  std::vector<char *> environment(envp, envp + count);
  for (const char *entry : added) {
    if (entry != nullptr) environment.push_back(const_cast<char *>(entry));
  }
  environment.push_back(nullptr);
  execve("/proc/self/exe", argv, environment.data());
}
static void gbt_choose_blas_core(int argc, char **argv, char **envp) {
  (void)argc;
  if (getenv("OPENBLAS_CORETYPE") != nullptr || strcmp(gbt_blas_core(), "Prescott") != 0) return;
  if (const char *core = gbt_blas_core_for_features()) gbt_restart(argv, envp, {core});
}
__attribute__((section(".init_array"), used)) static void (*gbt_init_blas_core)(int, char **, char **) = gbt_choose_blas_core;

// ATen's threads (libgomp) and the BLAS's threads (Debian's OpenBLAS, its own pthreads) share the
// cores. With libgomp's default active waiting, threads that finished one pool's work keep spinning
// while the other pool runs the next operation: on 2 cores a bias add after a matrix product took
// 8 ms instead of 0.2 ms, and MiniLM ran 1.5x slower (AMD EPYC, 2026-12-02). libgomp reads
// OMP_WAIT_POLICY once, in its initialiser, and glibc restores the original environment before
// library initialisers run, so setting it in-process is too late: when the user has not chosen a
// policy, the executable starts itself again with OMP_WAIT_POLICY=PASSIVE from its .preinit_array,
// which runs after loading but before any library's initialisers (about 0.1 s). If that fails, it
// carries on with the default policy.
static void gbt_wait_passively(int argc, char **argv, char **envp) {
  (void)argc;
  // getenv does not work yet here: glibc sets `environ` after this runs.
  bool blasCoreSet = false;
  for (char **entry = envp; *entry != nullptr; ++entry) {
    if (strncmp(*entry, "OMP_WAIT_POLICY=", 16) == 0) return;
    blasCoreSet = blasCoreSet || strncmp(*entry, "OPENBLAS_CORETYPE=", 18) == 0;
  }
  // Starting again anyway: choose OpenBLAS's kernels now on an Intel CPU (above), sparing the
  // second start that gbt_choose_blas_core would need.
  gbt_restart(argv, envp, {"OMP_WAIT_POLICY=PASSIVE", blasCoreSet ? nullptr : gbt_blas_core_for_intel()});
}
__attribute__((section(".preinit_array"), used)) static void (*gbt_preinit_wait_policy)(int, char **, char **) = gbt_wait_passively;
const char *gbt_openmp_wait_policy(void) { const char *value = getenv("OMP_WAIT_POLICY"); return value ? value : "default"; }

int gbt_generator_new(uint64_t seed, gbt_generator *out) {
  GBT_TRY(*out = reinterpret_cast<gbt_generator>(new at::Generator(at::make_generator<at::CPUGeneratorImpl>(seed))))
}
void gbt_generator_free(gbt_generator g) { delete generator(g); }
int gbt_generator_get_state(gbt_generator g, gbt_tensor *out) { GBT_TRY(*out = wrap(generator(g)->get_state())) }
int gbt_generator_set_state(gbt_generator g, gbt_tensor state) { GBT_TRY(generator(g)->set_state(T(state))) }

void gbt_tensor_free(gbt_tensor t) { delete reinterpret_cast<at::Tensor *>(t); }
int gbt_tensor_share(gbt_tensor t, gbt_tensor *out) { GBT_TRY(*out = wrap(T(t))) }
int gbt_tensor_dim(gbt_tensor t, int64_t *out) { GBT_TRY(*out = T(t).dim()) }
int gbt_tensor_shape(gbt_tensor t, int64_t *out, int64_t capacity) {
  GBT_TRY(auto s = T(t).sizes(); if (static_cast<int64_t>(s.size()) > capacity) throw std::invalid_argument("shape buffer too small");
          std::copy(s.begin(), s.end(), out))
}
int gbt_tensor_dtype(gbt_tensor t, int *out) { GBT_TRY(*out = dtype_code(T(t).scalar_type())) }
int gbt_tensor_device(gbt_tensor t, int *out_type, int *out_index) {
  GBT_TRY(auto d = T(t).device(); *out_type = d.is_cuda() ? 1 : 0; *out_index = d.has_index() ? d.index() : 0)
}
int gbt_tensor_numel(gbt_tensor t, int64_t *out) { GBT_TRY(*out = T(t).numel()) }
int gbt_tensor_requires_grad(gbt_tensor t, int *out) { GBT_TRY(*out = T(t).requires_grad()) }
int gbt_tensor_set_requires_grad(gbt_tensor t, int flag) { GBT_TRY(T(t).set_requires_grad(flag != 0)) }
int gbt_tensor_is_defined(gbt_tensor t, int *out) { GBT_TRY(*out = T(t).defined()) }
int gbt_tensor_description(gbt_tensor t, char **out) {
  GBT_TRY(std::ostringstream s; s << T(t); *out = strdup(s.str().c_str()))
}
void gbt_string_free(char *s) { free(s); }

int gbt_from_data(const void *data, const int64_t *shape, int64_t ndim, int dtype, gbt_tensor *out) {
  GBT_TRY(auto opts = at::TensorOptions().dtype(scalar_type(dtype));
          at::Tensor t = at::empty(dims(shape, ndim), opts);
          if (t.numel() > 0) std::memcpy(t.data_ptr(), data, t.nbytes());
          *out = wrap(t))
}
int gbt_copy_data(gbt_tensor t, void *dst, size_t nbytes) {
  GBT_TRY(at::Tensor c = T(t).detach().to(at::kCPU).contiguous();
          if (c.nbytes() != nbytes) throw std::invalid_argument("destination has " + std::to_string(nbytes) + " bytes, tensor has " + std::to_string(c.nbytes()));
          if (nbytes > 0) std::memcpy(dst, c.data_ptr(), nbytes))
}
int gbt_write_data(gbt_tensor t, int fd) {
  GBT_TRY(at::Tensor c = T(t).detach().to(at::kCPU).contiguous();
          const char *p = static_cast<const char *>(c.data_ptr());
          size_t left = c.nbytes();
          while (left > 0) {
            ssize_t n = ::write(fd, p, left);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) throw std::runtime_error(std::strerror(n < 0 ? errno : EIO));
            p += n;
            left -= static_cast<size_t>(n);
          })
}
int gbt_item_double(gbt_tensor t, double *out) { GBT_TRY(*out = T(t).item<double>()) }
int gbt_item_int64(gbt_tensor t, int64_t *out) { GBT_TRY(*out = T(t).item<int64_t>()) }
int gbt_full(const int64_t *shape, int64_t ndim, double value, int dtype, int device, gbt_tensor *out) {
  GBT_TRY(*out = wrap(at::full(dims(shape, ndim), value, at::TensorOptions().dtype(scalar_type(dtype)).device(device_of(device, 0)))))
}
int gbt_arange(double start, double end, double step, int dtype, gbt_tensor *out) {
  GBT_TRY(*out = wrap(at::arange(start, end, step, at::TensorOptions().dtype(scalar_type(dtype)))))
}
int gbt_linspace(double start, double end, int64_t steps, int dtype, gbt_tensor *out) {
  GBT_TRY(*out = wrap(at::linspace(start, end, steps, at::TensorOptions().dtype(scalar_type(dtype)))))
}
int gbt_random(int kind, const int64_t *shape, int64_t ndim, int dtype, gbt_generator g, gbt_tensor *out) {
  GBT_TRY(auto opts = at::TensorOptions().dtype(scalar_type(dtype));
          *out = wrap(kind == 0 ? at::rand(dims(shape, ndim), opt_gen(g), opts) : at::randn(dims(shape, ndim), opt_gen(g), opts)))
}
int gbt_randint(int64_t low, int64_t high, const int64_t *shape, int64_t ndim, gbt_generator g, gbt_tensor *out) {
  GBT_TRY(*out = wrap(at::randint(low, high, dims(shape, ndim), opt_gen(g), at::TensorOptions().dtype(at::kLong))))
}
int gbt_randperm(int64_t n, gbt_generator g, gbt_tensor *out) {
  GBT_TRY(*out = wrap(at::randperm(n, opt_gen(g), at::TensorOptions().dtype(at::kLong))))
}
int gbt_bernoulli(gbt_tensor p, gbt_generator g, gbt_tensor *out) { GBT_TRY(*out = wrap(at::bernoulli(T(p), opt_gen(g)))) }
int gbt_to_dtype(gbt_tensor t, int dtype, gbt_tensor *out) { GBT_TRY(*out = wrap(T(t).to(scalar_type(dtype)))) }
int gbt_to_device(gbt_tensor t, int device_type, int device_index, gbt_tensor *out) {
  GBT_TRY(*out = wrap(T(t).to(device_of(device_type, device_index))))
}

// ---- files ----
int gbt_gunzip_file(const char *path, uint8_t **data, size_t *length, size_t max_length) {
  GBT_TRY(
    gzFile f = gzopen(path, "rb");
    if (f == nullptr) throw std::runtime_error(std::string("cannot open ") + path);
    std::string buffer; char chunk[1 << 16]; int n;
    while ((n = gzread(f, chunk, sizeof chunk)) > 0) {
      buffer.append(chunk, static_cast<size_t>(n));
      if (buffer.size() > max_length) { gzclose(f); throw std::runtime_error(std::string(path) + " is larger than expected"); }
    }
    int errnum = 0; const char *msg = gzerror(f, &errnum);
    std::string err = (n < 0 || errnum < 0) ? std::string(msg) : std::string();
    gzclose(f);
    if (!err.empty()) throw std::runtime_error(std::string(path) + " is not a readable gzip file (" + err + ")");
    *data = static_cast<uint8_t *>(malloc(buffer.size() > 0 ? buffer.size() : 1));
    std::memcpy(*data, buffer.data(), buffer.size()); *length = buffer.size())
}
void gbt_buffer_free(void *p) { free(p); }
int gbt_zlib_compress(const uint8_t *src, size_t n, int level, uint8_t **dst, size_t *dst_n) {
  GBT_TRY(uLongf bound = compressBound(n); auto *buf = static_cast<uint8_t *>(malloc(bound));
          if (compress2(buf, &bound, src, n, level) != Z_OK) { free(buf); throw std::runtime_error("zlib compression failed"); }
          *dst = buf; *dst_n = bound)
}
int gbt_zlib_decompress(const uint8_t *src, size_t n, size_t max_out, uint8_t **dst, size_t *dst_n) {
  GBT_TRY(
    z_stream s{}; if (inflateInit(&s) != Z_OK) throw std::runtime_error("zlib init failed");
    std::string out; uint8_t chunk[1 << 16];
    s.next_in = const_cast<uint8_t *>(src); s.avail_in = static_cast<uInt>(n);
    int rc;
    do {
      s.next_out = chunk; s.avail_out = sizeof chunk;
      rc = inflate(&s, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END) { inflateEnd(&s); throw std::runtime_error("corrupt compressed data"); }
      out.append(reinterpret_cast<char *>(chunk), sizeof chunk - s.avail_out);
      if (out.size() > max_out) { inflateEnd(&s); throw std::runtime_error("decompressed data larger than expected"); }
    } while (rc != Z_STREAM_END && (s.avail_in > 0 || s.avail_out == 0));
    inflateEnd(&s);
    if (rc != Z_STREAM_END) throw std::runtime_error("compressed data is truncated");
    *dst = static_cast<uint8_t *>(malloc(out.size() > 0 ? out.size() : 1));
    std::memcpy(*dst, out.data(), out.size()); *dst_n = out.size())
}
uint32_t gbt_crc32(uint32_t crc, const uint8_t *data, size_t n) { return static_cast<uint32_t>(::crc32(crc, data, static_cast<uInt>(n))); }

} // extern "C"
