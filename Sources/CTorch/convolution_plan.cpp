// Convolutional networks run on oneDNN directly, as a fixed plan of operations.
//
// libtorch's oneDNN path always asks for direct convolutions. Calling oneDNN
// ourselves lets 3x3 stride-1 convolutions use its Winograd kernels (about
// twice as fast on AVX-512, forward and backward), fold eval-mode batch norm
// into the weights once, and fuse the residual sum and ReLU into the
// convolution. Activations stay in oneDNN's blocked layout throughout.
//
// A plan runs for inference or, when its input requires a gradient, records a
// node in libtorch's autograd graph whose backward gives the input gradient
// (first order, input only: no gradients reach the weights).
#include "internal.h"

#ifdef GBT_HAS_DNNL
#include <dnnl.hpp>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <list>
#include <unordered_map>
#include <mutex>

using namespace gbt;

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
const auto f32 = memory::data_type::f32;

dnnl::engine &cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// Channel blocks of the activations: 16 for AVX-512 kernels, 8 for AVX2 and older.
Tag blocked_layout() {
  const auto avx512 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core);
  return (static_cast<unsigned>(dnnl::get_effective_cpu_isa()) & avx512) == avx512 ? Tag::nChw16c : Tag::nChw8c;
}
int64_t channel_block() { return blocked_layout() == Tag::nChw16c ? 16 : 8; }

using Buffer = std::unique_ptr<void, decltype(&std::free)>;
Buffer allocate(size_t bytes) {
  void *p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (p == nullptr) throw std::bad_alloc();
  return Buffer(p, &std::free);
}

enum class Kind { convolution, max_pool };

struct Op {
  Kind kind;
  int input, output, residual; // residual: value added before the ReLU, or -1
  at::Tensor weight, bias, bn_weight, bn_bias, bn_mean, bn_var;
  double eps;
  int64_t kernel, stride, padding;
  bool relu; // convolutions: a ReLU after the sum; max pools: a ReLU after the pool
  bool saves_output() const { return kind == Kind::convolution && relu; } // a max pool's codes carry its ReLU
};

// Everything that depends on the input's shape and on whether gradients are wanted.
struct ShapePlan {
  bool input_reordered;                     // value 0 is a blocked copy of the caller's (N, C, H, W) input
  std::vector<memory::desc> descs;          // per value
  std::vector<int> buffer_of;               // per value; -1: the caller's input
  std::vector<size_t> buffer_sizes;
  std::vector<Buffer> buffers;              // inference only (recording runs own theirs)
  std::vector<dnnl::primitive> forward;     // per op
  std::vector<memory> weights, biases;      // per op (empty unless a convolution)
  std::vector<bool> copies_residual;        // per op: the residual is copied into the output first
  std::vector<std::shared_ptr<BlockedMaxPool>> pools; // per op (empty unless a max pool)
  std::vector<dnnl::primitive> backward;    // per op: backward data (recording)
  std::vector<memory> backward_weights;     // per op (recording)
  std::vector<dnnl::primitive> relu_backward; // per op that saves its output (recording)
  std::vector<dnnl::primitive> add;         // per value: in-place sum of two gradients (recording)
  std::vector<std::string> implementations; // per op, oneDNN's kernel name
  std::vector<std::shared_ptr<WinogradGemm>> gemm_forward, gemm_backward; // per op: Winograd over sgemm instead of a primitive
};

// GLASSBOX_WINOGRAD as read once: the choice for new plans (automatic when unset or not understood)
// and whether a value that was set was understood.
struct WinogradSetting {
  int choice = GBT_WINOGRAD_AUTOMATIC;
  bool understood = true;
};
const WinogradSetting &winograd_setting() {
  static const WinogradSetting setting = [] {
    const char *v = std::getenv("GLASSBOX_WINOGRAD");
    const std::string s(v ? v : "");
    WinogradSetting read;
    if (s == "gemm") read.choice = GBT_WINOGRAD_GEMM;
    else if (s == "onednn") read.choice = GBT_WINOGRAD_ONEDNN;
    else if (s == "off") read.choice = GBT_WINOGRAD_OFF;
    else read.understood = s.empty() || s == "auto";
    return read;
  }();
  return setting;
}

