// Status helpers shared by every program: the two macros Debian's Abseil lacks,
// and the one place each foreign error type is turned into an absl::Status.
#ifndef PREFLIGHT_PROTO_WIRE_STATUS_H_
#define PREFLIGHT_PROTO_WIRE_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#define PF_CONCAT_INNER_(a, b) a##b
#define PF_CONCAT_(a, b) PF_CONCAT_INNER_(a, b)

// Returns from the current function when `expr` (an absl::Status) is not ok.
#define RETURN_IF_ERROR(expr)                \
  do {                                       \
    ::absl::Status pf_status_ = (expr);      \
    if (!pf_status_.ok()) return pf_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, StatusOrExpr());` declares x from the value or
// returns the error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  PF_ASSIGN_OR_RETURN_IMPL_(PF_CONCAT_(pf_statusor_, __LINE__), lhs, expr)
#define PF_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(*tmp)

namespace preflight {

// absl and gRPC share the code space; these convert without loss.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// An errno value as a Status whose message starts with `what` (usually the
// operation and the path): "open /etc/ssh/sshd_config: Permission denied".
absl::Status ErrnoToStatus(int err, absl::string_view what);

}  // namespace preflight

#endif  // PREFLIGHT_PROTO_WIRE_STATUS_H_
