#include "collector/audit/audit_chain.h"

#include <syslog.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "proto/wire/sha256.h"

namespace preflight::collector {
namespace {

void PutU64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutBytes(std::string& out, const std::string& s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += s;
}

}  // namespace

std::string CanonicalAuditEncoding(const v1::AuditEntry& entry) {
  std::string out;
  PutU64(out, entry.seq());
  PutU64(out, static_cast<uint64_t>(entry.at_unix_ms()));
  PutBytes(out, entry.actor());
  PutBytes(out, entry.action());
  PutBytes(out, entry.subject());
  PutBytes(out, entry.detail());
  return out;
}

std::string AuditHash(const std::string& prev_hash, const v1::AuditEntry& entry) {
  return Sha256(prev_hash + CanonicalAuditEncoding(entry));
}

void ChainAuditEntry(uint64_t head_seq, const std::string& head_hash, v1::AuditEntry& entry) {
  entry.set_seq(head_seq + 1);
  entry.set_prev_hash(head_hash);
  entry.set_hash(AuditHash(head_hash, entry));
}

namespace {

constexpr char kCheckpointAction[] = "checkpoint";
constexpr char kFirstKept[] = "first kept: ";
constexpr char kLastPrunedHash[] = "; last pruned hash: ";
constexpr char kPruned[] = "; pruned entries ";

// The newest checkpoint among `entries` (the one keeping the least), if any.
template <typename Range, typename Get>
bool NewestCheckpoint(const Range& entries, Get get, AuditCheckpoint* out) {
  bool found = false;
  for (const auto& item : entries) {
    AuditCheckpoint c;
    if (ParseAuditCheckpoint(get(item), &c) && (!found || c.first_kept > out->first_kept)) {
      *out = std::move(c);
      found = true;
    }
  }
  return found;
}

}  // namespace

v1::AuditEntry AuditCheckpointEntry(const AuditCheckpoint& c, int64_t at_unix_ms) {
  v1::AuditEntry e;
  e.set_at_unix_ms(at_unix_ms);
  e.set_actor("collector");
  e.set_action(kCheckpointAction);
  e.set_subject("audit trail");
  e.set_detail(absl::StrCat(kFirstKept, c.first_kept, kLastPrunedHash, HexOf(c.last_pruned_hash),
                            kPruned, c.first_pruned, " to ", c.first_kept - 1, " (", c.reason,
                            "); the trail verifies from entry ", c.first_kept,
                            " on, and an anchor of an entry before it can no longer be checked"));
  return e;
}

bool ParseAuditCheckpoint(const v1::AuditEntry& e, AuditCheckpoint* c) {
  if (e.action() != kCheckpointAction || e.actor() != "collector") return false;
  absl::string_view d = e.detail();
  if (!absl::ConsumePrefix(&d, kFirstKept)) return false;
  const size_t semi = d.find(kLastPrunedHash);
  if (semi == absl::string_view::npos || !absl::SimpleAtoi(d.substr(0, semi), &c->first_kept) ||
      c->first_kept < 2) {
    return false;
  }
  d.remove_prefix(semi + strlen(kLastPrunedHash));
  if (d.size() < 64) return false;
  const absl::string_view hex = d.substr(0, 64);
  for (char ch : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(ch))) return false;
  }
  c->last_pruned_hash = absl::HexStringToBytes(hex);
  d.remove_prefix(64);
  if (absl::ConsumePrefix(&d, kPruned)) {
    const size_t to = d.find(" to ");
    if (to != absl::string_view::npos) (void)absl::SimpleAtoi(d.substr(0, to), &c->first_pruned);
  }
  return true;
}