// Winograd over sgemm pays for its 4× larger transformed filters only with enough tiles to reuse them
// (ResNet-18's shapes on an Intel Xeon with oneDNN capped at AVX2: from 16 tiles of 4×4 it beat oneDNN's
// direct kernels; at 4 tiles a prototype ran at 0.3× their speed).
constexpr int64_t least_gemm_winograd_tiles = 16;
// Where oneDNN has Winograd kernels (AVX-512), its backward pass on small maps is the slow part: on
// an Intel Xeon with AVX-512, ResNet-18's last stage at 4×224² (7×7 maps, 16 tiles) ran forward and
// backward in 10 ms over sgemm against 16 ms on oneDNN's; elsewhere the two were within noise.
constexpr int64_t most_gemm_winograd_tiles_over_onednn = 16;

// A recording run's activations, kept for the backward pass.
struct Activations {
  std::vector<Op> ops; // a copy: the backward pass may outlive the plan
  std::shared_ptr<ShapePlan> plan;
  std::vector<Buffer> buffers;
  std::vector<memory> values;
  std::vector<Buffer> won; // per op: a max pool's winning positions
};

} // namespace

struct gbt_conv_plan_s {
  std::mutex mutex;
  std::vector<Op> ops;
  int values = 1; // value 0 is the input
  int winograd = winograd_setting().choice;
  std::vector<int64_t> versions;
  std::list<std::pair<std::vector<int64_t>, std::shared_ptr<ShapePlan>>> shapes; // most recent first

  std::vector<int64_t> current_versions() const {
    std::vector<int64_t> v;
    for (auto &op : ops)
      for (auto *t : {&op.weight, &op.bias, &op.bn_weight, &op.bn_bias, &op.bn_mean, &op.bn_var})
        if (t->defined()) v.push_back(static_cast<int64_t>(t->_version()));
    return v;
  }

  // The convolution's weight and bias with the batch norm folded in (computed in double).
  static std::pair<at::Tensor, at::Tensor> folded(const Op &c) {
    auto w = c.weight.detach().to(at::kDouble);
    auto b = c.bias.defined() ? c.bias.detach().to(at::kDouble) : at::zeros({w.size(0)}, w.options());
    if (c.bn_weight.defined()) {
      auto scale = c.bn_weight.detach().to(at::kDouble) * at::rsqrt(c.bn_var.detach().to(at::kDouble) + c.eps);
      w = w * scale.reshape({-1, 1, 1, 1});
      b = (b - c.bn_mean.detach().to(at::kDouble)) * scale + c.bn_bias.detach().to(at::kDouble);
    }
    return {w.to(at::kFloat).contiguous(), b.to(at::kFloat).contiguous()};
  }

