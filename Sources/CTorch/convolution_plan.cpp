// Inference plans for convolutional networks, run on oneDNN directly.
//
// libtorch's oneDNN path always asks for direct convolutions. Calling oneDNN
// ourselves lets 3x3 stride-1 convolutions use its Winograd kernels (about
// twice as fast on AVX-512), fold eval-mode batch norm into the weights once,
// and fuse the residual sum and ReLU into the convolution. Activations stay in
// oneDNN's blocked layout from the first convolution to the plan's output.
#include "internal.h"

#ifdef GBT_HAS_DNNL
#include <dnnl.hpp>
#include <cstdlib>
#include <cstring>
#include <list>
#include <map>
#include <mutex>

using namespace gbt;

namespace {

using dnnl::memory;
using Tag = memory::format_tag;

dnnl::engine &cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

struct ConvolutionOp {
  int input, output, residual; // residual: value added before the ReLU, or -1
  at::Tensor weight, bias, bn_weight, bn_bias, bn_mean, bn_var;
  double eps;
  int64_t stride, padding;
  bool relu;
};

struct MaxPoolOp {
  int input, output;
  int64_t kernel, stride, padding;
};

struct Op {
  bool is_convolution;
  ConvolutionOp convolution;
  MaxPoolOp pool;
  int input() const { return is_convolution ? convolution.input : pool.input; }
};

// Everything that depends on the input's shape: primitives, reordered weights, activation buffers.
struct ShapePlan {
  std::vector<memory::desc> descs;          // per value
  std::vector<int> buffer_of;               // per value: index into buffers, -1 for the user's input
  std::vector<std::unique_ptr<void, decltype(&std::free)>> buffers; // 64-byte aligned, shared between values whose lifetimes do not overlap
  std::vector<dnnl::primitive> primitives;  // per op
  std::vector<memory> weights, biases;      // per op (empty for pooling)
  std::vector<bool> copies_residual;        // per op: the residual must be copied into the output first
  std::vector<std::string> implementations; // per op, oneDNN's kernel name
};

std::vector<int64_t> shape_of(const memory::desc &d) { return d.dims(); }

} // namespace

struct gbt_conv_plan_s {
  std::mutex mutex;
  std::vector<Op> ops;
  int values = 1; // value 0 is the input
  std::vector<int64_t> versions;
  std::list<std::pair<std::vector<int64_t>, std::shared_ptr<ShapePlan>>> shapes; // most recent first

  std::vector<const at::Tensor *> parameters() const {
    std::vector<const at::Tensor *> all;
    for (auto &op : ops) {
      if (!op.is_convolution) continue;
      for (auto *t : {&op.convolution.weight, &op.convolution.bias, &op.convolution.bn_weight, &op.convolution.bn_bias,
                      &op.convolution.bn_mean, &op.convolution.bn_var})
        if (t->defined()) all.push_back(t);
    }
    return all;
  }

  std::vector<int64_t> current_versions() const {
    std::vector<int64_t> v;
    for (auto *t : parameters()) v.push_back(static_cast<int64_t>(t->_version()));
    return v;
  }

  // The convolution's weight and bias with the batch norm folded in (computed in double).
  static std::pair<at::Tensor, at::Tensor> folded(const ConvolutionOp &c) {
    auto w = c.weight.detach().to(at::kDouble);
    auto b = c.bias.defined() ? c.bias.detach().to(at::kDouble) : at::zeros({w.size(0)}, w.options());
    if (c.bn_weight.defined()) {
      auto scale = c.bn_weight.detach().to(at::kDouble) * at::rsqrt(c.bn_var.detach().to(at::kDouble) + c.eps);
      w = w * scale.reshape({-1, 1, 1, 1});
      b = (b - c.bn_mean.detach().to(at::kDouble)) * scale + c.bn_bias.detach().to(at::kDouble);
    }
    return {w.to(at::kFloat).contiguous(), b.to(at::kFloat).contiguous()};
  }

