// Elementwise math, reductions, shapes, linear algebra, NN functions, losses, in-place updates.
#include "internal.h"

using namespace gbt;

namespace {
at::Tensor unary(int op, const at::Tensor &t) {
  switch (op) {
  case GBT_NEG: return at::neg(t);
  case GBT_ABS: return at::abs(t);
  case GBT_EXP: return at::exp(t);
  case GBT_LOG: return at::log(t);
  case GBT_SQRT: return at::sqrt(t);
  case GBT_RSQRT: return at::rsqrt(t);
  case GBT_SIN: return at::sin(t);
  case GBT_COS: return at::cos(t);
  case GBT_TANH: return at::tanh(t);
  case GBT_SIGMOID: return at::sigmoid(t);
  case GBT_RELU: return at::relu(t);
  case GBT_GELU: return at::gelu(t);
  case GBT_SOFTPLUS: return at::softplus(t);
  case GBT_SQUARE: return at::square(t);
  case GBT_SIGN: return at::sign(t);
  case GBT_FLOOR: return at::floor(t);
  case GBT_CEIL: return at::ceil(t);
  case GBT_ROUND: return at::round(t);
  case GBT_LOG1P: return at::log1p(t);
  case GBT_EXPM1: return at::expm1(t);
  case GBT_RECIPROCAL: return at::reciprocal(t);
  case GBT_LOGICAL_NOT: return at::logical_not(t);
  case GBT_ISNAN: return at::isnan(t);
  case GBT_ISFINITE: return at::isfinite(t);
  case GBT_ERF: return at::erf(t);
  case GBT_DETACH: return t.detach();
  case GBT_CLONE: return t.clone();
  case GBT_CONTIGUOUS: return t.contiguous();
  case GBT_ZEROS_LIKE: return at::zeros_like(t);
  case GBT_ONES_LIKE: return at::ones_like(t);
  case GBT_SILU: return at::silu(t);
  case GBT_TO_MKLDNN: return t.to_mkldnn();
  case GBT_TO_DENSE: return t.to_dense();
  }
  throw std::invalid_argument("unknown unary op " + std::to_string(op));
}

at::Tensor binary(int op, const at::Tensor &a, const at::Tensor &b) {
  switch (op) {
  case GBT_ADD: return at::add(a, b);
  case GBT_SUB: return at::sub(a, b);
  case GBT_MUL: return at::mul(a, b);
  case GBT_DIV: return at::div(a, b);
  case GBT_POW: return at::pow(a, b);
  case GBT_MAXIMUM: return at::maximum(a, b);
  case GBT_MINIMUM: return at::minimum(a, b);
  case GBT_EQ: return at::eq(a, b);
  case GBT_NE: return at::ne(a, b);
  case GBT_LT: return at::lt(a, b);
  case GBT_LE: return at::le(a, b);
  case GBT_GT: return at::gt(a, b);
  case GBT_GE: return at::ge(a, b);
  case GBT_LOGICAL_AND: return at::logical_and(a, b);
  case GBT_LOGICAL_OR: return at::logical_or(a, b);
  case GBT_MATMUL: return at::matmul(a, b);
  case GBT_REMAINDER: return at::remainder(a, b);
  case GBT_ATAN2: return at::atan2(a, b);
  case GBT_FLOOR_DIVIDE: return at::floor_divide(a, b);
  }
  throw std::invalid_argument("unknown binary op " + std::to_string(op));
}

at::Tensor scalar_like(const at::Tensor &t, double s) {
  // A 0-dim tensor takes part in type promotion like a Python scalar.
  return at::scalar_tensor(s, at::TensorOptions().dtype(at::kDouble).device(t.device()))
      .to(at::isFloatingType(t.scalar_type()) || std::floor(s) != s ? at::typeMetaToScalarType(at::get_default_dtype()) : at::kLong);
}
} // namespace

