// Values of a fact that move on every report of a healthy host and are no
// finding by themselves: log sizes and modification times, logrotate's run
// times, bytes used and free, a clock offset of a few milliseconds, shell
// history sizes, socket inodes and process ids. The store's change-only
// history (fact_changes) compares a fact with these cleared or bucketed, so
// that a busy but healthy host does not add a change per report; the latest
// facts keep every value, and the checks judge them there.
//
// The same fields the readable diff (collector/diff/volatile_diff.cc,
// host_diff.cc, network_diff.cc) summarises in one counted line or leaves
// out; a field a renderer reports as a finding (a filesystem crossing a
// whole percent, a log no stanza rotates) stays a change here.
#ifndef PREFLIGHT_COLLECTOR_STORE_VOLATILE_FACTS_H_
#define PREFLIGHT_COLLECTOR_STORE_VOLATILE_FACTS_H_

#include <google/protobuf/message.h>

#include "absl/strings/string_view.h"

namespace preflight::collector {

// Whether fact kind `kind` (the FactReport field name) has volatile values.
bool HasVolatileValues(absl::string_view kind);

// Clears or buckets the volatile values of `fact`, a message of kind `kind`
// (nothing for other kinds).
void NormalizeVolatile(absl::string_view kind, google::protobuf::Message& fact);

// Clock offsets below this are "in step" for the history; above it they
// are bucketed by powers of two of it.
inline constexpr double kOffsetBucketMs = 50.0;

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_STORE_VOLATILE_FACTS_H_
