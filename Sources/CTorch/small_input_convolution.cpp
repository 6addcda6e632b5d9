// Convolutions that read few input channels (an image's first layer: 1 to 3 channels) and need
// the gradient with respect to their input (attacks, saliency, input optimisation). libtorch 1.13
// computes that gradient on oneDNN, which is slow for this shape: 14 ms for the demo CNN's first
// layer on 256 digits against 2.4 ms for its own unfold-and-multiply kernel (2 threads, the
// session-13 Intel Xeon). The forward pass stays on oneDNN; the input gradient takes the unfold
// kernel, weight and bias gradients stay libtorch's. Under create_graph the backward pass
// re-derives everything with autograd, so gradients of gradients stay exact.
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>
#include "internal.h"

using namespace gbt;

namespace {

struct SmallInputConvolution : public torch::autograd::Function<SmallInputConvolution> {
  static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &x, const at::Tensor &w, const at::Tensor &b,
                            at::IntArrayRef stride, at::IntArrayRef padding) {
    ctx->save_for_backward({x, w, b});
    ctx->saved_data["stride"] = stride.vec();
    ctx->saved_data["padding"] = padding.vec();
    return at::conv2d(x, w, b, stride, padding);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx, torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &w = saved[1], &b = saved[2];
    const auto stride = ctx->saved_data["stride"].toIntVector(), padding = ctx->saved_data["padding"].toIntVector();
    const at::Tensor g = grads[0];
    if (at::GradMode::is_enabled()) {
      // create_graph: the same gradients, recorded by autograd for the next derivative.
      std::vector<at::Tensor> inputs;
      for (const at::Tensor *t : {&x, &w, &b}) if (t->requires_grad()) inputs.push_back(*t);
      at::Tensor y = at::conv2d(x, w, b, stride, padding);
      auto found = torch::autograd::grad({y}, inputs, {g}, true, true, true);
      torch::autograd::variable_list result(5);
      size_t next = 0;
      for (int i = 0; i < 3; ++i) {
        const at::Tensor &t = saved[i];
        if (t.requires_grad()) result[i] = found[next++];
      }
      return result;
    }
    const bool wantInput = ctx->needs_input_grad(0), wantWeight = ctx->needs_input_grad(1), wantBias = ctx->needs_input_grad(2);
    torch::autograd::variable_list result(5);
    if (wantInput) {
      if (stride[0] > 1 || stride[1] > 1) {
        // Strided (a ResNet stem, 7×7 stride 2): libtorch's transposed convolution is the same
        // products and sums, bit for bit, about a fifth faster (14.7 against 18.6 ms for 4 images
        // of 224×224; at stride 1 it is twice as slow).
        std::vector<int64_t> extra(2);
        for (int d = 0; d < 2; ++d) extra[d] = x.size(2 + d) - ((g.size(2 + d) - 1) * stride[d] - 2 * padding[d] + w.size(2 + d));
        result[0] = at::conv_transpose2d(g.contiguous(), w.contiguous(), {}, stride, padding, extra);
      } else {
        result[0] = std::get<0>(at::_slow_conv2d_backward(g.contiguous(), x.contiguous(), w.contiguous(), {w.size(2), w.size(3)}, stride, padding,
                                                          {true, false, false}));
      }
    }
    if (wantWeight || wantBias) {
      auto parts = at::convolution_backward(g, x, w, c10::optional<at::IntArrayRef>(b.sizes()), stride, padding,
                                            {1, 1}, false, {0, 0}, 1, {false, wantWeight, wantBias});
      if (wantWeight) result[1] = std::get<1>(parts);
      if (wantBias) result[2] = std::get<2>(parts);
    }
    return result;
  }
};

} // namespace

namespace gbt {
bool small_input_convolution_applies(const at::Tensor &x, const at::Tensor &w, at::IntArrayRef dilation, int64_t groups) {
  return at::GradMode::is_enabled() && x.requires_grad() && x.dim() == 4 && w.dim() == 4 && groups == 1 && w.size(1) <= 3 &&
         dilation[0] == 1 && dilation[1] == 1 && x.scalar_type() == at::kFloat && w.scalar_type() == at::kFloat && x.device().is_cpu() &&
         x.layout() == at::kStrided && w.layout() == at::kStrided;
}

at::Tensor small_input_convolution(const at::Tensor &x, const at::Tensor &w, const c10::optional<at::Tensor> &b, at::IntArrayRef stride,
                                   at::IntArrayRef padding) {
  // A missing bias is a zero one that needs no gradient (custom functions take defined tensors).
  return SmallInputConvolution::apply(x, w, b.has_value() && b->defined() ? *b : at::zeros({w.size(0)}, w.options()), stride, padding);
}
} // namespace gbt
