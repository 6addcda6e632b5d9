// Data-parallel collectives on libtorch's own distributed engine: a c10d TCPStore for the
// rendezvous and ProcessGroupGloo for all-reduce and broadcast over TCP (see ProcessGroup.swift).
// Built only with Debian's libgloo-dev headers (GBT_HAS_GLOO); without them every entry point
// says how to get them.
#include "internal.h"

#ifdef GBT_HAS_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <csignal>
#include <cstdlib>
#include <mutex>

struct gbt_process_group_s {
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

extern "C" int gbt_process_group_available(void) { return 1; }

extern "C" int gbt_process_group_new(const char *address, int port, int rank, int world_size, int64_t timeout_ms,
                                     gbt_process_group *out) {
  GBT_TRY({
    // A peer that dies mid-write would raise SIGPIPE here and kill this rank without a word
    // (Python, which PyTorch's ranks run in, ignores it from the start); ignored, the write
    // fails and the collective reports the closed connection.
    static std::once_flag ignore_broken_pipes;
    std::call_once(ignore_broken_pipes, [] { std::signal(SIGPIPE, SIG_IGN); });
    auto timeout = std::chrono::milliseconds(timeout_ms);
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(port);
    options.isServer = rank == 0;
    options.numWorkers = world_size;
    options.waitWorkers = true;
    options.timeout = timeout;
    auto store = c10::make_intrusive<c10d::TCPStore>(address, options);
    auto groupOptions = c10d::ProcessGroupGloo::Options::create(timeout);
    // As PyTorch does: the interface GLOO_SOCKET_IFNAME names, else the one the host name resolves to.
    const char *interface = std::getenv("GLOO_SOCKET_IFNAME");
    groupOptions->devices.push_back(interface && *interface ? c10d::ProcessGroupGloo::createDeviceForInterface(interface)
                                                            : c10d::ProcessGroupGloo::createDefaultDevice());
    auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world_size, groupOptions);
    *out = new gbt_process_group_s{std::move(group)};
  })
}

extern "C" void gbt_process_group_free(gbt_process_group group) { delete group; }

extern "C" int gbt_process_group_all_reduce(gbt_process_group group, gbt_tensor tensor, int maximum) {
  GBT_TRY({
    std::vector<at::Tensor> tensors{gbt::T(tensor)};
    c10d::AllreduceOptions options;
    options.reduceOp = maximum ? c10d::ReduceOp::MAX : c10d::ReduceOp::SUM;
    group->group->allreduce(tensors, options)->wait();
  })
}

extern "C" int gbt_process_group_broadcast(gbt_process_group group, gbt_tensor tensor, int root) {
  GBT_TRY({
    std::vector<at::Tensor> tensors{gbt::T(tensor)};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    group->group->broadcast(tensors, options)->wait();
  })
}

#else

struct gbt_process_group_s {};
static const char *without_gloo =
    "this build has no data-parallel training: install Debian's libgloo-dev (scripts/setup.sh does) and rebuild";

extern "C" int gbt_process_group_available(void) { return 0; }
extern "C" int gbt_process_group_new(const char *, int, int, int, int64_t, gbt_process_group *) {
  gbt::set_error(without_gloo);
  return 1;
}
extern "C" void gbt_process_group_free(gbt_process_group group) { delete group; }
extern "C" int gbt_process_group_all_reduce(gbt_process_group, gbt_tensor, int) {
  gbt::set_error(without_gloo);
  return 1;
}
extern "C" int gbt_process_group_broadcast(gbt_process_group, gbt_tensor, int) {
  gbt::set_error(without_gloo);
  return 1;
}

#endif
