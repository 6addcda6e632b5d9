// Synthetic sparse features for the toy models of superposition (Superposition/ToyModels.swift):
// each feature present with its own probability p, and then uniform on [0, 1). One uniform u per
// entry decides both (present when u < p; then u / p is uniform on [0, 1)), drawn from a counter-
// based generator (SplitMix64 of seed, draw and position), so the numbers do not depend on the
// thread count and every row is filled in parallel. Written as tensor operations (two rands,
// compare, select over a broadcast probability), sampling took about twice the rest of a step
// in PyTorch 1.13 (4.5 ms against 2.3 ms for the sweep's 14 instances, AMD EPYC, 2 threads).
#include <ATen/Parallel.h>
#include "internal.h"

using namespace gbt;

namespace {
inline uint64_t splitmix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
} // namespace

extern "C" int gbt_sparse_features(gbt_tensor probability, int64_t batch, uint64_t seed, uint64_t draw, int64_t first_instance,
                        gbt_tensor *out) {
  GBT_TRY(
    const at::Tensor p = T(probability).to(at::kFloat).contiguous();
    if (p.dim() != 2) throw std::invalid_argument("feature probabilities must be (instances, features)");
    if (batch < 1) throw std::invalid_argument("the batch size must be positive");
    if (first_instance < 0) throw std::invalid_argument("the first instance must not be negative");
    const int64_t instances = p.size(0), features = p.size(1);
    at::Tensor x = at::empty({instances, batch, features}, p.options());
    const float *probabilities = p.data_ptr<float>();
    float *values = x.data_ptr<float>();
    const uint64_t stream = splitmix64(seed ^ splitmix64(draw));
    gbt::parallel_for(0, instances * batch, 256, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) {
        const float *rowProbability = probabilities + (row / batch) * features;
        for (int64_t f = 0; f < features; ++f) {
          const int64_t position = row * features + f;
          const uint64_t counter = static_cast<uint64_t>(position + first_instance * batch * features);
          const float u = static_cast<float>(splitmix64(stream + counter) >> 40) * 0x1.0p-24f;
          const float q = rowProbability[f];
          values[position] = u < q ? u / q : 0.0f;
        }
      }
    });
    *out = wrap(x))
}
