// What the per-kind renderers of collector/diff share: the lines they write,
// value formatting, and comparing repeated fields by a key. Internal to
// collector/diff; the interface is fact_diff.h.
//
// Adding a renderer: write `void RenderX(const v1::XFact& before, const
// v1::XFact& after, Lines& out)` in the file of its area, declare it below,
// add it to the table in fact_diff.cc, and test it from facts the agent's
// parsers made (tests/unit/fact_diff_*_test.cc).
#ifndef PREFLIGHT_COLLECTOR_DIFF_RENDERER_H_
#define PREFLIGHT_COLLECTOR_DIFF_RENDERER_H_

#include <google/protobuf/message.h>
#include <google/protobuf/repeated_field.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "preflight/v1/facts.pb.h"

namespace preflight::collector::diff {

using Lines = std::vector<std::string>;

// "a → b".
std::string Arrow(absl::string_view before, absl::string_view after);
// The value, or "(none)" when empty.
std::string OrNone(absl::string_view s);
std::string YesNo(bool b);
// A Unix time as "2026-01-01 12:00 UTC"; "never" for 0.
std::string Time(int64_t unix_seconds);
// Bytes as "12.3 GiB", "512 MiB", "900 B".
std::string Bytes(uint64_t bytes);

// "name old → new" for every singular scalar or enum field of `before` and
// `after` (the same message type) whose value differs, except the fields
// named in `skip`. Booleans print yes/no, enums their value name.
std::vector<std::string> ScalarChanges(const google::protobuf::Message& before,
                                       const google::protobuf::Message& after,
                                       std::initializer_list<absl::string_view> skip = {});

// Repeated strings compared as sets: "+x +y -z", "" when equal.
std::string SetChange(const google::protobuf::RepeatedPtrField<std::string>& before,
                      const google::protobuf::RepeatedPtrField<std::string>& after);

// One "added: <what> x" / "removed: <what> x" line per string that appears or
// disappears (as sets).
void SetLines(absl::string_view what, const google::protobuf::RepeatedPtrField<std::string>& before,
              const google::protobuf::RepeatedPtrField<std::string>& after, Lines& out);

// The state of collection (OK, ABSENT, ERROR and why; files that could not be
// read) and parse problems, as every fact kind carries them.
void CollectionLines(const v1::Collection& before, const v1::Collection& after, Lines& out);
void ProblemLines(const google::protobuf::RepeatedPtrField<v1::ParseProblem>& before,
                  const google::protobuf::RepeatedPtrField<v1::ParseProblem>& after, Lines& out);

// Compares two repeated fields by `key`. Elements with the same key are paired
// in order (the first with the first); then `removed` is called for each
// element of `before` left unpaired (in its order), and, in the order of
// `after`, `changed(old, new)` for each pair and `added` for each unpaired
// element of `after`. `changed` decides itself whether anything differs.
template <typename T, typename KeyFn, typename AddedFn, typename RemovedFn, typename ChangedFn>
void KeyedDiff(const google::protobuf::RepeatedPtrField<T>& before,
               const google::protobuf::RepeatedPtrField<T>& after, KeyFn key, AddedFn added,
               RemovedFn removed, ChangedFn changed) {
  std::map<std::string, std::vector<const T*>> old;
  for (const T& x : before) old[key(x)].push_back(&x);
  std::map<std::string, size_t> paired;
  std::vector<std::pair<const T*, const T*>> steps;  // (old or null, new)
  for (const T& x : after) {
    const std::string k = key(x);
    auto it = old.find(k);
    size_t& n = paired[k];
    if (it != old.end() && n < it->second.size()) {
      steps.emplace_back(it->second[n++], &x);
    } else {
      steps.emplace_back(nullptr, &x);
    }
  }
  std::map<std::string, size_t> seen;
  for (const T& x : before) {
    const std::string k = key(x);
    auto it = paired.find(k);
    if (seen[k]++ >= (it == paired.end() ? 0 : it->second)) removed(x);
  }
  for (const auto& [a, b] : steps) {
    if (a == nullptr) {
      added(*b);
    } else {
      changed(*a, *b);
    }
  }
}

// The renderers, one per fact kind (FactReport field name in brackets).
void RenderSshd(const v1::SshdConfigFact& before, const v1::SshdConfigFact& after,
                Lines& out);  // [sshd] sshd_diff.cc
void RenderAuthorizedKeys(const v1::AuthorizedKeysFact& before, const v1::AuthorizedKeysFact& after,
                          Lines& out);  // [authorized_keys] keys_diff.cc
void RenderSockets(const v1::SocketsFact& before, const v1::SocketsFact& after,
                   Lines& out);  // [sockets] network_diff.cc
void RenderFirewall(const v1::FirewallFact& before, const v1::FirewallFact& after,
                    Lines& out);  // [firewall] network_diff.cc
void RenderAccounts(const v1::AccountsFact& before, const v1::AccountsFact& after,
                    Lines& out);  // [accounts] accounts_diff.cc (sudo rules too)
void RenderPam(const v1::PamFact& before, const v1::PamFact& after,
               Lines& out);  // [pam] pam_diff.cc
void RenderTls(const v1::TlsFact& before, const v1::TlsFact& after,
               Lines& out);  // [tls] tls_diff.cc
void RenderDisks(const v1::DisksFact& before, const v1::DisksFact& after,
                 Lines& out);  // [disks] volatile_diff.cc
void RenderLogrotate(const v1::LogrotateFact& before, const v1::LogrotateFact& after,
                     Lines& out);  // [logrotate] volatile_diff.cc
void RenderShellHistory(const v1::ShellHistoryFact& before, const v1::ShellHistoryFact& after,
                        Lines& out);  // [shell_history] host_diff.cc
void RenderRelease(const v1::ReleaseFact& before, const v1::ReleaseFact& after,
                   Lines& out);  // [release] host_diff.cc
void RenderTime(const v1::TimeFact& before, const v1::TimeFact& after,
                Lines& out);  // [time] host_diff.cc
void RenderServices(const v1::ServicesFact& before, const v1::ServicesFact& after, Lines& out);
void RenderSwarm(const v1::SwarmFact& before, const v1::SwarmFact& after,
                 Lines& out);  // [swarm] host_diff.cc

}  // namespace preflight::collector::diff

#endif  // PREFLIGHT_COLLECTOR_DIFF_RENDERER_H_
