// C ABI over libtorch for Glassbox. Swift sees only this header.
//
// Conventions:
// - Every function that can fail returns 0 on success and 1 on failure; the
//   failure's message is then in gbt_last_error() (thread-local) until the
//   next failing call on the same thread. No C++ exception crosses this ABI.
// - Results come back through out-parameters. A gbt_tensor returned through
//   an out-parameter is owned by the caller and freed with gbt_tensor_free.
// - Optional tensor arguments accept NULL.
#ifndef GLASSBOX_CTORCH_H
#define GLASSBOX_CTORCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gbt_tensor_s *gbt_tensor;
typedef struct gbt_generator_s *gbt_generator;
typedef struct gbt_script_module_s *gbt_script_module;

// dtype codes (stable; Swift mirrors them)
enum {
  GBT_FLOAT32 = 0, GBT_FLOAT64 = 1, GBT_INT64 = 2, GBT_BOOL = 3,
  GBT_INT32 = 4, GBT_UINT8 = 5, GBT_FLOAT16 = 6, GBT_BFLOAT16 = 7,
  GBT_INT8 = 8, GBT_INT16 = 9
};

// ---- runtime ----
const char *gbt_last_error(void);
int gbt_set_num_threads(int n);
int gbt_get_num_threads(void);
// Intra-op threads for libtorch calls made from the calling thread only (0: the process's count).
int gbt_set_calling_thread_threads(int n);
/* The calling thread's own count (0: none, the process's count applies). */
int gbt_get_calling_thread_threads(void);
// OpenBLAS's thread count (process-wide); -1 and no effect when the BLAS is not OpenBLAS.
int gbt_blas_threads(void);
void gbt_set_blas_threads(int n);
int gbt_cuda_device_count(void);
int gbt_manual_seed(uint64_t seed);
const char *gbt_version(void);
int gbt_set_grad_enabled(int enabled, int *previous);
// Keeps freed memory in the process instead of returning large blocks to the
// kernel (glibc: no mmap for large blocks, no trimming). Saves the page faults
// of re-allocating big activation tensors batch after batch.
void gbt_keep_freed_memory(void);
int gbt_is_grad_enabled(void);
// Whether this libtorch was built with oneDNN (MKL-DNN).
int gbt_has_mkldnn(void);

// ---- generators ----
int gbt_generator_new(uint64_t seed, gbt_generator *out);
void gbt_generator_free(gbt_generator g);
int gbt_generator_get_state(gbt_generator g, gbt_tensor *out);
int gbt_generator_set_state(gbt_generator g, gbt_tensor state);

// ---- tensor lifetime and metadata ----
void gbt_tensor_free(gbt_tensor t);
int gbt_tensor_share(gbt_tensor t, gbt_tensor *out); // a second handle to the same tensor
int gbt_tensor_dim(gbt_tensor t, int64_t *out);
int gbt_tensor_shape(gbt_tensor t, int64_t *out, int64_t capacity);
int gbt_tensor_dtype(gbt_tensor t, int *out);
int gbt_tensor_device(gbt_tensor t, int *out_type, int *out_index);
int gbt_tensor_numel(gbt_tensor t, int64_t *out);
int gbt_tensor_requires_grad(gbt_tensor t, int *out);
int gbt_tensor_set_requires_grad(gbt_tensor t, int flag);
int gbt_tensor_is_defined(gbt_tensor t, int *out);
int gbt_tensor_description(gbt_tensor t, char **out); // free with gbt_string_free
void gbt_string_free(char *s);