  std::shared_ptr<ShapePlan> build(const std::vector<int64_t> &input_shape) const {
    auto &engine = cpu_engine();
    dnnl::stream stream(engine);
    auto plan = std::make_shared<ShapePlan>();
    const auto f32 = memory::data_type::f32;
    plan->descs.resize(values);
    plan->buffer_of.assign(values, -1);
    memory::dims input_dims(input_shape.begin(), input_shape.end());
    plan->descs[0] = memory::desc(input_dims, f32, Tag::nchw);

    // Last op reading each value; the plan's outputs are read after the last op.
    std::vector<int> last_use(values, -1);
    for (size_t i = 0; i < ops.size(); ++i) {
      last_use[ops[i].input()] = static_cast<int>(i);
      if (ops[i].is_convolution && ops[i].convolution.residual >= 0) last_use[ops[i].convolution.residual] = static_cast<int>(i);
    }
    std::vector<size_t> buffer_sizes;
    std::vector<bool> buffer_free;
    auto take_buffer = [&](size_t bytes) {
      int best = -1;
      for (size_t b = 0; b < buffer_sizes.size(); ++b)
        if (buffer_free[b] && buffer_sizes[b] >= bytes && (best < 0 || buffer_sizes[b] < buffer_sizes[best])) best = static_cast<int>(b);
      if (best < 0) {
        buffer_sizes.push_back(bytes);
        buffer_free.push_back(false);
        return static_cast<int>(buffer_sizes.size() - 1);
      }
      buffer_free[best] = false;
      return best;
    };
    std::vector<int> buffer_users(0);
    auto retain = [&](int buffer) {
      if (buffer >= static_cast<int>(buffer_users.size())) buffer_users.resize(buffer + 1, 0);
      buffer_users[buffer]++;
    };
    auto release = [&](int value) {
      int b = plan->buffer_of[value];
      if (b >= 0 && --buffer_users[b] == 0) buffer_free[b] = true;
    };

    for (size_t i = 0; i < ops.size(); ++i) {
      const Op &op = ops[i];
      const memory::desc &src = plan->descs[op.input()];
      auto in = shape_of(src);
      if (in.size() != 4) throw std::invalid_argument("convolution plan: inputs must be (N, C, H, W)");
      int output;
      if (op.is_convolution) {
        const auto &c = op.convolution;
        output = c.output;
        auto w = c.weight.sizes();
        if (w[1] != in[1])
          throw std::invalid_argument("convolution plan: the input has " + std::to_string(in[1]) + " channels, the convolution expects " + std::to_string(w[1]));
        int64_t kh = w[2], kw = w[3];
        int64_t oh = (in[2] + 2 * c.padding - kh) / c.stride + 1, ow = (in[3] + 2 * c.padding - kw) / c.stride + 1;
        if (oh <= 0 || ow <= 0) throw std::invalid_argument("convolution plan: the input is smaller than the convolution's kernel");
        memory::desc dst({in[0], w[0], oh, ow}, f32, Tag::nChw16c);
        memory::desc weights_any({w[0], w[1], kh, kw}, f32, Tag::any);
        memory::desc bias_desc({w[0]}, f32, Tag::x);
        dnnl::post_ops post;
        if (c.residual >= 0) post.append_sum(1.f);
        if (c.relu) post.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
        dnnl::primitive_attr attr;
        attr.set_post_ops(post);
        auto describe = [&](dnnl::algorithm algorithm) {
          return dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, algorithm, src, weights_any, bias_desc, dst,
                                                 {c.stride, c.stride}, {c.padding, c.padding}, {c.padding, c.padding});
        };
        dnnl::convolution_forward::primitive_desc pd;
        bool winograd = false;
        if (kh == 3 && kw == 3 && c.stride == 1) {
          try {
            pd = dnnl::convolution_forward::primitive_desc(describe(dnnl::algorithm::convolution_winograd), attr, engine);
            winograd = true;
          } catch (const dnnl::error &) {
          }
        }
        if (!winograd) pd = dnnl::convolution_forward::primitive_desc(describe(dnnl::algorithm::convolution_direct), attr, engine);
        plan->implementations.push_back(pd.impl_info_str());
        auto [wf, bf] = folded(c);
        memory user_weights({{w[0], w[1], kh, kw}, f32, Tag::oihw}, engine, wf.data_ptr<float>());
        memory weights(pd.weights_desc(), engine);
        dnnl::reorder(user_weights, weights).execute(stream, user_weights, weights);
        memory bias(bias_desc, engine);
        std::memcpy(bias.get_data_handle(), bf.data_ptr<float>(), sizeof(float) * w[0]);
        stream.wait();
        plan->weights.push_back(weights);
        plan->biases.push_back(bias);
        plan->primitives.push_back(dnnl::convolution_forward(pd));
        plan->descs[output] = pd.dst_desc();
        bool in_place = c.residual >= 0 && last_use[c.residual] == static_cast<int>(i) && plan->buffer_of[c.residual] >= 0 &&
                        plan->descs[c.residual] == pd.dst_desc() && c.residual != c.input;
        plan->copies_residual.push_back(c.residual >= 0 && !in_place);
        if (in_place) {
          plan->buffer_of[output] = plan->buffer_of[c.residual];
          retain(plan->buffer_of[output]);
        }
      } else {
        const auto &p = op.pool;
        output = p.output;
        int64_t oh = (in[2] + 2 * p.padding - p.kernel) / p.stride + 1, ow = (in[3] + 2 * p.padding - p.kernel) / p.stride + 1;
        if (oh <= 0 || ow <= 0) throw std::invalid_argument("convolution plan: the input is smaller than the pooling window");
        memory::desc dst({in[0], in[1], oh, ow}, f32, Tag::nChw16c);
        auto d = dnnl::pooling_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, src, dst,
                                             {p.stride, p.stride}, {p.kernel, p.kernel}, {p.padding, p.padding}, {p.padding, p.padding});
        dnnl::pooling_forward::primitive_desc pd(d, engine);
        plan->implementations.push_back(pd.impl_info_str());
        plan->weights.emplace_back();
        plan->biases.emplace_back();
        plan->copies_residual.push_back(false);
        plan->primitives.push_back(dnnl::pooling_forward(pd));
        plan->descs[output] = pd.dst_desc();
      }
      if (plan->buffer_of[output] < 0) {
        plan->buffer_of[output] = take_buffer(plan->descs[output].get_size());
        retain(plan->buffer_of[output]);
      }
      // Buffers of values read for the last time here are free for later ops.
      for (int v = 0; v < values; ++v)
        if (last_use[v] == static_cast<int>(i)) release(v);
    }
    for (size_t size : buffer_sizes) {
      void *p = std::aligned_alloc(64, (size + 63) / 64 * 64);
      if (p == nullptr) throw std::bad_alloc();
      plan->buffers.emplace_back(p, &std::free);
    }
    return plan;
  }

  std::shared_ptr<ShapePlan> shape_plan(const std::vector<int64_t> &shape) {
    auto now = current_versions();
    if (now != versions) {
      shapes.clear();
      versions = now;
    }
    for (auto it = shapes.begin(); it != shapes.end(); ++it)
      if (it->first == shape) {
        shapes.splice(shapes.begin(), shapes, it);
        return shapes.front().second;
      }
    shapes.emplace_front(shape, build(shape));
    if (shapes.size() > 4) shapes.pop_back();
    return shapes.front().second;
  }

  // The last op's output, as a strided tensor. Earlier values' buffers may be reused, so only the last is returned.
  at::Tensor run(const at::Tensor &input_tensor) {
    if (ops.empty()) throw std::invalid_argument("convolution plan: no operations");
    if (input_tensor.scalar_type() != at::kFloat || !input_tensor.device().is_cpu() || input_tensor.dim() != 4 || input_tensor.is_mkldnn())
      throw std::invalid_argument("convolution plan: the input must be a float32 CPU tensor (N, C, H, W)");
    auto input = input_tensor.contiguous();
    std::lock_guard<std::mutex> lock(mutex);
    auto plan = shape_plan(input.sizes().vec());
    const int output = values - 1;
    auto &engine = cpu_engine();
    dnnl::stream stream(engine);
    std::vector<memory> value(values);
    value[0] = memory(plan->descs[0], engine, input.data_ptr<float>());
    auto memory_of = [&](int v) -> memory & {
      if (!value[v]) value[v] = memory(plan->descs[v], engine, plan->buffers[plan->buffer_of[v]].get());
      return value[v];
    };
    // Later ops may reuse an earlier value's buffer, so each value's memory is made when it is written.
    for (size_t i = 0; i < ops.size(); ++i) {
      const Op &op = ops[i];
      int out = op.is_convolution ? op.convolution.output : op.pool.output;
      value[out] = memory();
      memory &dst = memory_of(out);
      if (op.is_convolution) {
        if (plan->copies_residual[i]) dnnl::reorder(value[op.convolution.residual], dst).execute(stream, value[op.convolution.residual], dst);
        plan->primitives[i].execute(stream, {{DNNL_ARG_SRC, value[op.input()]},
                                             {DNNL_ARG_WEIGHTS, plan->weights[i]},
                                             {DNNL_ARG_BIAS, plan->biases[i]},
                                             {DNNL_ARG_DST, dst}});
      } else {
        plan->primitives[i].execute(stream, {{DNNL_ARG_SRC, value[op.input()]}, {DNNL_ARG_DST, dst}});
      }
    }
    auto dims = plan->descs[output].dims();
    auto result = at::empty(at::IntArrayRef(dims.data(), dims.size()), at::kFloat);
    memory user(memory::desc(dims, memory::data_type::f32, Tag::nchw), engine, result.data_ptr<float>());
    dnnl::reorder(value[output], user).execute(stream, value[output], user);
    stream.wait();
    return result;
  }
};