extern "C" {

int gbt_unary(int op, gbt_tensor t, gbt_tensor *out) { GBT_TRY(*out = wrap(unary(op, T(t)))) }
int gbt_binary(int op, gbt_tensor a, gbt_tensor b, gbt_tensor *out) { GBT_TRY(*out = wrap(binary(op, T(a), T(b)))) }
int gbt_binary_scalar(int op, gbt_tensor a, double s, int reversed, gbt_tensor *out) {
  GBT_TRY(const at::Tensor &x = T(a); at::Tensor y = scalar_like(x, s);
          *out = wrap(reversed ? binary(op, y, x) : binary(op, x, y)))
}
int gbt_where(gbt_tensor c, gbt_tensor a, gbt_tensor b, gbt_tensor *out) { GBT_TRY(*out = wrap(at::where(T(c), T(a), T(b)))) }
int gbt_clamp(gbt_tensor t, int has_min, double min, int has_max, double max, gbt_tensor *out) {
  GBT_TRY(c10::optional<at::Scalar> lo, hi; if (has_min) lo = min; if (has_max) hi = max;
          if (!lo && !hi) throw std::invalid_argument("clamp needs a minimum or a maximum");
          *out = wrap(at::clamp(T(t), lo, hi)))
}

int gbt_reduce(int op, gbt_tensor t, const int64_t *d, int64_t nd, int keepdim, gbt_tensor *out) {
  GBT_TRY(
    const at::Tensor &x = T(t);
    std::vector<int64_t> all;
    if (nd == 0) for (int64_t i = 0; i < x.dim(); ++i) all.push_back(i);
    at::IntArrayRef ds = nd == 0 ? at::IntArrayRef(all) : dims(d, nd);
    bool k = keepdim != 0;
    at::Tensor r;
    switch (op) {
    case GBT_SUM: r = x.dim() == 0 ? x.clone() : at::sum(x, ds, k); break;
    case GBT_MEAN: r = x.dim() == 0 ? x.clone() : at::mean(x, ds, k); break;
    case GBT_AMAX: r = at::amax(x, ds, k); break;
    case GBT_AMIN: r = at::amin(x, ds, k); break;
    case GBT_PROD:
      r = x;
      { std::vector<int64_t> sorted(ds.begin(), ds.end());
        for (auto &v : sorted) v = at::maybe_wrap_dim(v, x.dim());
        std::sort(sorted.rbegin(), sorted.rend());
        for (auto v : sorted) r = at::prod(r, v, k); }
      break;
    case GBT_STD: r = at::std(x, at::OptionalIntArrayRef(ds), true, k); break;
    case GBT_VAR: r = at::var(x, at::OptionalIntArrayRef(ds), true, k); break;
    case GBT_LOGSUMEXP: r = at::logsumexp(x, ds, k); break;
    default: throw std::invalid_argument("unknown reduction " + std::to_string(op));
    }
    *out = wrap(r))
}
int gbt_argextreme(gbt_tensor t, int is_min, int has_dim, int64_t dim, int keepdim, gbt_tensor *out) {
  GBT_TRY(c10::optional<int64_t> d; if (has_dim) d = dim;
          *out = wrap(is_min ? at::argmin(T(t), d, keepdim != 0) : at::argmax(T(t), d, keepdim != 0)))
}
int gbt_vector_norm(gbt_tensor t, double p, const int64_t *d, int64_t nd, int keepdim, gbt_tensor *out) {
  GBT_TRY(at::OptionalIntArrayRef ds = nd == 0 ? at::OptionalIntArrayRef() : at::OptionalIntArrayRef(dims(d, nd));
          *out = wrap(at::linalg_vector_norm(T(t), p, ds, keepdim != 0)))
}
int gbt_cumsum(gbt_tensor t, int64_t dim, gbt_tensor *out) { GBT_TRY(*out = wrap(at::cumsum(T(t), dim))) }
int gbt_topk(gbt_tensor t, int64_t k, int64_t dim, int largest, gbt_tensor *values, gbt_tensor *indices) {
  GBT_TRY(auto r = at::topk(T(t), k, dim, largest != 0, true); *values = wrap(std::get<0>(r)); *indices = wrap(std::get<1>(r)))
}
int gbt_sort(gbt_tensor t, int64_t dim, int descending, gbt_tensor *values, gbt_tensor *indices) {
  GBT_TRY(auto r = at::sort(T(t), dim, descending != 0); *values = wrap(std::get<0>(r)); *indices = wrap(std::get<1>(r)))
}
int gbt_softmax(gbt_tensor t, int64_t dim, int log, gbt_tensor *out) {
  GBT_TRY(*out = wrap(log ? at::log_softmax(T(t), dim) : at::softmax(T(t), dim)))
}

int gbt_reshape(gbt_tensor t, const int64_t *s, int64_t n, gbt_tensor *out) { GBT_TRY(*out = wrap(at::reshape(T(t), dims(s, n)))) }
int gbt_permute(gbt_tensor t, const int64_t *d, int64_t n, gbt_tensor *out) { GBT_TRY(*out = wrap(T(t).permute(dims(d, n)))) }
int gbt_transpose(gbt_tensor t, int64_t a, int64_t b, gbt_tensor *out) { GBT_TRY(*out = wrap(at::transpose(T(t), a, b))) }
int gbt_expand(gbt_tensor t, const int64_t *s, int64_t n, gbt_tensor *out) { GBT_TRY(*out = wrap(T(t).expand(dims(s, n)))) }
int gbt_repeat(gbt_tensor t, const int64_t *r, int64_t n, gbt_tensor *out) { GBT_TRY(*out = wrap(T(t).repeat(dims(r, n)))) }
int gbt_squeeze(gbt_tensor t, int has_dim, int64_t dim, gbt_tensor *out) {
  GBT_TRY(*out = wrap(has_dim ? at::squeeze(T(t), dim) : at::squeeze(T(t))))
}
int gbt_unsqueeze(gbt_tensor t, int64_t dim, gbt_tensor *out) { GBT_TRY(*out = wrap(at::unsqueeze(T(t), dim))) }
int gbt_flatten(gbt_tensor t, int64_t s, int64_t e, gbt_tensor *out) { GBT_TRY(*out = wrap(at::flatten(T(t), s, e))) }
int gbt_slice(gbt_tensor t, int64_t dim, int64_t start, int64_t end, int64_t step, gbt_tensor *out) {
  GBT_TRY(*out = wrap(at::slice(T(t), dim, start, end, step)))
}
int gbt_select(gbt_tensor t, int64_t dim, int64_t index, gbt_tensor *out) { GBT_TRY(*out = wrap(at::select(T(t), dim, index))) }
int gbt_index_select(gbt_tensor t, int64_t dim, gbt_tensor index, gbt_tensor *out) {
  GBT_TRY(*out = wrap(at::index_select(T(t), dim, T(index))))
}
int gbt_masked_select(gbt_tensor t, gbt_tensor mask, gbt_tensor *out) { GBT_TRY(*out = wrap(at::masked_select(T(t), T(mask)))) }
int gbt_masked_fill(gbt_tensor t, gbt_tensor mask, double value, gbt_tensor *out) {
  GBT_TRY(*out = wrap(at::masked_fill(T(t), T(mask), value)))
}
int gbt_gather(gbt_tensor t, int64_t dim, gbt_tensor index, gbt_tensor *out) { GBT_TRY(*out = wrap(at::gather(T(t), dim, T(index)))) }
int gbt_scatter(gbt_tensor t, int64_t dim, gbt_tensor index, gbt_tensor src, int reduce, gbt_tensor *out) {
  GBT_TRY(*out = wrap(reduce == 1 ? at::scatter_add(T(t), dim, T(index), T(src)) : at::scatter(T(t), dim, T(index), T(src))))
}
static std::vector<at::Tensor> list(const gbt_tensor *ts, int64_t n) {
  if (n < 1) throw std::invalid_argument("needs at least one tensor");
  std::vector<at::Tensor> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(T(ts[i]));
  return v;
}
int gbt_cat(const gbt_tensor *ts, int64_t n, int64_t dim, gbt_tensor *out) { GBT_TRY(*out = wrap(at::cat(list(ts, n), dim))) }
int gbt_stack(const gbt_tensor *ts, int64_t n, int64_t dim, gbt_tensor *out) { GBT_TRY(*out = wrap(at::stack(list(ts, n), dim))) }
int gbt_one_hot(gbt_tensor t, int64_t classes, gbt_tensor *out) { GBT_TRY(*out = wrap(at::one_hot(T(t), classes))) }
int gbt_pad(gbt_tensor t, const int64_t *p, int64_t n, double value, gbt_tensor *out) {
  GBT_TRY(*out = wrap(at::constant_pad_nd(T(t), dims(p, n), value)))
}

int gbt_svd(gbt_tensor t, int full, gbt_tensor *u, gbt_tensor *s, gbt_tensor *vh) {
  GBT_TRY(auto r = at::linalg_svd(T(t), full != 0); *u = wrap(std::get<0>(r)); *s = wrap(std::get<1>(r)); *vh = wrap(std::get<2>(r)))
}
int gbt_svdvals(gbt_tensor t, gbt_tensor *s) {
  GBT_TRY(*s = wrap(at::linalg_svdvals(T(t))))
}
int gbt_lstsq(gbt_tensor a, gbt_tensor b, gbt_tensor *solution) {
  // gelsd (SVD based) handles rank-deficient systems on CPU; the default gelsy is used elsewhere.
  GBT_TRY(const at::Tensor &A = T(a);
          c10::optional<c10::string_view> driver; if (A.device().is_cpu()) driver = "gelsd";
          *solution = wrap(std::get<0>(at::linalg_lstsq(A, T(b), c10::nullopt, driver))))
}

int gbt_linear(gbt_tensor x, gbt_tensor w, gbt_tensor b, gbt_tensor *out) { GBT_TRY(*out = wrap(at::linear(T(x), T(w), opt(b)))) }
int gbt_baddbmm(gbt_tensor input, gbt_tensor a, gbt_tensor b, double alpha, gbt_tensor *out) {
  GBT_TRY(*out = wrap(at::baddbmm(T(input), T(a), T(b), 1.0, alpha)))
}
int gbt_conv2d(gbt_tensor x, gbt_tensor w, gbt_tensor b, const int64_t *stride, const int64_t *padding,
               const int64_t *dilation, int64_t groups, gbt_tensor *out) {
  GBT_TRY(
    if (small_input_convolution_applies(T(x), T(w), dims(dilation, 2), groups)) {
      *out = wrap(small_input_convolution(T(x), T(w), opt(b), dims(stride, 2), dims(padding, 2)));
      return 0;
    }
    *out = wrap(at::conv2d(T(x), T(w), opt(b), dims(stride, 2), dims(padding, 2), dims(dilation, 2), groups)))
}
// A transposed convolution equals a plain one over the input with (stride − 1) zeros
// between its elements, padded by (kernel − 1 − padding), with the kernel flipped and its
// channel axes swapped. libtorch 1.13's own CPU kernel (im2col/col2im) is several times
// slower for the small decoders SENN uses, and slower still with threads; the plain path
// runs through the fast convolution and stays differentiable to any order.
static at::Tensor conv_transpose2d_as_conv(const at::Tensor &x, const at::Tensor &w, const c10::optional<at::Tensor> &b,
                                           at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef output_padding) {
  const int64_t h = x.size(2), wd = x.size(3), kh = w.size(2), kw = w.size(3);
  const int64_t top = kh - 1 - padding[0], left = kw - 1 - padding[1];
  const int64_t spread_h = (h - 1) * stride[0] + 1, spread_w = (wd - 1) * stride[1] + 1;
  at::Tensor spread = at::zeros({x.size(0), x.size(1), spread_h + 2 * top + output_padding[0], spread_w + 2 * left + output_padding[1]},
                                x.options());
  spread.slice(2, top, top + spread_h, stride[0]).slice(3, left, left + spread_w, stride[1]).copy_(x);
  return at::conv2d(spread, w.flip({2, 3}).transpose(0, 1), b);
}

int gbt_conv_transpose2d(gbt_tensor x, gbt_tensor w, gbt_tensor b, const int64_t *stride, const int64_t *padding,
                         const int64_t *output_padding, int64_t groups, gbt_tensor *out) {
  GBT_TRY(
    const at::Tensor &input = T(x);
    const at::Tensor &weight = T(w);
    const bool plain = groups == 1 && input.dim() == 4 && weight.dim() == 4 && input.size(1) == weight.size(0) &&
                       padding[0] <= weight.size(2) - 1 && padding[1] <= weight.size(3) - 1 &&
                       output_padding[0] < stride[0] && output_padding[1] < stride[1];
    *out = wrap(plain ? conv_transpose2d_as_conv(input, weight, opt(b), dims(stride, 2), dims(padding, 2), dims(output_padding, 2))
                      : at::conv_transpose2d(input, weight, opt(b), dims(stride, 2), dims(padding, 2), dims(output_padding, 2), groups)))
}
int gbt_pool2d(int kind, gbt_tensor x, const int64_t *k, const int64_t *s, const int64_t *p, int ceil_mode, gbt_tensor *out) {
  GBT_TRY(
    const bool twoByTwo = kind == 0 && k[0] == 2 && k[1] == 2 && s[0] == 2 && s[1] == 2 && p[0] == 0 && p[1] == 0 &&
                          (ceil_mode == 0 || (T(x).dim() == 4 && T(x).size(2) % 2 == 0 && T(x).size(3) % 2 == 0));
    if (twoByTwo && max_pool_2x2_applies(T(x))) { *out = wrap(max_pool_2x2(T(x))); return 0; }
    *out = wrap(kind == 0 ? at::max_pool2d(T(x), dims(k, 2), dims(s, 2), dims(p, 2), 1, ceil_mode != 0)
                                : at::avg_pool2d(T(x), dims(k, 2), dims(s, 2), dims(p, 2), ceil_mode != 0)))
}
int gbt_adaptive_avg_pool2d(gbt_tensor x, const int64_t *size, gbt_tensor *out) {
  GBT_TRY(*out = wrap(at::adaptive_avg_pool2d(T(x), dims(size, 2))))
}
int gbt_upsample_bilinear2d(gbt_tensor x, const int64_t *size, int align_corners, gbt_tensor *out) {
  GBT_TRY(*out = wrap(at::upsample_bilinear2d(T(x), dims(size, 2), align_corners != 0)))
}
int gbt_upsample_nearest2d(gbt_tensor x, const int64_t *size, gbt_tensor *out) {
  GBT_TRY(*out = wrap(at::upsample_nearest2d(T(x), dims(size, 2))))
}
int gbt_affine_warp(gbt_tensor x, gbt_tensor theta, gbt_tensor *out) {
  GBT_TRY({
    const auto &input = T(x);
    auto grid = at::affine_grid_generator(T(theta), input.sizes(), false);
    *out = wrap(at::grid_sampler(input, grid, 0, 0, false));
  })
}
int gbt_batch_norm(gbt_tensor x, gbt_tensor w, gbt_tensor b, gbt_tensor rm, gbt_tensor rv, int training, double momentum,
                   double eps, gbt_tensor *out) {
  GBT_TRY(*out = wrap(at::batch_norm(T(x), opt(w), opt(b), opt(rm), opt(rv), training != 0, momentum, eps, false)))
}
int gbt_layer_norm(gbt_tensor x, const int64_t *s, int64_t n, gbt_tensor w, gbt_tensor b, double eps, gbt_tensor *out) {
  GBT_TRY(*out = wrap(at::layer_norm(T(x), dims(s, n), opt(w), opt(b), eps)))
}
int gbt_dropout(gbt_tensor x, double p, int training, gbt_tensor *out) { GBT_TRY(*out = wrap(at::dropout(T(x), p, training != 0))) }
int gbt_embedding(gbt_tensor weight, gbt_tensor indices, gbt_tensor *out) { GBT_TRY(*out = wrap(at::embedding(T(weight), T(indices)))) }

int gbt_cross_entropy(gbt_tensor logits, gbt_tensor target, int64_t reduction, double smoothing, gbt_tensor *out) {
  GBT_TRY(*out = wrap(at::cross_entropy_loss(T(logits), T(target), {}, reduction, -100, smoothing)))
}
int gbt_nll_loss(gbt_tensor logp, gbt_tensor target, int64_t reduction, gbt_tensor *out) {
  GBT_TRY(*out = wrap(at::nll_loss_nd(T(logp), T(target), {}, reduction, -100)))
}
int gbt_mse_loss(gbt_tensor x, gbt_tensor y, int64_t reduction, gbt_tensor *out) { GBT_TRY(*out = wrap(at::mse_loss(T(x), T(y), reduction))) }
int gbt_bce_with_logits(gbt_tensor x, gbt_tensor y, int64_t reduction, gbt_tensor *out) {
  GBT_TRY(*out = wrap(at::binary_cross_entropy_with_logits(T(x), T(y), {}, {}, reduction)))
}

int gbt_add_(gbt_tensor t, gbt_tensor other, double alpha) {
  // Integral tensors (counters) take an integral alpha.
  GBT_TRY(at::Tensor &x = T(t);
          at::Scalar a = at::isIntegralType(x.scalar_type(), true) && std::floor(alpha) == alpha ? at::Scalar(static_cast<int64_t>(alpha)) : at::Scalar(alpha);
          x.add_(T(other), a))
}
int gbt_mul_scalar_(gbt_tensor t, double s) { GBT_TRY(T(t).mul_(s)) }
int gbt_addcmul_(gbt_tensor t, gbt_tensor a, gbt_tensor b, double v) { GBT_TRY(T(t).addcmul_(T(a), T(b), v)) }
int gbt_addcdiv_(gbt_tensor t, gbt_tensor a, gbt_tensor b, double v) { GBT_TRY(T(t).addcdiv_(T(a), T(b), v)) }
int gbt_copy_(gbt_tensor dst, gbt_tensor src) { GBT_TRY(T(dst).copy_(T(src))) }
int gbt_fill_(gbt_tensor t, double value) { GBT_TRY(T(t).fill_(value)) }

} // extern "C"