  std::shared_ptr<ShapePlan> build(const std::vector<int64_t> &input_shape, bool recording) const {
    auto &engine = cpu_engine();
    dnnl::stream stream(engine);
    auto plan = std::make_shared<ShapePlan>();
    const auto forward_kind = recording ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    plan->descs.resize(values);
    plan->buffer_of.assign(values, -1);
    const Tag blocked = blocked_layout();
    // A convolution reads plain (N, C, H, W) input as well (better, for few channels); max pools
    // need the blocked layout.
    plan->input_reordered = input_shape[1] % channel_block() == 0 ||
                            std::any_of(ops.begin(), ops.end(), [](const Op &op) { return op.input == 0 && op.kind != Kind::convolution; });
    memory::dims input_dims(input_shape.begin(), input_shape.end());
    plan->descs[0] = memory::desc(input_dims, f32, plan->input_reordered ? blocked : Tag::nchw);

    std::vector<int> last_use(values, -1);
    std::vector<bool> saved(values, false);
    for (size_t i = 0; i < ops.size(); ++i) {
      last_use[ops[i].input] = static_cast<int>(i);
      if (ops[i].residual >= 0) last_use[ops[i].residual] = static_cast<int>(i);
      saved[ops[i].output] = ops[i].saves_output();
    }
    // Buffers: inference shares one between values whose lifetimes do not overlap; recording keeps every value.
    std::vector<bool> buffer_free;
    std::vector<int> buffer_users;
    auto take_buffer = [&](size_t bytes) {
      int best = -1;
      for (size_t b = 0; b < plan->buffer_sizes.size() && !recording; ++b)
        if (buffer_free[b] && plan->buffer_sizes[b] >= bytes && (best < 0 || plan->buffer_sizes[b] < plan->buffer_sizes[best]))
          best = static_cast<int>(b);
      if (best < 0) {
        plan->buffer_sizes.push_back(bytes);
        buffer_free.push_back(false);
        buffer_users.push_back(0);
        best = static_cast<int>(plan->buffer_sizes.size() - 1);
      }
      buffer_free[best] = false;
      return best;
    };
    auto release = [&](int value) {
      int b = plan->buffer_of[value];
      if (b >= 0 && --buffer_users[b] == 0) buffer_free[b] = true;
    };
    if (plan->input_reordered) {
      plan->buffer_of[0] = take_buffer(plan->descs[0].get_size());
      buffer_users[plan->buffer_of[0]]++;
    }

    for (size_t i = 0; i < ops.size(); ++i) {
      const Op &op = ops[i];
      const memory::desc &src = plan->descs[op.input];
      auto in = src.dims();
      plan->weights.emplace_back();
      plan->biases.emplace_back();
      plan->backward_weights.emplace_back();
      plan->pools.emplace_back();
      plan->backward.emplace_back();
      plan->relu_backward.emplace_back();
      plan->copies_residual.push_back(false);
      plan->gemm_forward.emplace_back();
      plan->gemm_backward.emplace_back();
      memory::desc dst;
      if (op.kind == Kind::convolution) {
        auto w = op.weight.sizes();
        if (w[1] != in[1])
          throw std::invalid_argument("the input has " + std::to_string(in[1]) + " channels, the convolution expects " + std::to_string(w[1]));
        int64_t k = w[2];
        int64_t oh = (in[2] + 2 * op.padding - k) / op.stride + 1, ow = (in[3] + 2 * op.padding - k) / op.stride + 1;
        if (oh <= 0 || ow <= 0) throw std::invalid_argument("the input is smaller than a convolution's kernel");
        memory::desc out({in[0], w[0], oh, ow}, f32, blocked);
        memory::desc weights_any({w[0], w[1], k, k}, f32, Tag::any), bias_desc({w[0]}, f32, Tag::x);
        dnnl::post_ops post;
        if (op.residual >= 0) post.append_sum(1.f);
        if (op.relu) post.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
        dnnl::primitive_attr attr;
        attr.set_post_ops(post);
        const memory::dims strides{op.stride, op.stride}, pads{op.padding, op.padding};
        auto forward_pd = [&](dnnl::algorithm algorithm) {
          return dnnl::convolution_forward::primitive_desc(
              dnnl::convolution_forward::desc(forward_kind, algorithm, src, weights_any, bias_desc, out, strides, pads, pads), attr, engine);
        };
        auto algorithm = dnnl::algorithm::convolution_direct;
        dnnl::convolution_forward::primitive_desc pd;
        const int64_t tiles = in[0] * ((oh + 3) / 4) * ((ow + 3) / 4);
        const bool gemm_fits = k == 3 && op.stride == 1 && op.padding == 1 && src == memory::desc(in, f32, blocked) &&
                               w[0] % channel_block() == 0 && w[1] % channel_block() == 0 && WinogradGemm::cpu_supported();
        bool gemm = gemm_fits && winograd == GBT_WINOGRAD_GEMM;
        if (k == 3 && op.stride == 1 && (winograd == GBT_WINOGRAD_AUTOMATIC || winograd == GBT_WINOGRAD_ONEDNN)) {
          try {
            pd = forward_pd(dnnl::algorithm::convolution_winograd);
            algorithm = dnnl::algorithm::convolution_winograd;
          } catch (const dnnl::error &) {
          }
        }
        if (gemm_fits && winograd == GBT_WINOGRAD_AUTOMATIC)
          gemm = algorithm == dnnl::algorithm::convolution_direct ? tiles >= least_gemm_winograd_tiles
                                                                  : recording && tiles <= most_gemm_winograd_tiles_over_onednn;
        auto [wf, bf] = folded(op);
        plan->biases.back() = memory(bias_desc, engine);
        std::memcpy(plan->biases.back().get_data_handle(), bf.data_ptr<float>(), sizeof(float) * w[0]);
        if (gemm) {
          plan->gemm_forward.back() = std::make_shared<WinogradGemm>(wf);
          plan->forward.emplace_back();
          plan->implementations.push_back("gemm_wino_4x3:avx2");
          if (recording) {
            plan->gemm_backward.back() = std::make_shared<WinogradGemm>(wf.transpose(0, 1).flip({2, 3}).contiguous());
            plan->implementations.back() += " / backward gemm_wino_4x3:avx2";
          }
          dst = out;
        } else {
          if (algorithm == dnnl::algorithm::convolution_direct) pd = forward_pd(algorithm);
          plan->implementations.push_back(pd.impl_info_str());
          memory user_weights({{w[0], w[1], k, k}, f32, Tag::oihw}, engine, wf.data_ptr<float>());
          auto reordered = [&](const memory::desc &desc) {
            memory m(desc, engine);
            dnnl::reorder(user_weights, m).execute(stream, user_weights, m);
            return m;
          };
          plan->weights.back() = reordered(pd.weights_desc());
          plan->forward.push_back(dnnl::convolution_forward(pd));
          dst = pd.dst_desc();
          if (recording) {
            auto backward_pd = [&](dnnl::algorithm a, const dnnl::convolution_forward::primitive_desc &hint) {
              return dnnl::convolution_backward_data::primitive_desc(
                  dnnl::convolution_backward_data::desc(a, src, weights_any, dst, strides, pads, pads), engine, hint);
            };
            dnnl::convolution_backward_data::primitive_desc bpd;
            try {
              bpd = backward_pd(algorithm, pd);
            } catch (const dnnl::error &) {
              bpd = backward_pd(dnnl::algorithm::convolution_direct, forward_pd(dnnl::algorithm::convolution_direct));
            }
            plan->backward_weights.back() = bpd.weights_desc() == pd.weights_desc() ? plan->weights.back() : reordered(bpd.weights_desc());
            plan->backward.back() = dnnl::convolution_backward_data(bpd);
            plan->implementations.back() += " / backward " + std::string(bpd.impl_info_str());
          }
          stream.wait();
        }
      } else {
        auto pool = std::make_shared<BlockedMaxPool>(op.kernel, op.stride, op.padding, op.relu);
        pool->set_shape(in[0], in[1], in[2], in[3], channel_block());
        dst = memory::desc({in[0], in[1], pool->out_height, pool->out_width}, f32, blocked);
        plan->pools.back() = pool;
        plan->forward.emplace_back();
        plan->implementations.push_back(op.relu ? "glassbox max pool + ReLU" : "glassbox max pool");
      }
      if (recording && op.saves_output()) {
        dnnl::eltwise_forward::primitive_desc hint(
            dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::eltwise_relu_use_dst_for_bwd, dst, 0.f, 0.f), engine);
        plan->relu_backward.back() = dnnl::eltwise_backward(dnnl::eltwise_backward::primitive_desc(
            dnnl::eltwise_backward::desc(dnnl::algorithm::eltwise_relu_use_dst_for_bwd, dst, dst, 0.f, 0.f), engine, hint));
      }
      plan->descs[op.output] = dst;
      // The sum accumulates into the residual's buffer when nothing reads the residual later
      // (and, when recording, the backward pass does not need it).
      int r = op.residual;
      bool in_place = r > 0 && r != op.input && last_use[r] == static_cast<int>(i) && plan->descs[r] == dst && !(recording && saved[r]);
      plan->copies_residual.back() = r >= 0 && !in_place;
      plan->buffer_of[op.output] = in_place ? plan->buffer_of[r] : take_buffer(dst.get_size());
      buffer_users[plan->buffer_of[op.output]]++;
      for (int v = 0; v < values; ++v)
        if (last_use[v] == static_cast<int>(i)) release(v);
    }
    if (recording)
      for (int v = 0; v < values; ++v)
        plan->add.push_back(dnnl::binary(dnnl::binary::primitive_desc(
            dnnl::binary::desc(dnnl::algorithm::binary_add, plan->descs[v], plan->descs[v], plan->descs[v]), engine)));
    else
      for (size_t size : plan->buffer_sizes) plan->buffers.push_back(allocate(size));
    return plan;
  }

  std::shared_ptr<ShapePlan> shape_plan(const std::vector<int64_t> &shape, bool recording) {
    auto now = current_versions();
    if (now != versions) {
      shapes.clear();
      versions = now;
    }
    auto key = shape;
    key.push_back(recording);
    for (auto it = shapes.begin(); it != shapes.end(); ++it)
      if (it->first == key) {
        shapes.splice(shapes.begin(), shapes, it);
        return shapes.front().second;
      }
    shapes.emplace_front(key, build(shape, recording));
    if (shapes.size() > 4) shapes.pop_back();
    return shapes.front().second;
  }

  // Runs every op; in recording mode the activations are returned for the backward pass.
  at::Tensor run(const at::Tensor &input_tensor, bool recording, std::shared_ptr<Activations> *kept) {
    if (ops.empty()) throw std::invalid_argument("the plan has no operations");
    if (input_tensor.scalar_type() != at::kFloat || !input_tensor.device().is_cpu() || input_tensor.dim() != 4 || input_tensor.is_mkldnn())
      throw std::invalid_argument("the input must be a float32 CPU tensor (N, C, H, W)");
    std::unique_lock<std::mutex> lock(mutex);
    auto plan = shape_plan(input_tensor.sizes().vec(), recording);
    // A channels-last input is reordered from where it lies and gives a channels-last output, as
    // libtorch's convolutions do (the local path's windows are channels last).
    const bool channels_last = plan->input_reordered && !input_tensor.is_contiguous() &&
                               input_tensor.is_contiguous(at::MemoryFormat::ChannelsLast);
    auto input = channels_last ? input_tensor : input_tensor.contiguous();
    auto state = std::make_shared<Activations>();
    state->plan = plan;
    if (recording) {
      state->ops = ops;
      for (size_t size : plan->buffer_sizes) state->buffers.push_back(allocate(size));
      lock.unlock(); // the run owns its buffers; the plan's primitives are safe to share
    }
    auto &buffers = recording ? state->buffers : plan->buffers;
    auto &engine = cpu_engine();
    dnnl::stream stream(engine);
    auto &value = state->values;
    value.resize(values);
    auto memory_of = [&](int v) { return memory(plan->descs[v], engine, buffers[plan->buffer_of[v]].get()); };
    memory user(memory::desc(plan->descs[0].dims(), f32, channels_last ? Tag::nhwc : Tag::nchw), engine, input.data_ptr<float>());
    if (plan->input_reordered) {
      value[0] = memory_of(0);
      dnnl::reorder(user, value[0]).execute(stream, user, value[0]);
    } else {
      value[0] = user;
    }
    state->won.reserve(ops.size());
    for (size_t i = 0; i < ops.size(); ++i) state->won.emplace_back(nullptr, &std::free);
    for (size_t i = 0; i < ops.size(); ++i) {
      const Op &op = ops[i];
      memory dst = memory_of(op.output);
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, value[op.input]}, {DNNL_ARG_DST, dst}};
      if (op.kind == Kind::convolution) {
        if (plan->copies_residual[i]) dnnl::reorder(value[op.residual], dst).execute(stream, value[op.residual], dst);
        args[DNNL_ARG_WEIGHTS] = plan->weights[i];
        args[DNNL_ARG_BIAS] = plan->biases[i];
      }
      if (const auto &pool = plan->pools[i]) {
        if (recording) state->won[i] = allocate(pool->output_values());
        stream.wait();
        pool->forward(static_cast<const float *>(value[op.input].get_data_handle()), static_cast<float *>(dst.get_data_handle()),
                      static_cast<uint8_t *>(state->won[i].get()));
      } else if (const auto &gemm = plan->gemm_forward[i]) {
        auto d = plan->descs[op.input].dims();
        stream.wait();
        gemm->run(static_cast<const float *>(value[op.input].get_data_handle()), static_cast<float *>(dst.get_data_handle()), d[0], d[2],
                  d[3], channel_block(), static_cast<const float *>(plan->biases[i].get_data_handle()), op.residual >= 0, op.relu);
      } else {
        plan->forward[i].execute(stream, args);
      }
      value[op.output] = dst;
    }
    const int output = values - 1;
    auto dims = plan->descs[output].dims();
    auto result = at::empty(at::IntArrayRef(dims.data(), dims.size()), at::TensorOptions(at::kFloat),
                            channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous);
    memory result_memory(memory::desc(dims, f32, channels_last ? Tag::nhwc : Tag::nchw), engine, result.data_ptr<float>());
    dnnl::reorder(value[output], result_memory).execute(stream, value[output], result_memory);
    stream.wait();
    if (kept) *kept = state;
    return result;
  }

  // The input gradient for the gradient `grad_output` of the plan's output, after `run` in recording mode.
  static at::Tensor backward(const Activations &state, const at::Tensor &grad_output) {
    const ShapePlan &plan = *state.plan;
    const auto &ops = state.ops;
    const int values = static_cast<int>(plan.descs.size());
    auto &engine = cpu_engine();
    dnnl::stream stream(engine);
    std::vector<Buffer> owned;
    std::vector<memory> grad(values);
    auto fresh = [&](int v) {
      owned.push_back(allocate(plan.descs[v].get_size()));
      return memory(plan.descs[v], engine, owned.back().get());
    };
    // Runs `produce` into grad[v], or into a scratch buffer added to grad[v] when it already holds a gradient.
    auto accumulate = [&](int v, const std::function<void(memory &)> &produce) {
      if (!grad[v]) {
        grad[v] = fresh(v);
        produce(grad[v]);
        return;
      }
      memory scratch = fresh(v);
      produce(scratch);
      plan.add[v].execute(stream, {{DNNL_ARG_SRC_0, grad[v]}, {DNNL_ARG_SRC_1, scratch}, {DNNL_ARG_DST, grad[v]}});
    };
    const int output = values - 1;
    auto g = grad_output.to(at::kFloat).contiguous();
    memory incoming(memory::desc(plan.descs[output].dims(), f32, Tag::nchw), engine, g.data_ptr<float>());
    accumulate(output, [&](memory &m) { dnnl::reorder(incoming, m).execute(stream, incoming, m); });
    for (size_t j = ops.size(); j-- > 0;) {
      const Op &op = ops[j];
      memory &g_out = grad[op.output];
      if (!g_out) continue;
      // Hands g_out itself on to v (no copy) when v has no gradient yet and the same layout: once
      // this op is done nothing reads g_out again, so the buffer can carry v's gradient.
      auto pass = [&](int v) {
        if (!grad[v] && plan.descs[v] == plan.descs[op.output]) {
          grad[v] = g_out;
          return;
        }
        accumulate(v, [&](memory &m) { dnnl::reorder(g_out, m).execute(stream, g_out, m); });
      };
      if (op.saves_output())
        plan.relu_backward[j].execute(stream, {{DNNL_ARG_DST, state.values[op.output]}, {DNNL_ARG_DIFF_DST, g_out}, {DNNL_ARG_DIFF_SRC, g_out}});
      if (op.residual >= 0 && op.residual != op.input) pass(op.residual);
      else if (op.residual >= 0) accumulate(op.residual, [&](memory &m) { dnnl::reorder(g_out, m).execute(stream, g_out, m); });
      if (const auto &gemm = plan.gemm_backward[j]) {
        auto d = plan.descs[op.input].dims();
        accumulate(op.input, [&](memory &m) {
          stream.wait();
          gemm->run(static_cast<const float *>(g_out.get_data_handle()), static_cast<float *>(m.get_data_handle()), d[0], d[2], d[3],
                    channel_block(), nullptr, false, false);
        });
      } else if (op.kind == Kind::convolution) {
        accumulate(op.input, [&](memory &m) {
          plan.backward[j].execute(stream, {{DNNL_ARG_DIFF_DST, g_out}, {DNNL_ARG_WEIGHTS, plan.backward_weights[j]}, {DNNL_ARG_DIFF_SRC, m}});
        });
      } else {
        accumulate(op.input, [&](memory &m) {
          stream.wait();
          plan.pools[j]->backward(static_cast<const float *>(g_out.get_data_handle()), static_cast<const uint8_t *>(state.won[j].get()),
                                  static_cast<float *>(m.get_data_handle()));
        });
      }
    }
    auto dims = plan.descs[0].dims();
    auto result = at::zeros(at::IntArrayRef(dims.data(), dims.size()), at::kFloat);
    if (grad[0]) {
      memory result_memory(memory::desc(dims, f32, Tag::nchw), engine, result.data_ptr<float>());
      dnnl::reorder(grad[0], result_memory).execute(stream, grad[0], result_memory);
    }
    stream.wait();
    return result;
  }
};

