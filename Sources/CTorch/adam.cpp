// One pass of Adam (Kingma & Ba 2015) over a parameter, its gradient and both moments, in the
// order torch.optim.Adam's single-tensor path applies its eight tensor operations (see
// Optimizers.swift); one read and write of each array instead of eight.
#include "internal.h"
#include <cmath>

namespace {

// Decay: 0 none, 1 added to the gradient (Adam's L2), 2 applied to the weights (AdamW).
template <typename T, int Decay>
void adam_loop(T *__restrict p, const T *__restrict g, T *__restrict m, T *__restrict v, int64_t n, T b1, T b2, T one_minus_b1,
               T one_minus_b2, T correction2_root, T step_size, T e, T decay, T shrink) {
  for (int64_t i = 0; i < n; ++i) {
    T grad = g[i];
    if (Decay == 1) grad = grad + p[i] * decay;
    T weight = Decay == 2 ? p[i] * shrink : p[i];
    const T first = m[i] * b1 + grad * one_minus_b1;
    const T second = v[i] * b2 + one_minus_b2 * (grad * grad);
    m[i] = first;
    v[i] = second;
    p[i] = weight + step_size * (first / (std::sqrt(second) / correction2_root + e));
  }
}

template <typename T>
void adam_step(T *p, const T *g, T *m, T *v, int64_t n, double lr, double beta1, double beta2, double eps, double weight_decay,
               bool decoupled, int64_t step) {
  const T b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2);
  const T one_minus_b1 = static_cast<T>(1 - beta1), one_minus_b2 = static_cast<T>(1 - beta2);
  const T correction2_root = static_cast<T>(std::sqrt(1 - std::pow(beta2, static_cast<double>(step))));
  const T step_size = static_cast<T>(-lr / (1 - std::pow(beta1, static_cast<double>(step))));
  const T e = static_cast<T>(eps), decay = static_cast<T>(weight_decay), shrink = static_cast<T>(1 - lr * weight_decay);
  const int mode = weight_decay == 0 ? 0 : decoupled ? 2 : 1;
  gbt::parallel_for(0, n, 65536, [&](int64_t begin, int64_t end) {
    auto run = [&](auto loop) {
      loop(p + begin, g + begin, m + begin, v + begin, end - begin, b1, b2, one_minus_b1, one_minus_b2, correction2_root, step_size, e, decay, shrink);
    };
    if (mode == 0) run(adam_loop<T, 0>); else if (mode == 1) run(adam_loop<T, 1>); else run(adam_loop<T, 2>);
  });
}

} // namespace

extern "C" int gbt_adam_step(gbt_tensor param, gbt_tensor grad, gbt_tensor first_moment, gbt_tensor second_moment, double lr,
                             double beta1, double beta2, double eps, double weight_decay, int decoupled, int64_t step, int *applied) {
  GBT_TRY({
    at::Tensor &p = gbt::T(param), &m = gbt::T(first_moment), &v = gbt::T(second_moment);
    const at::Tensor &g = gbt::T(grad);
    const auto type = p.scalar_type();
    *applied = 0;
    for (const at::Tensor *t : std::initializer_list<const at::Tensor *>{&p, &g, &m, &v}) {
      if (!t->device().is_cpu() || !t->is_contiguous() || t->scalar_type() != type || t->sizes() != p.sizes() || t->is_sparse()) return 0;
    }
    if (type != at::kFloat && type != at::kDouble) return 0;
    at::NoGradGuard no_grad;
    AT_DISPATCH_FLOATING_TYPES(type, "gbt_adam_step", [&] {
      adam_step<scalar_t>(p.data_ptr<scalar_t>(), g.data_ptr<scalar_t>(), m.data_ptr<scalar_t>(), v.data_ptr<scalar_t>(), p.numel(), lr, beta1,
                          beta2, eps, weight_decay, decoupled != 0, step);
    });
    // In-place writes through data pointers: tell autograd's version counter, as in-place ops do.
    p.unsafeGetTensorImpl()->bump_version();
    *applied = 1;
  })
}
