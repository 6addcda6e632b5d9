// The two data-parallel kernels of CART growth (Transparent/TreeGrowing.swift): the best split of
// every open node in every feature column, and the stable partition of the columns' sorted
// sample order into the children. Both run one column per task (gbt::parallel_for): libtorch
// 1.13's cumulative sums along a column run at ~10 ns per element, several times a scan's cost,
// which made the same search written as tensor operations ten times slower than scikit-learn.
#include <cmath>
#include <limits>
#include <vector>
#include "internal.h"

using namespace gbt;

namespace {

void require(bool ok, const char *message) {
  if (!ok) throw std::invalid_argument(message);
}

// scikit-learn's proxy: −n_right·impurity_right − n_left·impurity_left, classes summed in order.
double proxy(const double *left, const double *total, int64_t classes, double n_left, double n_right, bool entropy) {
  double impurity_left = 0, impurity_right = 0;
  if (entropy) {
    const double log2 = std::log(2.0);
    for (int64_t c = 0; c < classes; ++c) {
      double l = left[c], r = total[c] - left[c];
      if (l > 0) { l /= n_left; impurity_left -= l * (std::log(l) / log2); }
      if (r > 0) { r /= n_right; impurity_right -= r * (std::log(r) / log2); }
    }
  } else {
    double squared_left = 0, squared_right = 0;
    for (int64_t c = 0; c < classes; ++c) {
      double l = left[c], r = total[c] - left[c];
      squared_left += l * l;
      squared_right += r * r;
    }
    impurity_left = 1.0 - squared_left / (n_left * n_left);
    impurity_right = 1.0 - squared_right / (n_right * n_right);
  }
  return -n_right * impurity_right - n_left * impurity_left;
}

} // namespace

extern "C" int gbt_tree_best_splits(gbt_tensor order, gbt_tensor features, gbt_tensor labels, gbt_tensor segments,
                                    gbt_tensor class_totals, int64_t criterion, int64_t min_leaf,
                                    gbt_tensor *scores, gbt_tensor *positions) {
  GBT_TRY(
    const at::Tensor o = T(order).contiguous(), x = T(features).contiguous(), y = T(labels).contiguous();
    const at::Tensor s = T(segments).contiguous(), totals = T(class_totals).contiguous();
    require(o.dim() == 2 && o.scalar_type() == at::kLong, "order must be (features, positions) int64");
    require(x.dim() == 2 && x.scalar_type() == at::kFloat && x.size(0) == o.size(0), "features must be (features, samples) float32");
    require(y.dim() == 1 && y.scalar_type() == at::kLong && y.size(0) == x.size(1), "labels must be (samples) int64");
    require(s.dim() == 2 && s.size(1) == 2 && s.scalar_type() == at::kLong, "segments must be (nodes, 2) int64");
    require(totals.dim() == 2 && totals.size(0) == s.size(0) && totals.scalar_type() == at::kDouble, "class totals must be (nodes, classes) float64");
    const int64_t width = o.size(0), m = o.size(1), samples = x.size(1), nodes = s.size(0), classes = totals.size(1);
    at::Tensor best = at::full({nodes, width}, -std::numeric_limits<double>::infinity(), at::kDouble);
    at::Tensor where = at::full({nodes, width}, -1, at::kLong);
    const int64_t *op = o.data_ptr<int64_t>(), *yp = y.data_ptr<int64_t>(), *sp = s.data_ptr<int64_t>();
    const float *xp = x.data_ptr<float>();
    const double *tp = totals.data_ptr<double>();
    double *bp = best.data_ptr<double>();
    int64_t *wp = where.data_ptr<int64_t>();
    const bool entropy = criterion == 1;
    for (int64_t i = 0; i < samples; ++i) require(yp[i] >= 0 && yp[i] < classes, "a label lies outside the class totals");
    for (int64_t k = 0; k < nodes; ++k) {
      require(sp[2 * k] >= 0 && sp[2 * k] <= sp[2 * k + 1] && sp[2 * k + 1] <= m, "a segment lies outside the order");
    }
    gbt::parallel_for(0, width, 8, [&](int64_t begin, int64_t end) {
      std::vector<double> left(classes);
      for (int64_t f = begin; f < end; ++f) {
        const int64_t *column = op + f * m;
        const float *values = xp + f * samples;
        for (int64_t k = 0; k < nodes; ++k) {
          const int64_t start = sp[2 * k], stop = sp[2 * k + 1];
          const double n = double(stop - start);
          std::fill(left.begin(), left.end(), 0.0);
          double top = -std::numeric_limits<double>::infinity();
          int64_t at = -1;
          for (int64_t p = start; p + 1 < stop; ++p) {
            left[yp[column[p]]] += 1;
            const double n_left = double(p - start + 1), n_right = n - n_left;
            if (n_left < min_leaf || n_right < min_leaf) continue;
            // scikit-learn's test, in float32: the next value must exceed this one by 1e-7.
            if (values[column[p + 1]] <= values[column[p]] + 1e-7f) continue;
            const double score = proxy(left.data(), tp + k * classes, classes, n_left, n_right, entropy);
            if (score > top) { top = score; at = p; }
          }
          bp[k * width + f] = top;
          wp[k * width + f] = at;
        }
      }
    });
    *scores = wrap(best);
    *positions = wrap(where))
}

extern "C" int gbt_tree_partition(gbt_tensor order, gbt_tensor goes_left, gbt_tensor segments, gbt_tensor targets,
                                  int64_t next_positions, gbt_tensor *out) {
  GBT_TRY(
    const at::Tensor o = T(order).contiguous(), side = T(goes_left).contiguous();
    const at::Tensor s = T(segments).contiguous(), t = T(targets).contiguous();
    require(o.dim() == 2 && o.scalar_type() == at::kLong, "order must be (features, positions) int64");
    require(side.dim() == 1 && side.scalar_type() == at::kBool, "goes_left must be (samples) bool");
    require(s.dim() == 2 && s.size(1) == 2 && t.sizes() == s.sizes() && s.scalar_type() == at::kLong && t.scalar_type() == at::kLong,
            "segments and targets must be (nodes, 2) int64");
    const int64_t width = o.size(0), m = o.size(1), nodes = s.size(0);
    at::Tensor next = at::empty({width, next_positions}, at::kLong);
    const int64_t *op = o.data_ptr<int64_t>(), *sp = s.data_ptr<int64_t>(), *tp = t.data_ptr<int64_t>();
    const bool *lp = side.data_ptr<bool>();
    int64_t *np = next.data_ptr<int64_t>();
    for (int64_t k = 0; k < nodes; ++k) {
      require(sp[2 * k] >= 0 && sp[2 * k] <= sp[2 * k + 1] && sp[2 * k + 1] <= m, "a segment lies outside the order");
    }
    gbt::parallel_for(0, width, 8, [&](int64_t begin, int64_t end) {
      for (int64_t f = begin; f < end; ++f) {
        const int64_t *column = op + f * m;
        int64_t *into = np + f * next_positions;
        for (int64_t k = 0; k < nodes; ++k) {
          int64_t l = tp[2 * k], r = tp[2 * k + 1];
          for (int64_t p = sp[2 * k]; p < sp[2 * k + 1]; ++p) {
            const int64_t sample = column[p];
            if (lp[sample]) { if (l >= 0) into[l++] = sample; }
            else if (r >= 0) { into[r++] = sample; }
          }
        }
      }
    });
    *out = wrap(next))
}