// ---- creation and data movement ----
int gbt_from_data(const void *data, const int64_t *shape, int64_t ndim, int dtype, gbt_tensor *out);
int gbt_copy_data(gbt_tensor t, void *dst, size_t nbytes); // contiguous CPU copy, dtype must match
int gbt_write_data(gbt_tensor t, int fd); // the tensor's bytes (contiguous, CPU) written to a file descriptor
int gbt_item_double(gbt_tensor t, double *out);
int gbt_item_int64(gbt_tensor t, int64_t *out);
int gbt_full(const int64_t *shape, int64_t ndim, double value, int dtype, int device, gbt_tensor *out);
int gbt_arange(double start, double end, double step, int dtype, gbt_tensor *out);
int gbt_linspace(double start, double end, int64_t steps, int dtype, gbt_tensor *out);
// kind: 0 uniform [0,1), 1 standard normal
int gbt_random(int kind, const int64_t *shape, int64_t ndim, int dtype, gbt_generator g, gbt_tensor *out);
int gbt_randint(int64_t low, int64_t high, const int64_t *shape, int64_t ndim, gbt_generator g, gbt_tensor *out);
int gbt_randperm(int64_t n, gbt_generator g, gbt_tensor *out);
int gbt_bernoulli(gbt_tensor probabilities, gbt_generator g, gbt_tensor *out);
int gbt_to_dtype(gbt_tensor t, int dtype, gbt_tensor *out);
int gbt_to_device(gbt_tensor t, int device_type, int device_index, gbt_tensor *out);

// ---- elementwise ----
enum {
  GBT_NEG, GBT_ABS, GBT_EXP, GBT_LOG, GBT_SQRT, GBT_RSQRT, GBT_SIN, GBT_COS,
  GBT_TANH, GBT_SIGMOID, GBT_RELU, GBT_GELU, GBT_SOFTPLUS, GBT_SQUARE,
  GBT_SIGN, GBT_FLOOR, GBT_CEIL, GBT_ROUND, GBT_LOG1P, GBT_EXPM1,
  GBT_RECIPROCAL, GBT_LOGICAL_NOT, GBT_ISNAN, GBT_ISFINITE, GBT_ERF,
  GBT_DETACH, GBT_CLONE, GBT_CONTIGUOUS, GBT_ZEROS_LIKE, GBT_ONES_LIKE,
  GBT_SILU,
  // Between libtorch's strided layout and oneDNN's blocked one (CPU float tensors only).
  GBT_TO_MKLDNN, GBT_TO_DENSE
};
int gbt_unary(int op, gbt_tensor t, gbt_tensor *out);

enum {
  GBT_ADD, GBT_SUB, GBT_MUL, GBT_DIV, GBT_POW, GBT_MAXIMUM, GBT_MINIMUM,
  GBT_EQ, GBT_NE, GBT_LT, GBT_LE, GBT_GT, GBT_GE, GBT_LOGICAL_AND,
  GBT_LOGICAL_OR, GBT_MATMUL, GBT_REMAINDER, GBT_ATAN2, GBT_FLOOR_DIVIDE
};
int gbt_binary(int op, gbt_tensor a, gbt_tensor b, gbt_tensor *out);
// Tensor op scalar; with reversed = 1 computes scalar op tensor.
int gbt_binary_scalar(int op, gbt_tensor a, double s, int reversed, gbt_tensor *out);
int gbt_where(gbt_tensor condition, gbt_tensor a, gbt_tensor b, gbt_tensor *out);
// has_min/has_max select which bounds apply.
int gbt_clamp(gbt_tensor t, int has_min, double min, int has_max, double max, gbt_tensor *out);

// ---- reductions ----
enum { GBT_SUM, GBT_MEAN, GBT_AMAX, GBT_AMIN, GBT_PROD, GBT_STD, GBT_VAR, GBT_LOGSUMEXP };
// ndims = 0 reduces over all dimensions.
int gbt_reduce(int op, gbt_tensor t, const int64_t *dims, int64_t ndims, int keepdim, gbt_tensor *out);
// is_min: argmin instead of argmax. has_dim = 0: over the flattened tensor.
int gbt_argextreme(gbt_tensor t, int is_min, int has_dim, int64_t dim, int keepdim, gbt_tensor *out);
int gbt_vector_norm(gbt_tensor t, double p, const int64_t *dims, int64_t ndims, int keepdim, gbt_tensor *out);
int gbt_cumsum(gbt_tensor t, int64_t dim, gbt_tensor *out);
int gbt_topk(gbt_tensor t, int64_t k, int64_t dim, int largest, gbt_tensor *values, gbt_tensor *indices);
int gbt_sort(gbt_tensor t, int64_t dim, int descending, gbt_tensor *values, gbt_tensor *indices);
int gbt_softmax(gbt_tensor t, int64_t dim, int log, gbt_tensor *out);

