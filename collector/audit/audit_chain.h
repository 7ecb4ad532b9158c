// The audit trail's hash chain. Each entry's hash is SHA-256 over the previous
// entry's hash followed by a canonical encoding of the entry:
//   u64 seq, i64 at_unix_ms (big-endian), then actor, action, subject, detail,
//   each as a big-endian u32 length and its bytes.
// The first entry's previous hash is empty. Verification walks the stored
// entries in sequence order and names the first entry that does not fit:
// modified (its hash no longer matches), removed (a gap in the sequence, or
// the head points past the end), or reordered (an entry under another
// sequence number, or a previous-hash that is not its predecessor's).
#ifndef PREFLIGHT_COLLECTOR_AUDIT_AUDIT_CHAIN_H_
#define PREFLIGHT_COLLECTOR_AUDIT_AUDIT_CHAIN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "preflight/v1/checklist.pb.h"

namespace preflight::collector {

std::string CanonicalAuditEncoding(const v1::AuditEntry& entry);

// SHA-256(prev_hash || CanonicalAuditEncoding(entry)), 32 raw bytes.
std::string AuditHash(const std::string& prev_hash, const v1::AuditEntry& entry);

// Fills seq, prev_hash and hash of `entry` to follow an entry (head_seq,
// head_hash); head_seq 0 means the chain is empty.
void ChainAuditEntry(uint64_t head_seq, const std::string& head_hash, v1::AuditEntry& entry);

struct AuditVerification {
  bool ok = true;
  std::vector<std::string> problems;  // "entry 7: modified (...)", ...
  // VerifyAuditAnchor: the anchored entry is older than the trail kept (a
  // checkpoint pruned it): neither proven nor disproven. ok is false.
  bool pruned = false;
};

// Retention. Entries older than the collector's audit_retention_days are
// pruned, and a "checkpoint" entry, chained like any other in the same
// synced write, records the first entry kept and the hash of the last one
// pruned: the trail then verifies from that entry on, the carried hash in
// place of its predecessor's. Checkpoints are entries, so a later prune may
// drop an older one; the newest carries the chain forward.
struct AuditCheckpoint {
  uint64_t first_pruned = 0;  // 1, or the previous checkpoint's first_kept
  uint64_t first_kept = 0;
  std::string last_pruned_hash;  // the hash of entry first_kept - 1
  std::string reason;            // "older than 400 days"
};
// The checkpoint entry (actor "collector", action "checkpoint"); seq and
// hashes are filled when it is chained.
v1::AuditEntry AuditCheckpointEntry(const AuditCheckpoint& checkpoint, int64_t at_unix_ms);
// Whether `entry` is a checkpoint, and what it records.
bool ParseAuditCheckpoint(const v1::AuditEntry& entry, AuditCheckpoint* checkpoint);

// `stored` as read from the store in key order, each with the sequence number
// of its key; (head_seq, head_hash) as the store recorded its newest entry.
struct StoredAuditEntry {
  uint64_t key_seq = 0;
  v1::AuditEntry entry;
};
// A trail that does not start at entry 1 starts where its newest
// checkpoint says, with the hash that checkpoint carries.
AuditVerification VerifyAuditChain(const std::vector<StoredAuditEntry>& stored, uint64_t head_seq,
                                   const std::string& head_hash);

std::string HexOf(const std::string& bytes);

// Anchors: the chain's head written down outside the store, as "HEX@SEQ"
// (the hash of entry SEQ in hex). Whoever holds the data directory can
// rewrite the chain and its head consistently; a rewrite of any entry up to
// SEQ no longer reproduces an anchor kept elsewhere (the journal, syslog
// forwarded off the host, an export on someone's disk).
std::string FormatAuditAnchor(uint64_t seq, const std::string& hash);
// Parses "HEX@SEQ" (64 hex digits, SEQ >= 1); false when malformed.
bool ParseAuditAnchor(const std::string& text, uint64_t* seq, std::string* hash);
// Announces a new head: a syslog line (facility authpriv, ident
// preflight-collector; the system journal under systemd) and a line on
// standard error, both "audit anchor HEX@SEQ".
void AnnounceAuditAnchor(uint64_t seq, const std::string& hash);
// Whether `entries` (the whole trail, in sequence order, as a collector
// returns them) still contain the anchored entry: every hash is recomputed
// from the first entry on, so an entry edited and rehashed before SEQ, a
// removed or reordered entry, or a trail cut short of SEQ fails. A pruned
// trail is recomputed from its newest checkpoint's first kept entry: an
// anchor of the last pruned entry is checked against the hash the
// checkpoint carries; an older one is `pruned` (not ok, and not broken).
AuditVerification VerifyAuditAnchor(const std::vector<v1::AuditEntry>& entries, uint64_t seq,
                                    const std::string& hash);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_AUDIT_AUDIT_CHAIN_H_
