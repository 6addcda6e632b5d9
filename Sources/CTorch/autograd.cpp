// Autograd: gradients of any order, gradient hooks, a ReLU with replaceable backward, TorchScript.
#include "internal.h"
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/csrc/jit/api/module.h>
#include <cstring>
#include <memory>

using namespace gbt;

namespace {

// Owns a Swift context for as long as some copy of the hook lives inside libtorch.
struct HookContext {
  gbt_hook_fn fn;
  void *context;
  gbt_release_fn release;
  HookContext(gbt_hook_fn f, void *c, gbt_release_fn r) : fn(f), context(c), release(r) {}
  HookContext(const HookContext &) = delete;
  HookContext &operator=(const HookContext &) = delete;
  ~HookContext() { if (release) release(context); }
};

// ReLU with a selectable backward rule, for Guided Backprop and DeconvNet.
struct RuleReLU : public torch::autograd::Function<RuleReLU> {
  static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &x, int64_t rule) {
    ctx->saved_data["rule"] = rule;
    at::Tensor y = at::relu(x);
    ctx->save_for_backward({x});
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                 torch::autograd::variable_list grads) {
    const at::Tensor &g = grads[0];
    const at::Tensor x = ctx->get_saved_variables()[0];
    int64_t rule = ctx->saved_data["rule"].toInt();
    at::Tensor gx;
    if (rule == 0) gx = g * (x > 0).to(g.scalar_type());
    else if (rule == 1) gx = at::relu(g) * (x > 0).to(g.scalar_type());
    else gx = at::relu(g);
    return {gx, at::Tensor()};
  }
};

struct ScriptModule {
  torch::jit::Module module;
  std::vector<std::pair<std::string, at::Tensor>> parameters;
};
ScriptModule &M(gbt_script_module m) {
  if (m == nullptr) throw std::invalid_argument("TorchScript module is null");
  return *reinterpret_cast<ScriptModule *>(m);
}

} // namespace

extern "C" {

int gbt_grad(gbt_tensor t, gbt_tensor *out) {
  GBT_TRY(const at::Tensor &g = T(t).grad(); *out = g.defined() ? wrap(g) : nullptr)
}
int gbt_set_grad(gbt_tensor t, gbt_tensor grad) {
  GBT_TRY(if (grad == nullptr) T(t).mutable_grad().reset(); else T(t).mutable_grad() = T(grad))
}
int gbt_retain_grad(gbt_tensor t) { GBT_TRY(T(t).retain_grad()) }
int gbt_backward(gbt_tensor t, gbt_tensor grad_output, int retain_graph, int create_graph) {
  GBT_TRY(c10::optional<bool> keep; if (retain_graph) keep = true;
          T(t).backward(grad_output ? T(grad_output) : at::Tensor(), keep, create_graph != 0))
}
int gbt_autograd_grad(const gbt_tensor *outputs, int64_t n_out, const gbt_tensor *inputs, int64_t n_in,
                      const gbt_tensor *grad_outputs, int retain_graph, int create_graph, int allow_unused,
                      gbt_tensor *grads) {
  GBT_TRY(
    std::vector<at::Tensor> outs, ins, gouts;
    for (int64_t i = 0; i < n_out; ++i) {
      outs.push_back(T(outputs[i]));
      gouts.push_back(grad_outputs && grad_outputs[i] ? T(grad_outputs[i]) : at::Tensor());
    }
    for (int64_t i = 0; i < n_in; ++i) ins.push_back(T(inputs[i]));
    c10::optional<bool> keep; if (retain_graph) keep = true;
    auto result = torch::autograd::grad(outs, ins, gouts, keep, create_graph != 0, allow_unused != 0);
    for (int64_t i = 0; i < n_in; ++i) grads[i] = result[i].defined() ? wrap(result[i]) : nullptr)
}

int gbt_register_hook(gbt_tensor t, gbt_hook_fn fn, void *context, gbt_release_fn release, int64_t *handle) {
  auto holder = std::make_shared<HookContext>(fn, context, release);
  GBT_TRY(
    *handle = static_cast<int64_t>(T(t).register_hook([holder](const at::Tensor &grad) -> at::Tensor {
      gbt_tensor replacement = nullptr;
      char *message = nullptr;
      int rc = holder->fn(holder->context, wrap(grad), &replacement, &message);
      if (rc != 0) {
        std::string text = message ? message : "gradient hook failed";
        free(message);
        if (replacement) gbt_tensor_free(replacement);
        throw std::runtime_error(text);
      }
      if (replacement == nullptr) return at::Tensor();
      at::Tensor r = T(replacement);
      gbt_tensor_free(replacement);
      return r;
    })))
}
int gbt_remove_hook(gbt_tensor t, int64_t handle) { GBT_TRY(T(t).remove_hook(static_cast<unsigned>(handle))) }

int gbt_relu_with_backward(gbt_tensor x, int rule, gbt_tensor *out) {
  GBT_TRY(if (rule < 0 || rule > 2) throw std::invalid_argument("unknown ReLU backward rule");
          *out = wrap(rule == 0 ? at::relu(T(x)) : RuleReLU::apply(T(x), static_cast<int64_t>(rule))))
}

int gbt_script_load(const char *path, gbt_script_module *out) {
  GBT_TRY(auto m = std::make_unique<ScriptModule>(); m->module = torch::jit::load(path, at::kCPU); m->module.eval();
          for (const auto &p : m->module.named_parameters(true)) m->parameters.emplace_back(p.name, p.value);
          *out = reinterpret_cast<gbt_script_module>(m.release()))
}
void gbt_script_free(gbt_script_module m) { delete reinterpret_cast<ScriptModule *>(m); }
int gbt_script_forward(gbt_script_module m, const gbt_tensor *inputs, int64_t n, gbt_tensor *out) {
  GBT_TRY(
    std::vector<torch::jit::IValue> args;
    for (int64_t i = 0; i < n; ++i) args.emplace_back(T(inputs[i]));
    torch::jit::IValue r = M(m).module.forward(args);
    if (r.isTensor()) *out = wrap(r.toTensor());
    else if (r.isTuple() && !r.toTupleRef().elements().empty() && r.toTupleRef().elements()[0].isTensor())
      *out = wrap(r.toTupleRef().elements()[0].toTensor());
    else throw std::runtime_error("the TorchScript model's forward returned " + r.tagKind() + ", not a tensor"))
}
int gbt_script_set_training(gbt_script_module m, int training) { GBT_TRY(M(m).module.train(training != 0)) }
int gbt_script_parameter_count(gbt_script_module m, int64_t *out) { GBT_TRY(*out = static_cast<int64_t>(M(m).parameters.size())) }
int gbt_script_parameter(gbt_script_module m, int64_t i, char **name, gbt_tensor *out) {
  GBT_TRY(auto &ps = M(m).parameters; if (i < 0 || i >= static_cast<int64_t>(ps.size())) throw std::out_of_range("parameter index");
          *name = strdup(ps[i].first.c_str()); *out = wrap(ps[i].second))
}

} // extern "C"