// ---- shape and indexing ----
int gbt_reshape(gbt_tensor t, const int64_t *shape, int64_t ndim, gbt_tensor *out);
int gbt_permute(gbt_tensor t, const int64_t *dims, int64_t ndim, gbt_tensor *out);
int gbt_transpose(gbt_tensor t, int64_t a, int64_t b, gbt_tensor *out);
int gbt_expand(gbt_tensor t, const int64_t *shape, int64_t ndim, gbt_tensor *out);
int gbt_repeat(gbt_tensor t, const int64_t *repeats, int64_t ndim, gbt_tensor *out);
int gbt_squeeze(gbt_tensor t, int has_dim, int64_t dim, gbt_tensor *out);
int gbt_unsqueeze(gbt_tensor t, int64_t dim, gbt_tensor *out);
int gbt_flatten(gbt_tensor t, int64_t start, int64_t end, gbt_tensor *out);
int gbt_slice(gbt_tensor t, int64_t dim, int64_t start, int64_t end, int64_t step, gbt_tensor *out);
int gbt_select(gbt_tensor t, int64_t dim, int64_t index, gbt_tensor *out);
int gbt_index_select(gbt_tensor t, int64_t dim, gbt_tensor index, gbt_tensor *out);
int gbt_masked_select(gbt_tensor t, gbt_tensor mask, gbt_tensor *out);
int gbt_masked_fill(gbt_tensor t, gbt_tensor mask, double value, gbt_tensor *out);
int gbt_gather(gbt_tensor t, int64_t dim, gbt_tensor index, gbt_tensor *out);
// reduce: 0 replace, 1 add
int gbt_scatter(gbt_tensor t, int64_t dim, gbt_tensor index, gbt_tensor src, int reduce, gbt_tensor *out);
int gbt_cat(const gbt_tensor *ts, int64_t n, int64_t dim, gbt_tensor *out);
int gbt_stack(const gbt_tensor *ts, int64_t n, int64_t dim, gbt_tensor *out);
int gbt_one_hot(gbt_tensor t, int64_t classes, gbt_tensor *out);
int gbt_pad(gbt_tensor t, const int64_t *pad, int64_t npad, double value, gbt_tensor *out);

// ---- linear algebra ----
int gbt_svd(gbt_tensor t, int full_matrices, gbt_tensor *u, gbt_tensor *s, gbt_tensor *vh);
int gbt_svdvals(gbt_tensor t, gbt_tensor *s);
int gbt_lstsq(gbt_tensor a, gbt_tensor b, gbt_tensor *solution);
// LSTM on libtorch's fused kernel; lengths may be NULL (no padding) or one int64 per sequence.
int gbt_lstm(gbt_tensor input, gbt_tensor lengths, const gbt_tensor *params, int64_t num_params, int has_biases,
             int64_t num_layers, int bidirectional, int batch_first, int64_t hidden_size, gbt_tensor *output,
             gbt_tensor *hidden, gbt_tensor *cell);

// Toy-model features (sparse_features.cpp): (instances, batch, features) float32, feature f of
// instance i present with probability probability[i, f], then uniform on [0, 1); the same numbers
// for the same (seed, draw) on any thread count. The rows are instances first_instance… of the
// stream: a slice of instances draws what those instances draw in the whole.
int gbt_sparse_features(gbt_tensor probability, int64_t batch, uint64_t seed, uint64_t draw, int64_t first_instance,
                        gbt_tensor *out);
