// Shared helpers for the shim's translation units. Not part of the C ABI.
#pragma once
#include <ATen/ATen.h>
#include <string>
#include "ctorch.h"

namespace gbt {

void set_error(const std::string &message);

inline at::Tensor &T(gbt_tensor t) {
  if (t == nullptr) throw std::invalid_argument("a required tensor argument is null");
  return *reinterpret_cast<at::Tensor *>(t);
}
inline c10::optional<at::Tensor> opt(gbt_tensor t) {
  if (t == nullptr) return c10::nullopt;
  return *reinterpret_cast<at::Tensor *>(t);
}
inline gbt_tensor wrap(at::Tensor t) { return reinterpret_cast<gbt_tensor>(new at::Tensor(std::move(t))); }
inline at::IntArrayRef dims(const int64_t *p, int64_t n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }
at::ScalarType scalar_type(int code);
int dtype_code(at::ScalarType t);
at::Generator *generator(gbt_generator g);

} // namespace gbt

// Wraps an entry point's body: every exception becomes an error message and status 1.
#define GBT_TRY(...)                                                              \
  try {                                                                           \
    __VA_ARGS__;                                                                  \
    return 0;                                                                     \
  } catch (const c10::Error &e) {                                                 \
    gbt::set_error(e.what_without_backtrace());                                   \
  } catch (const std::exception &e) {                                             \
    gbt::set_error(e.what());                                                     \
  } catch (...) {                                                                 \
    gbt::set_error("unknown C++ exception in libtorch");                          \
  }                                                                               \
  return 1;