// LSTM on libtorch's fused kernel (at::lstm). params: per layer and direction w_ih, w_hh[, b_ih, b_hh].
// lengths (optional, int64 per sequence): sequences are packed (sorted by length, run, unpacked and put
// back in order), so padding never enters the recurrence, as nn.LSTM with pack_padded_sequence.
int gbt_lstm(gbt_tensor input, gbt_tensor lengths, const gbt_tensor *params, int64_t num_params, int has_biases,
             int64_t num_layers, int bidirectional, int batch_first, int64_t hidden_size, gbt_tensor *output,
             gbt_tensor *hidden, gbt_tensor *cell) {
  GBT_TRY(
    const at::Tensor &x = T(input);
    if (x.dim() != 3) throw std::invalid_argument("an LSTM takes (batch, time, features) or (time, batch, features) input");
    auto weights = list(params, num_params);
    const int64_t directions = bidirectional ? 2 : 1;
    const int64_t batch = batch_first ? x.size(0) : x.size(1);
    auto zeros = at::zeros({num_layers * directions, batch, hidden_size}, x.options());
    std::tuple<at::Tensor, at::Tensor, at::Tensor> result;
    if (lengths == nullptr) {
      result = at::lstm(x, {zeros, zeros}, weights, has_biases != 0, num_layers, 0.0, false, bidirectional != 0, batch_first != 0);
    } else {
      at::Tensor n = T(lengths).to(at::kLong).contiguous();
      if (n.dim() != 1 || n.size(0) != batch) throw std::invalid_argument("lengths must hold one length per sequence");
      const int64_t steps = batch_first ? x.size(1) : x.size(0);
      if (n.min().item<int64_t>() < 1 || n.max().item<int64_t>() > steps) throw std::invalid_argument("every length must be between 1 and the number of time steps");
      auto sorted = n.sort(0, true);
      at::Tensor order = std::get<1>(sorted), sortedLengths = std::get<0>(sorted);
      at::Tensor reordered = x.index_select(batch_first ? 0 : 1, order);
      auto packed = at::_pack_padded_sequence(reordered, sortedLengths, batch_first != 0);
      auto run = at::lstm(std::get<0>(packed), std::get<1>(packed), {zeros, zeros}, weights, has_biases != 0, num_layers, 0.0, false,
                          bidirectional != 0);
      auto padded = at::_pad_packed_sequence(std::get<0>(run), std::get<1>(packed), batch_first != 0, 0.0, steps);
      at::Tensor inverse = at::empty_like(order).scatter_(0, order, at::arange(batch, order.options()));
      result = std::make_tuple(std::get<0>(padded).index_select(batch_first ? 0 : 1, inverse),
                               std::get<1>(run).index_select(1, inverse), std::get<2>(run).index_select(1, inverse));
    }
    *output = wrap(std::get<0>(result));
    *hidden = wrap(std::get<1>(result));
    *cell = wrap(std::get<2>(result)))
}