// CART growth (tree_split.cpp). order: (features, positions) int64 sample ids, each column holding
// the open nodes' samples as segments [start, end) sorted by value; features: (features, samples)
// float32; segments: (nodes, 2) int64; class_totals: (nodes, classes) float64; criterion 0 gini,
// 1 entropy. Out: scores (nodes, features) float64 (-inf: no valid split) and positions (the last
// left position, -1 if none).
int gbt_tree_best_splits(gbt_tensor order, gbt_tensor features, gbt_tensor labels, gbt_tensor segments,
                         gbt_tensor class_totals, int64_t criterion, int64_t min_leaf,
                         gbt_tensor *scores, gbt_tensor *positions);
// Stable partition of each column's segments into left (goes_left[sample]) then right samples,
// written at targets[node] = (left start, right start) of a (features, next_positions) order;
// a target of -1 drops that child's samples.
int gbt_tree_partition(gbt_tensor order, gbt_tensor goes_left, gbt_tensor segments, gbt_tensor targets,
                       int64_t next_positions, gbt_tensor *out);

// ---- neural-network functions ----
/* OMP_WAIT_POLICY as the process started ("PASSIVE" unless the user chose another). */
const char *gbt_openmp_wait_policy(void);
// OpenBLAS's kernel family (openblas_get_corename), or "not OpenBLAS".
const char *gbt_blas_core(void);
int gbt_linear(gbt_tensor x, gbt_tensor w, gbt_tensor b, gbt_tensor *out);
/* input + alpha * (a @ b) over a batch of matrices: (B, n, m) + (B, n, k) @ (B, k, m). */
int gbt_baddbmm(gbt_tensor input, gbt_tensor a, gbt_tensor b, double alpha, gbt_tensor *out);
int gbt_conv2d(gbt_tensor x, gbt_tensor w, gbt_tensor b, const int64_t *stride, const int64_t *padding,
               const int64_t *dilation, int64_t groups, gbt_tensor *out);
int gbt_conv_transpose2d(gbt_tensor x, gbt_tensor w, gbt_tensor b, const int64_t *stride, const int64_t *padding,
                         const int64_t *output_padding, int64_t groups, gbt_tensor *out);
// kind: 0 max, 1 average
int gbt_pool2d(int kind, gbt_tensor x, const int64_t *kernel, const int64_t *stride, const int64_t *padding,
               int ceil_mode, gbt_tensor *out);
int gbt_adaptive_avg_pool2d(gbt_tensor x, const int64_t *size, gbt_tensor *out);
int gbt_upsample_bilinear2d(gbt_tensor x, const int64_t *size, int align_corners, gbt_tensor *out);
int gbt_upsample_nearest2d(gbt_tensor x, const int64_t *size, gbt_tensor *out);
/// Bilinear resampling of (N, C, H, W) through (N, 2, 3) affine maps of output to input coordinates
/// (affine_grid + grid_sample, align_corners false); outside the image reads 0.
int gbt_affine_warp(gbt_tensor x, gbt_tensor theta, gbt_tensor *out);
int gbt_batch_norm(gbt_tensor x, gbt_tensor w, gbt_tensor b, gbt_tensor running_mean, gbt_tensor running_var,
                   int training, double momentum, double eps, gbt_tensor *out);
int gbt_layer_norm(gbt_tensor x, const int64_t *shape, int64_t ndim, gbt_tensor w, gbt_tensor b, double eps,
                   gbt_tensor *out);
int gbt_dropout(gbt_tensor x, double p, int training, gbt_tensor *out);
int gbt_embedding(gbt_tensor weight, gbt_tensor indices, gbt_tensor *out);
// ReLU whose backward can be replaced: 0 ordinary, 1 guided backprop
// (Springenberg et al. 2015), 2 deconvnet (Zeiler & Fergus 2014).
int gbt_relu_with_backward(gbt_tensor x, int rule, gbt_tensor *out);