namespace {
at::Tensor defined_or_empty(gbt_tensor t) { return t == nullptr ? at::Tensor() : T(t); }

void check_value(gbt_conv_plan plan, int v, const char *what) {
  if (v < 0 || v >= plan->values) throw std::invalid_argument(std::string("convolution plan: unknown ") + what + " value " + std::to_string(v));
}
} // namespace

extern "C" {

int gbt_conv_plan_available(void) { return 1; }

int gbt_conv_plan_new(gbt_conv_plan *out) { GBT_TRY(*out = new gbt_conv_plan_s()) }

void gbt_conv_plan_free(gbt_conv_plan plan) { delete plan; }

int gbt_conv_plan_add_convolution(gbt_conv_plan plan, int input, gbt_tensor weight, gbt_tensor bias, gbt_tensor bn_weight,
                                  gbt_tensor bn_bias, gbt_tensor bn_mean, gbt_tensor bn_var, double eps, int64_t stride,
                                  int64_t padding, int residual, int relu, int *out_value) {
  GBT_TRY({
    std::lock_guard<std::mutex> lock(plan->mutex);
    check_value(plan, input, "input");
    if (residual >= 0) check_value(plan, residual, "residual");
    ConvolutionOp c{input, plan->values, residual, T(weight), defined_or_empty(bias), defined_or_empty(bn_weight),
                    defined_or_empty(bn_bias), defined_or_empty(bn_mean), defined_or_empty(bn_var), eps, stride, padding, relu != 0};
    if (c.weight.dim() != 4 || c.weight.size(2) != c.weight.size(3))
      throw std::invalid_argument("convolution plan: weights must be (out, in, k, k)");
    if (c.bn_weight.defined() != c.bn_var.defined() || c.bn_weight.defined() != c.bn_mean.defined() || c.bn_weight.defined() != c.bn_bias.defined())
      throw std::invalid_argument("convolution plan: batch norm needs weight, bias, running mean and running variance");
    if (stride < 1 || padding < 0) throw std::invalid_argument("convolution plan: stride must be positive and padding non-negative");
    plan->ops.push_back(Op{true, c, {}});
    plan->shapes.clear();
    *out_value = plan->values++;
  })
}

int gbt_conv_plan_add_max_pool(gbt_conv_plan plan, int input, int64_t kernel, int64_t stride, int64_t padding, int *out_value) {
  GBT_TRY({
    std::lock_guard<std::mutex> lock(plan->mutex);
    check_value(plan, input, "input");
    if (kernel < 1 || stride < 1 || padding < 0 || 2 * padding > kernel)
      throw std::invalid_argument("convolution plan: max pooling needs kernel, stride ≥ 1 and padding at most half the kernel");
    plan->ops.push_back(Op{false, {}, MaxPoolOp{input, plan->values, kernel, stride, padding}});
    plan->shapes.clear();
    *out_value = plan->values++;
  })
}

int gbt_conv_plan_run(gbt_conv_plan plan, gbt_tensor input, gbt_tensor *out) {
  GBT_TRY(*out = wrap(plan->run(T(input))))
}

int gbt_conv_plan_kernels(gbt_conv_plan plan, gbt_tensor input, char **out) {
  GBT_TRY({
    std::lock_guard<std::mutex> lock(plan->mutex);
    auto shape_plan = plan->shape_plan(T(input).sizes().vec());
    std::string joined;
    for (auto &name : shape_plan->implementations) joined += (joined.empty() ? "" : "\n") + name;
    *out = strdup(joined.c_str());
  })
}

} // extern "C"

#else // no oneDNN headers at build time: the plan reports itself unavailable

extern "C" {
int gbt_conv_plan_available(void) { return 0; }
int gbt_conv_plan_new(gbt_conv_plan *) {
  gbt::set_error("this build of Glassbox has no oneDNN convolution plans (libdnnl-dev was missing at build time)");
  return 1;
}
void gbt_conv_plan_free(gbt_conv_plan) {}
int gbt_conv_plan_add_convolution(gbt_conv_plan, int, gbt_tensor, gbt_tensor, gbt_tensor, gbt_tensor, gbt_tensor, gbt_tensor, double,
                                  int64_t, int64_t, int, int, int *) { return gbt_conv_plan_new(nullptr); }
int gbt_conv_plan_add_max_pool(gbt_conv_plan, int, int64_t, int64_t, int64_t, int *) { return gbt_conv_plan_new(nullptr); }
int gbt_conv_plan_run(gbt_conv_plan, gbt_tensor, gbt_tensor *) { return gbt_conv_plan_new(nullptr); }
int gbt_conv_plan_kernels(gbt_conv_plan, gbt_tensor, char **) { return gbt_conv_plan_new(nullptr); }
}

#endif