namespace {

// The autograd node of a plan run: its backward is the plan's backward pass, for the input only.
struct ConvolutionPlanBackward : public torch::autograd::Node {
  std::shared_ptr<Activations> activations;
  std::string name() const override { return "ConvolutionPlanBackward"; }
  torch::autograd::variable_list apply(torch::autograd::variable_list &&grads) override {
    if (!grads[0].defined()) return {at::Tensor()};
    if (!activations) throw std::runtime_error("the convolution plan's backward ran twice; keep the graph (retain_graph) to run it again");
    return {gbt_conv_plan_s::backward(*activations, grads[0])};
  }
  // The engine calls this after the backward pass unless the graph is kept: the activations
  // stay for another backward pass only then (one per output dimension of a Jacobian).
  void release_variables() override { activations.reset(); }
};

at::Tensor defined_or_empty(gbt_tensor t) { return t == nullptr ? at::Tensor() : T(t); }

void check_value(gbt_conv_plan plan, int v, const char *what) {
  if (v < 0 || v >= plan->values) throw std::invalid_argument(std::string("convolution plan: unknown ") + what + " value " + std::to_string(v));
}

int add_op(gbt_conv_plan plan, Op op, int *out_value) {
  std::lock_guard<std::mutex> lock(plan->mutex);
  check_value(plan, op.input, "input");
  if (op.residual >= 0) check_value(plan, op.residual, "residual");
  op.output = plan->values;
  plan->ops.push_back(std::move(op));
  plan->shapes.clear();
  plan->versions.clear();
  *out_value = plan->values++;
  return 0;
}

} // namespace