// reduction: 0 none, 1 mean, 2 sum
int gbt_cross_entropy(gbt_tensor logits, gbt_tensor target, int64_t reduction, double label_smoothing, gbt_tensor *out);
int gbt_nll_loss(gbt_tensor logp, gbt_tensor target, int64_t reduction, gbt_tensor *out);
int gbt_mse_loss(gbt_tensor x, gbt_tensor y, int64_t reduction, gbt_tensor *out);
int gbt_bce_with_logits(gbt_tensor x, gbt_tensor y, int64_t reduction, gbt_tensor *out);

// ---- in-place updates (optimisers, buffers); callers disable grad mode ----
int gbt_add_(gbt_tensor t, gbt_tensor other, double alpha);
int gbt_mul_scalar_(gbt_tensor t, double s);
int gbt_addcmul_(gbt_tensor t, gbt_tensor a, gbt_tensor b, double value);
int gbt_addcdiv_(gbt_tensor t, gbt_tensor a, gbt_tensor b, double value);
int gbt_copy_(gbt_tensor dst, gbt_tensor src);
int gbt_fill_(gbt_tensor t, double value);

// ---- autograd ----
int gbt_grad(gbt_tensor t, gbt_tensor *out); // *out = NULL when no gradient
int gbt_set_grad(gbt_tensor t, gbt_tensor grad); // grad NULL clears
int gbt_retain_grad(gbt_tensor t);
int gbt_backward(gbt_tensor t, gbt_tensor grad_output, int retain_graph, int create_graph);
// grads[i] = NULL where allow_unused and input i is unused.
int gbt_autograd_grad(const gbt_tensor *outputs, int64_t n_outputs, const gbt_tensor *inputs, int64_t n_inputs,
                      const gbt_tensor *grad_outputs, int retain_graph, int create_graph, int allow_unused,
                      gbt_tensor *grads);

// A gradient hook: called with the gradient flowing into the tensor (a new
// handle the hook owns). Return
// 0 and set *replacement (or leave it NULL to keep the gradient), or return 1
// and set *message (malloc'd, freed by the shim) to abort the backward pass.
typedef int (*gbt_hook_fn)(void *context, gbt_tensor grad, gbt_tensor *replacement, char **message);
typedef void (*gbt_release_fn)(void *context);
// The shim owns context from this call on, also when registration fails.
int gbt_register_hook(gbt_tensor t, gbt_hook_fn fn, void *context, gbt_release_fn release, int64_t *handle);
int gbt_remove_hook(gbt_tensor t, int64_t handle);

// ---- TorchScript ----
int gbt_script_load(const char *path, gbt_script_module *out);
void gbt_script_free(gbt_script_module m);
int gbt_script_forward(gbt_script_module m, const gbt_tensor *inputs, int64_t n, gbt_tensor *out);
int gbt_script_set_training(gbt_script_module m, int training);
int gbt_script_parameter_count(gbt_script_module m, int64_t *out);
// i-th named parameter; *name is malloc'd, free with gbt_string_free
int gbt_script_parameter(gbt_script_module m, int64_t i, char **name, gbt_tensor *out);

// ---- files ----
// Reads a gzip (or plain) file fully into a malloc'd buffer, free with gbt_buffer_free.
int gbt_gunzip_file(const char *path, uint8_t **data, size_t *length, size_t max_length);
void gbt_buffer_free(void *p);
// zlib streams for PNG: compress (level 0-9) / decompress into malloc'd buffers.
int gbt_zlib_compress(const uint8_t *src, size_t n, int level, uint8_t **dst, size_t *dst_n);
int gbt_zlib_decompress(const uint8_t *src, size_t n, size_t max_out, uint8_t **dst, size_t *dst_n);
uint32_t gbt_crc32(uint32_t crc, const uint8_t *data, size_t n);


