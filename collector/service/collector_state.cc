#include "collector/service/collector_state.h"

#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"
#include "proto/wire/did_you_mean.h"

namespace preflight::collector {

void CollectorState::IndexHosts() {
  host_index.clear();
  for (const v1::InventoryHost& h : settings.inventory.hosts()) host_index.emplace(h.id(), &h);
}

const v1::InventoryHost* CollectorState::FindHost(absl::string_view host) const {
  if (!host_index.empty() || settings.inventory.hosts().empty()) {
    auto it = host_index.find(host);
    return it == host_index.end() ? nullptr : it->second;
  }
  for (const v1::InventoryHost& h : settings.inventory.hosts()) {  // not indexed (tests)
    if (h.id() == host) return &h;
  }
  return nullptr;
}

absl::Status CollectorState::UnknownHost(absl::string_view host) const {
  std::vector<std::string> ids;
  ids.reserve(settings.inventory.hosts_size());
  for (const v1::InventoryHost& h : settings.inventory.hosts()) ids.push_back(h.id());
  return absl::NotFoundError(
      absl::StrCat("host '", host, "' is not in the inventory", DidYouMean(host, ids)));
}

absl::Status CollectorState::UnknownCheck(absl::string_view check) const {
  std::vector<std::string> ids;
  ids.reserve(registry.all().size());
  for (const Check& c : registry.all()) ids.push_back(c.info.id());
  return absl::InvalidArgumentError(absl::StrCat(
      "there is no check '", check, "' (preflightctl checks lists them)", DidYouMean(check, ids)));
}

bool RefusalLimiter::Allow(const std::string& key, absl::Time now, int64_t* suppressed) {
  absl::MutexLock lock(&mu_);
  if (seen_.size() > 100'000) {  // forget the quiet ones; a storm of names cannot grow it
    for (auto it = seen_.begin(); it != seen_.end();) {
      auto here = it++;
      if (now - here->second.last >= window_) seen_.erase(here);
    }
  }
  auto [it, added] = seen_.try_emplace(key, Entry{now, 0});
  if (!added) {
    if (now - it->second.last < window_) {
      ++it->second.suppressed;
      return false;
    }
    it->second.last = now;
  }
  if (suppressed != nullptr) *suppressed = it->second.suppressed;
  it->second.suppressed = 0;
  return true;
}

CrlState CollectorState::CrlStateNow() const {
  return revocation ? revocation->State() : CrlState{};
}

void Log(absl::string_view message) {
  std::string line =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                   " preflight-collector: ", message, "\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace preflight::collector
