// The event watch (event_watch.h).
#include "collector/service/event_watch.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "collector/readiness/engine.h"
#include "collector/readiness/unknown_nodes.h"
#include "collector/service/own_certificates.h"
#include "collector/service/unknown_node_listing.h"
#include "proto/wire/revocation.h"
#include "proto/wire/status.h"

namespace preflight::collector {
namespace {

// Defaults of Notifications (config.proto).
constexpr uint32_t kDefaultExpiryWarnDays = 14;
constexpr uint32_t kDefaultCrlWarnHours = 72;
// State keys read per call at most (hosts stale at once; things expiring).
constexpr size_t kMaxStateKeys = 1 << 20;
// Reasons quoted in a FLEET_VERDICT summary.
constexpr size_t kFleetReasons = 3;

std::string Left(absl::Duration left) {
  if (left <= absl::ZeroDuration()) return "already";
  const int64_t hours = absl::ToInt64Hours(left);
  return hours >= 48 ? absl::StrCat("in ", hours / 24, " day(s)")
                     : absl::StrCat("in ", hours, " hour(s)");
}

v1::Event MakeEvent(v1::Event::Kind kind, std::string dedup_key, std::string summary,
                    bool regression) {
  v1::Event e;
  e.set_kind(kind);
  e.set_dedup_key(std::move(dedup_key));
  e.set_summary(std::move(summary));
  e.set_regression(regression);
  e.set_actor("collector");
  return e;
}

}  // namespace

absl::StatusOr<size_t> WatchForEvents(CollectorState& state, absl::Time now) {
  Store& store = *state.store;
  const CollectorSettings& settings = state.settings;
  const v1::Policy& policy = settings.policy;
  const v1::Notifications& notify = settings.config.notifications();
  const absl::Duration warn_ahead = absl::Hours(
      24 * (notify.expiry_warn_days() > 0 ? notify.expiry_warn_days() : kDefaultExpiryWarnDays));
  const absl::Duration crl_ahead =
      absl::Hours(notify.crl_warn_hours() > 0 ? notify.crl_warn_hours() : kDefaultCrlWarnHours);
  Store::StateWrite write;

  // Hosts and the fleet verdict, as `preflightctl status` decides them.
  ASSIGN_OR_RETURN(std::vector<v1::Waiver> all_waivers, store.AllWaivers());
  std::map<std::string, std::vector<v1::Waiver>> waivers;
  for (const v1::Waiver& w : all_waivers) waivers[w.host_id()].push_back(w);
  ASSIGN_OR_RETURN(std::vector<v1::Attestation> attestations, store.Attestations());
  ASSIGN_OR_RETURN(auto stale_keys, store.ScanState(kWatchStalePrefix, kMaxStateKeys));
  std::map<std::string, std::string> was_stale;  // host -> since (ms)
  for (auto& [key, since] : stale_keys) {
    was_stale[key.substr(kWatchStalePrefix.size())] = std::move(since);
  }
  FleetVerdict verdict(policy);
  static const std::vector<v1::Waiver> kNone;
  for (const v1::InventoryHost& h : settings.inventory.hosts()) {
    ASSIGN_OR_RETURN(std::optional<v1::HostVerdicts> latest, store.LatestVerdicts(h.id()));
    auto w = waivers.find(h.id());
    const v1::HostStatus status = BuildHostStatus(state.registry, h, policy, latest, now,
                                                  w == waivers.end() ? kNone : w->second);
    const v1::HostSummary summary = SummarizeHost(status);
    verdict.AddHost(summary);
    const std::string key = absl::StrCat(kWatchStalePrefix, h.id());
    const std::string last = FormatCrlTime(absl::FromUnixMillis(summary.last_report_unix_ms()));
    auto was = was_stale.find(h.id());
    if (summary.reported() && summary.stale() && was == was_stale.end()) {
      v1::Event e = MakeEvent(
          v1::Event::HOST_STALE, absl::StrCat("stale/", h.id(), "/", summary.last_report_unix_ms()),
          absl::StrCat(h.id(), " (", h.environment(), ") has not reported since ", last,
                       " (staleness window ", policy.staleness_seconds(),
                       " s): is its agent running and can it reach the collector?"),
          true);
      e.set_host_id(h.id());
      e.set_environment(h.environment());
      write.events.push_back(std::move(e));
      write.put.emplace_back(key, absl::StrCat(summary.last_report_unix_ms()));
    } else if (!(summary.reported() && summary.stale()) && was != was_stale.end()) {
      if (summary.reported()) {
        v1::Event e = MakeEvent(
            v1::Event::HOST_FRESH,
            absl::StrCat("fresh/", h.id(), "/", summary.last_report_unix_ms()),
            absl::StrCat(h.id(), " (", h.environment(), ") reports again (last report ", last, ")"),
            false);
        e.set_host_id(h.id());
        e.set_environment(h.environment());
        write.events.push_back(std::move(e));
      }
      write.erase.push_back(key);
    }
    if (was != was_stale.end()) was_stale.erase(was);
  }
  // Hosts no longer in the inventory: forgotten without an event.
  for (const auto& [host, since] : was_stale) {
    write.erase.push_back(absl::StrCat(kWatchStalePrefix, host));
  }
  // Swarm nodes no inventory host accounts for, and managers whose nodes
  // could not be listed, as `preflightctl status` reads them.
  ASSIGN_OR_RETURN(const std::vector<v1::UnknownNode> unknown,
                   ListUnknownNodes(store, settings.inventory, policy));
  for (const v1::UnknownNode& node : unknown) verdict.AddUnknownNode(node);
  // Each unknown node is told once while it stays unknown (a regression on
  // a gating environment); once it is in the inventory or gone from the
  // swarm, its key goes, and it would be told again if it came back.
  ASSIGN_OR_RETURN(auto told_nodes, store.ScanState(kWatchNodePrefix, kMaxStateKeys));
  std::set<std::string> node_keys_now;
  for (const v1::UnknownNode& node : unknown) {
    const std::string key =
        node.problem().empty()
            ? absl::StrCat(kWatchNodePrefix, node.hostname(), "/", node.address())
            : absl::StrCat(kWatchNodePrefix, "unlisted/", node.reported_by());
    node_keys_now.insert(key);
    const bool told = std::any_of(told_nodes.begin(), told_nodes.end(),
                                  [&](const auto& kv) { return kv.first == key; });
    if (told) continue;
    v1::Event e = MakeEvent(
        v1::Event::UNKNOWN_NODE,
        absl::StrCat("node/", key.substr(kWatchNodePrefix.size()), "/", absl::ToUnixMillis(now)),
        UnknownNodeReason(node), node.gating());
    e.set_host_id(node.reported_by());
    e.set_environment(node.environment());
    write.events.push_back(std::move(e));
    write.put.emplace_back(key, absl::StrCat(absl::ToUnixMillis(now)));
  }
  for (const auto& [key, since] : told_nodes) {
    if (!node_keys_now.contains(key)) write.erase.push_back(key);
  }
  google::protobuf::RepeatedPtrField<v1::CheckResult> items;
  verdict.Finish(state.registry, attestations, now, &items);
  const std::string fleet = verdict.ready() ? "ready" : "not-ready";
  ASSIGN_OR_RETURN(std::optional<std::string> fleet_was, store.GetState(kWatchFleetKey));
  if (fleet_was != fleet) {
    std::vector<std::string> reasons(
        verdict.reasons().begin(),
        verdict.reasons().begin() + std::min(kFleetReasons, verdict.reasons().size()));
    const size_t more = verdict.reasons().size() - reasons.size() + verdict.reasons_left_out();
    v1::Event e = MakeEvent(
        v1::Event::FLEET_VERDICT, absl::StrCat("fleet/", fleet, "/", absl::ToUnixMillis(now)),
        verdict.ready() ? "the fleet is READY"
                        : absl::StrCat("the fleet is NOT READY: ", absl::StrJoin(reasons, "; "),
                                       more > 0 ? absl::StrCat(" (and ", more, " more)") : ""),
        !verdict.ready() && fleet_was == "ready");
    e.set_from(!fleet_was.has_value()  ? v1::CHECK_STATUS_UNSPECIFIED
               : *fleet_was == "ready" ? v1::PASS
                                       : v1::FAIL);
    e.set_to(verdict.ready() ? v1::PASS : v1::FAIL);
    write.events.push_back(std::move(e));
    write.put.emplace_back(std::string(kWatchFleetKey), fleet);
  }

  // Expiring things: the dedup keys of those in their window now.
  std::map<std::string, v1::Event> expiring;
  auto add = [&](v1::Event e) { expiring.emplace(e.dedup_key(), std::move(e)); };
  for (const v1::Waiver& w : all_waivers) {
    if (!InForce(w, now) || w.awaiting_approval()) continue;
    const absl::Time until = absl::FromUnixMillis(w.expires_at_unix_ms());
    if (until - now > warn_ahead) continue;
    const v1::InventoryHost* host = state.FindHost(w.host_id());
    v1::Event e = MakeEvent(
        v1::Event::EXCEPTION_EXPIRING,
        absl::StrCat("expiring/waiver/", w.host_id(), "/", w.check_id(), "/",
                     w.expires_at_unix_ms()),
        absl::StrCat("the waiver of ", w.check_id(), " on ", w.host_id(), " by ", w.operator_(),
                     " expires on ", FormatCrlTime(until), " (", Left(until - now),
                     "): fix the check or waive it again (`preflightctl waive`) before then"),
        true);
    e.set_host_id(w.host_id());
    e.set_check_id(w.check_id());
    if (host != nullptr) e.set_environment(host->environment());
    add(std::move(e));
  }
  for (const v1::Attestation& a : attestations) {
    if (!InForce(a, now) || a.expires_at_unix_ms() == 0) continue;
    const absl::Time until = absl::FromUnixMillis(a.expires_at_unix_ms());
    if (until - now > warn_ahead) continue;
    v1::Event e = MakeEvent(
        v1::Event::EXCEPTION_EXPIRING,
        absl::StrCat("expiring/signoff/", a.check_id(), "/", a.environment(), "/",
                     a.expires_at_unix_ms()),
        absl::StrCat("the sign-off of ", a.check_id(), " for ", a.environment(), " by ",
                     a.operator_(), " expires on ", FormatCrlTime(until), " (", Left(until - now),
                     "): sign it off again (`preflightctl attest`) before then"),
        true);
    e.set_check_id(a.check_id());
    e.set_environment(a.environment());
    add(std::move(e));
  }
  // What could not be looked at now keeps its keys (no repeat once it can).
  std::vector<std::string> unobserved;
  for (OwnCertificateWarning& w : OwnCertificateExpiries(settings.config.tls(), now, warn_ahead)) {
    if (w.cert.serial.empty()) {
      unobserved.push_back("pki/");
      continue;
    }
    add(MakeEvent(
        v1::Event::PKI_EXPIRING,
        absl::StrCat("expiring/pki/", w.cert.serial, "/", absl::ToUnixMillis(w.cert.not_after)),
        std::move(w.warning), true));
  }
  CrlState crl = state.CrlStateNow();
  if (crl.enabled && !crl.usable.ok()) unobserved.push_back("crl/");
  if (crl.enabled && crl.usable.ok() && crl.next_update != absl::InfiniteFuture() &&
      crl.next_update - now <= crl_ahead) {
    crl.now = now;
    crl.expired = crl.next_update <= now;
    add(MakeEvent(v1::Event::CRL_EXPIRING,
                  absl::StrCat("expiring/crl/", absl::ToUnixMillis(crl.next_update)),
                  CrlWarning(crl, crl_ahead), true));
  }
  ASSIGN_OR_RETURN(auto told, store.ScanState(kWatchExpiringPrefix, kMaxStateKeys));
  std::set<std::string> told_keys;
  for (const auto& [key, value] : told) {
    const std::string dedup = absl::StrCat("expiring/", key.substr(kWatchExpiringPrefix.size()));
    told_keys.insert(dedup);
    bool keep = expiring.contains(dedup);
    for (const std::string& p : unobserved) keep = keep || absl::StartsWith(dedup, "expiring/" + p);
    // Out of its window (renewed, revoked, expired, gone): forgotten, so
    // that the same date entering the window again is told again.
    if (!keep) write.erase.push_back(key);
  }
  for (auto& [dedup, e] : expiring) {
    if (told_keys.contains(dedup)) continue;
    write.put.emplace_back(absl::StrCat(kWatchExpiringPrefix, dedup.substr(strlen("expiring/"))),
                           "");
    write.events.push_back(std::move(e));
  }

  const size_t count = write.events.size();
  if (count == 0 && write.put.empty() && write.erase.empty()) return count;
  RETURN_IF_ERROR(store.WriteState(std::move(write), now));
  return count;
}

}  // namespace preflight::collector