// ---- convolution plans (oneDNN inference, see convolution_plan.cpp) ----
// A fixed sequence of convolutions (eval batch norm folded in, optional residual
// sum and ReLU fused), max pools and ReLUs, run on oneDNN with Winograd kernels for 3x3
// stride-1 convolutions. Value 0 is the plan's input; each added op returns its
// output's value. Parameters are read again when their version changes.
typedef struct gbt_conv_plan_s *gbt_conv_plan;
int gbt_conv_plan_available(void); // 0 when built without oneDNN's headers
/* A plan's Winograd kernels for 3×3 stride-1 convolutions: oneDNN's where it has them (AVX-512),
   else Winograd over sgemm from 16 tiles up (automatic); over sgemm wherever the shape allows;
   oneDNN's only; none. New plans take GLASSBOX_WINOGRAD (auto, gemm, onednn, off). */
enum { GBT_WINOGRAD_AUTOMATIC = 0, GBT_WINOGRAD_GEMM = 1, GBT_WINOGRAD_ONEDNN = 2, GBT_WINOGRAD_OFF = 3 };
int gbt_conv_plan_default_winograd(void);
int gbt_conv_plan_winograd_setting_understood(void); // 0 when GLASSBOX_WINOGRAD holds a value other than those four
int gbt_winograd_gemm_supported(void); // 1 when the CPU has the AVX2 and FMA the sgemm Winograd kernels need
int gbt_onednn_has_winograd(void);      // 1 when oneDNN's instruction set (as capped) includes its AVX-512 Winograd kernels
int gbt_conv_plan_set_winograd(gbt_conv_plan plan, int choice);
int gbt_conv_plan_new(gbt_conv_plan *out);
void gbt_conv_plan_free(gbt_conv_plan plan);
// bias and the four batch-norm tensors may be NULL; residual -1 for none.
int gbt_conv_plan_add_convolution(gbt_conv_plan plan, int input, gbt_tensor weight, gbt_tensor bias, gbt_tensor bn_weight,
                                  gbt_tensor bn_bias, gbt_tensor bn_mean, gbt_tensor bn_var, double eps, int64_t stride,
                                  int64_t padding, int residual, int relu, int *out_value);
// relu: a ReLU after the pool.
int gbt_conv_plan_add_max_pool(gbt_conv_plan plan, int input, int64_t kernel, int64_t stride, int64_t padding, int relu, int *out_value);
// Runs the plan on a float32 (N, C, H, W) tensor; returns the last op's output (strided).
// When gradients are on and the input requires one, the output's backward gives the
// input's gradient (first order; no gradient reaches the plan's parameters).
int gbt_conv_plan_run(gbt_conv_plan plan, gbt_tensor input, gbt_tensor *out);
// oneDNN's kernel name per op for this input shape, one per line (free with gbt_string_free).
int gbt_conv_plan_kernels(gbt_conv_plan plan, gbt_tensor input, int recording, char **out);

// ---- optimisers (adam.cpp) ----
// One fused Adam step in place on contiguous CPU float32/float64 tensors of one shape (step: the
// parameter's step count, from 1). *applied is 0, and nothing changes, when the tensors do not
// qualify (the caller then runs the step as separate operations).
int gbt_adam_step(gbt_tensor param, gbt_tensor grad, gbt_tensor first_moment, gbt_tensor second_moment, double lr, double beta1,
                  double beta2, double eps, double weight_decay, int decoupled, int64_t step, int *applied);

// ---- process groups (data-parallel training, see process_group.cpp) ----
// Rank 0 hosts the rendezvous store at address:port; every rank joins within timeout_ms.
typedef struct gbt_process_group_s *gbt_process_group;
int gbt_process_group_available(void); // 0 when built without libgloo-dev's headers
int gbt_process_group_new(const char *address, int port, int rank, int world_size, int64_t timeout_ms, gbt_process_group *out);
void gbt_process_group_free(gbt_process_group group);
// In place on a contiguous CPU tensor, across every rank: the sum (maximum != 0: the maximum).
int gbt_process_group_all_reduce(gbt_process_group group, gbt_tensor tensor, int maximum);
// In place: every rank receives root's values.
int gbt_process_group_broadcast(gbt_process_group group, gbt_tensor tensor, int root);

#ifdef __cplusplus
}
#endif
#endif