AuditVerification VerifyAuditChain(const std::vector<StoredAuditEntry>& stored, uint64_t head_seq,
                                   const std::string& head_hash) {
  AuditVerification v;
  auto problem = [&](std::string p) {
    v.ok = false;
    if (v.problems.size() < 50) v.problems.push_back(std::move(p));
  };
  uint64_t expected_seq = 1;
  std::string prev_hash;
  // Pruned: the trail starts where the newest checkpoint says.
  AuditCheckpoint checkpoint;
  if (!stored.empty() && stored.front().key_seq != 1 &&
      NewestCheckpoint(
          stored, [](const StoredAuditEntry& s) -> const v1::AuditEntry& { return s.entry; },
          &checkpoint)) {
    expected_seq = checkpoint.first_kept;
    prev_hash = checkpoint.last_pruned_hash;
  }
  for (const StoredAuditEntry& s : stored) {
    const v1::AuditEntry& e = s.entry;
    if (s.key_seq != expected_seq) {
      problem(absl::StrCat("entry ", expected_seq,
                           s.key_seq > expected_seq + 1
                               ? absl::StrCat(" to ", s.key_seq - 1, ": removed")
                               : std::string(": removed"),
                           " (the sequence jumps from ", expected_seq - 1, " to ", s.key_seq, ")"));
    }
    if (e.seq() != s.key_seq) {
      problem(absl::StrCat("entry ", s.key_seq, ": reordered (it holds entry ", e.seq(),
                           ", moved from its place)"));
    } else if (e.prev_hash() != prev_hash) {
      problem(absl::StrCat("entry ", s.key_seq,
                           ": does not follow its predecessor (previous-hash mismatch: an entry "
                           "before it was removed, reordered or modified)"));
    }
    if (AuditHash(e.prev_hash(), e) != e.hash()) {
      problem(absl::StrCat("entry ", s.key_seq, ": modified (", e.action(), " ", e.subject(),
                           " by ", e.actor(), " no longer matches its hash)"));
    }
    prev_hash = e.hash();
    expected_seq = s.key_seq + 1;
  }
  const uint64_t last = expected_seq - 1;
  if (head_seq != last) {
    problem(head_seq > last
                ? absl::StrCat("entries ", last + 1, " to ", head_seq,
                               ": removed (the head records entry ", head_seq, ")")
                : absl::StrCat("entry ", head_seq + 1, " to ", last,
                               ": not recorded by the head (appended outside the collector)"));
  } else if (head_hash != prev_hash) {
    problem(absl::StrCat("entry ", last, ": does not match the head's hash (modified)"));
  }
  return v;
}

std::string HexOf(const std::string& bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string FormatAuditAnchor(uint64_t seq, const std::string& hash) {
  return absl::StrCat(HexOf(hash), "@", seq);
}

bool ParseAuditAnchor(const std::string& text, uint64_t* seq, std::string* hash) {
  const size_t at = text.find('@');
  if (at != 64 || !absl::SimpleAtoi(text.substr(at + 1), seq) || *seq == 0) return false;
  const std::string hex = text.substr(0, at);
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  *hash = absl::HexStringToBytes(hex);
  return true;
}

void AnnounceAuditAnchor(uint64_t seq, const std::string& hash) {
  const std::string anchor = FormatAuditAnchor(seq, hash);
  syslog(LOG_AUTHPRIV | LOG_NOTICE, "preflight-collector: audit anchor %s", anchor.c_str());
  const std::string line =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                   " preflight-collector: audit anchor ", anchor, "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
}

AuditVerification VerifyAuditAnchor(const std::vector<v1::AuditEntry>& entries, uint64_t seq,
                                    const std::string& hash) {
  AuditVerification v;
  auto fail = [&](std::string p) {
    v.ok = false;
    v.problems.push_back(std::move(p));
  };
  std::string prev;
  uint64_t expected = 1;
  AuditCheckpoint checkpoint;
  if (!entries.empty() && entries.front().seq() != 1 &&
      NewestCheckpoint(
          entries, [](const v1::AuditEntry& e) -> const v1::AuditEntry& { return e; },
          &checkpoint)) {
    expected = checkpoint.first_kept;
    prev = checkpoint.last_pruned_hash;
    if (seq + 1 < expected) {
      v.ok = false;
      v.pruned = true;
      v.problems.push_back(absl::StrCat(
          "entry ", seq, " was pruned (audit retention): a checkpoint keeps the trail from entry ",
          expected,
          " on, so this anchor can neither be proven nor disproven; check an anchor of "
          "entry ",
          expected - 1, " or later"));
      return v;
    }
    if (seq + 1 == expected && hash != prev) {
      fail(absl::StrCat("entry ", seq, " was pruned, and the checkpoint says it hashed to ",
                        HexOf(prev), ", the anchor says ", HexOf(hash),
                        ": the trail up to it was rewritten"));
      return v;
    }
  }
  // An anchor of the last pruned entry holds if the kept trail chains on
  // from the hash the checkpoint carries, which is the anchored one.
  const bool anchor_pruned_last = seq + 1 == expected;
  for (const v1::AuditEntry& e : entries) {
    if (e.seq() != expected) {
      fail(absl::StrCat("entry ", expected, " is missing or out of place (found ", e.seq(), ")"));
      return v;
    }
    const std::string recomputed = AuditHash(prev, e);
    if (e.prev_hash() != prev || e.hash() != recomputed) {
      fail(absl::StrCat("entry ", e.seq(),
                        " does not chain: its stored hash is not what its "
                        "content and predecessor give"));
      return v;
    }
    if (e.seq() == seq) {
      if (recomputed != hash) {
        fail(absl::StrCat("entry ", seq, " now hashes to ", HexOf(recomputed), ", the anchor says ",
                          HexOf(hash), ": the trail up to it was rewritten"));
      }
      return v;
    }
    prev = recomputed;
    ++expected;
  }
  if (anchor_pruned_last) return v;
  fail(absl::StrCat("the trail ends at entry ", expected - 1, ", before the anchored entry ", seq,
                    ": it was cut short"));
  return v;
}

}  // namespace preflight::collector
