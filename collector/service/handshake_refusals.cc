#include "collector/service/handshake_refusals.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace preflight::collector {

void HandshakeRefusals::Refused(const TlsRefusal& refusal) {
  const absl::Time now = state_.clock();
  int64_t held_back = 0;
  {
    absl::MutexLock lock(&mu_);
    if (now - window_start_ >= absl::Minutes(1)) {
      window_start_ = now;
      in_window_ = 0;
    }
    const bool allowed =
        in_window_ < kMaxPerMinute &&
        per_certificate_.Allow(
            absl::StrCat(refusal.subject, "\n", refusal.issuer, "\n", refusal.reason), now);
    if (!allowed) {
      ++held_back_;
      return;
    }
    ++in_window_;
    held_back = held_back_;
    held_back_ = 0;
  }
  std::string detail = absl::StrCat("TLS handshake: ", refusal.ToString());
  if (held_back > 0) {
    absl::StrAppend(&detail, " (and ", held_back,
                    " handshake refusal(s) before it not logged: at most one per certificate per "
                    "minute and ",
                    kMaxPerMinute, " per minute in all)");
  }
  Log(absl::StrCat("refused a client at the TLS handshake (gRPC does not give its address): ",
                   detail));
  const std::string actor =
      refusal.subject.empty() ? std::string("unknown client") : refusal.subject;
  state_.pool->Post([this, actor, detail] {
    absl::Status audited =
        state_.store->Audit({actor, "refused", "tls-handshake", detail}, state_.clock());
    if (!audited.ok()) Log(absl::StrCat("cannot audit a refusal: ", audited.message()));
  });
}

}  // namespace preflight::collector