extern "C" {

int gbt_conv_plan_available(void) { return 1; }

int gbt_conv_plan_default_winograd(void) { return winograd_setting().choice; }

int gbt_conv_plan_winograd_setting_understood(void) { return winograd_setting().understood ? 1 : 0; }

int gbt_winograd_gemm_supported(void) { return WinogradGemm::cpu_supported() ? 1 : 0; }

int gbt_onednn_has_winograd(void) { return channel_block() == 16 ? 1 : 0; }

int gbt_conv_plan_set_winograd(gbt_conv_plan plan, int choice) {
  GBT_TRY({
    if (choice < GBT_WINOGRAD_AUTOMATIC || choice > GBT_WINOGRAD_OFF) throw std::invalid_argument("convolution plan: unknown Winograd choice");
    std::lock_guard<std::mutex> lock(plan->mutex);
    plan->winograd = choice;
    plan->shapes.clear();
  })
}

int gbt_conv_plan_new(gbt_conv_plan *out) { GBT_TRY(*out = new gbt_conv_plan_s()) }

void gbt_conv_plan_free(gbt_conv_plan plan) { delete plan; }

int gbt_conv_plan_add_convolution(gbt_conv_plan plan, int input, gbt_tensor weight, gbt_tensor bias, gbt_tensor bn_weight,
                                  gbt_tensor bn_bias, gbt_tensor bn_mean, gbt_tensor bn_var, double eps, int64_t stride,
                                  int64_t padding, int residual, int relu, int *out_value) {
  GBT_TRY({
    Op op{Kind::convolution, input, -1, residual, T(weight), defined_or_empty(bias), defined_or_empty(bn_weight),
          defined_or_empty(bn_bias), defined_or_empty(bn_mean), defined_or_empty(bn_var), eps, 0, stride, padding, relu != 0};
    if (op.weight.dim() != 4 || op.weight.size(2) != op.weight.size(3) || op.weight.scalar_type() != at::kFloat)
      throw std::invalid_argument("convolution plan: weights must be float32 (out, in, k, k)");
    bool bn = op.bn_weight.defined();
    if (bn != op.bn_var.defined() || bn != op.bn_mean.defined() || bn != op.bn_bias.defined())
      throw std::invalid_argument("convolution plan: batch norm needs weight, bias, running mean and running variance");
    if (stride < 1 || padding < 0) throw std::invalid_argument("convolution plan: stride must be positive and padding non-negative");
    op.kernel = op.weight.size(2);
    add_op(plan, std::move(op), out_value);
  })
}

int gbt_conv_plan_add_max_pool(gbt_conv_plan plan, int input, int64_t kernel, int64_t stride, int64_t padding, int relu, int *out_value) {
  GBT_TRY({
    BlockedMaxPool check(kernel, stride, padding, relu != 0); // throws for windows it cannot take
    add_op(plan, Op{Kind::max_pool, input, -1, -1, {}, {}, {}, {}, {}, {}, 0, kernel, stride, padding, relu != 0}, out_value);
  })
}

int gbt_conv_plan_run(gbt_conv_plan plan, gbt_tensor input, gbt_tensor *out) {
  GBT_TRY({
    const at::Tensor &x = T(input);
    if (!(at::GradMode::is_enabled() && x.requires_grad())) {
      *out = wrap(plan->run(x, false, nullptr));
    } else {
      auto node = std::make_shared<ConvolutionPlanBackward>();
      at::Tensor result = plan->run(x.detach(), true, &node->activations);
      node->set_next_edges(torch::autograd::collect_next_edges(x));
      torch::autograd::set_history(result, node);
      *out = wrap(result);
    }
  })
}

int gbt_conv_plan_kernels(gbt_conv_plan plan, gbt_tensor input, int recording, char **out) {
  GBT_TRY({
    std::lock_guard<std::mutex> lock(plan->mutex);
    auto shape_plan = plan->shape_plan(T(input).sizes().vec(), recording != 0);
    std::string joined;
    for (auto &name : shape_plan->implementations) joined += (joined.empty() ? "" : "\n") + name;
    *out = strdup(joined.c_str());
  })
}

} // extern "C"

