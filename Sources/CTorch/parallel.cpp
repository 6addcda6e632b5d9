// The shim's own parallel loops, on libtorch's OpenMP threads.
//
// `at::parallel_for` is a header template whose parallel region is an `#pragma omp parallel`
// compiled into the caller: the shim is built without OpenMP (clang's runtime would be a second
// thread pool beside libtorch's libgomp), so there the pragma is ignored and every loop ran on
// one thread. This calls libgomp's entry point for a parallel region, the one GCC emits for that
// pragma, so the work runs on the same threads, and thread count, as libtorch's own kernels.
#include <dlfcn.h>
#include <exception>
#include <mutex>
#include "internal.h"

namespace {

using ParallelRegion = void (*)(void (*)(void *), void *, unsigned, unsigned);
using ThreadQuery = int (*)(void);

template <typename F>
F lookup(const char *name) {
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}

struct Job {
  const std::function<void(int64_t, int64_t)> *body;
  int64_t begin, end;
  ThreadQuery thread, threads;
  std::mutex mutex;
  std::exception_ptr error;
};

// One contiguous share of the range per thread.
void run_share(void *data) {
  auto *job = static_cast<Job *>(data);
  const int64_t count = job->threads(), index = job->thread(), size = job->end - job->begin;
  const int64_t first = job->begin + size * index / count, last = job->begin + size * (index + 1) / count;
  if (first >= last) return;
  try {
    (*job->body)(first, last);
  } catch (...) {
    std::lock_guard<std::mutex> lock(job->mutex);
    if (!job->error) job->error = std::current_exception();
  }
}

} // namespace

namespace gbt {

void parallel_for(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)> &body) {
  static const ParallelRegion region = lookup<ParallelRegion>("GOMP_parallel");
  static const ThreadQuery thread = lookup<ThreadQuery>("omp_get_thread_num"), threads = lookup<ThreadQuery>("omp_get_num_threads");
  if (end <= begin) return;
  const int64_t shares = std::min<int64_t>(at::get_num_threads(), (end - begin + std::max<int64_t>(grain, 1) - 1) / std::max<int64_t>(grain, 1));
  if (region == nullptr || thread == nullptr || threads == nullptr || shares <= 1 || at::in_parallel_region()) {
    body(begin, end);
    return;
  }
  Job job{&body, begin, end, thread, threads, {}, nullptr};
  region(run_share, &job, static_cast<unsigned>(shares), 0);
  if (job.error) std::rethrow_exception(job.error);
}

} // namespace gbt