#else // no oneDNN headers at build time: plans report themselves unavailable

namespace {
int unavailable() {
  gbt::set_error("this build of Glassbox has no oneDNN convolution plans (libdnnl-dev was missing at build time)");
  return 1;
}
} // namespace

extern "C" {
int gbt_conv_plan_available(void) { return 0; }
int gbt_conv_plan_default_winograd(void) { return GBT_WINOGRAD_OFF; }
int gbt_conv_plan_winograd_setting_understood(void) { return 1; }
int gbt_winograd_gemm_supported(void) { return 0; }
int gbt_onednn_has_winograd(void) { return 0; }
int gbt_conv_plan_set_winograd(gbt_conv_plan, int) { return unavailable(); }
int gbt_conv_plan_new(gbt_conv_plan *) { return unavailable(); }
void gbt_conv_plan_free(gbt_conv_plan) {}
int gbt_conv_plan_add_convolution(gbt_conv_plan, int, gbt_tensor, gbt_tensor, gbt_tensor, gbt_tensor, gbt_tensor, gbt_tensor, double,
                                  int64_t, int64_t, int, int, int *) { return unavailable(); }
int gbt_conv_plan_add_max_pool(gbt_conv_plan, int, int64_t, int64_t, int64_t, int, int *) { return unavailable(); }
int gbt_conv_plan_run(gbt_conv_plan, gbt_tensor, gbt_tensor *) { return unavailable(); }
int gbt_conv_plan_kernels(gbt_conv_plan, gbt_tensor, int, char **) { return unavailable(); }
}

#endif
