#include "collector/readiness/countryconfig_versions.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "collector/checks/release_version.h"

namespace preflight::collector {

namespace {

bool IsManager(const v1::InventoryHost& host) {
  return std::find(host.roles().begin(), host.roles().end(), "manager") != host.roles().end();
}

// The image without its tag: "ghcr.io/opencrvs/ocrvs-farajaland:v1.9.3" is
// of repository "ghcr.io/opencrvs/ocrvs-farajaland" (a registry's port,
// "registry:5000/x", is not a tag). ServiceState.image has no digest.
std::string Repository(absl::string_view image) {
  image = image.substr(0, image.find('@'));
  const size_t slash = image.rfind('/');
  const size_t colon = image.rfind(':');
  if (colon != absl::string_view::npos && (slash == absl::string_view::npos || colon > slash)) {
    image = image.substr(0, colon);
  }
  return std::string(image);
}

// No tag, or "latest": a moving name, no release to compare.
bool Untagged(const std::string& version) { return version.empty() || version == "latest"; }

std::string Problem(const ServicesReport& r) {
  if (r.services == nullptr) {
    return "its agent sends no services fact (an agent older than application evidence: "
           "upgrade it)";
  }
  const v1::Collection& c = r.services->collection();
  if (c.state() != v1::Collection::OK) {
    std::string why =
        !c.error().empty() ? c.error()
        : c.state() == v1::Collection::ABSENT
            ? std::string("no swarm services here")
            : absl::StrCat("the services fact is ", v1::Collection::State_Name(c.state()));
    if (!c.unreadable().empty()) {
      absl::StrAppend(&why, " (", c.unreadable(0).path(), ": ", c.unreadable(0).error(), ")");
    }
    return why.substr(0, 500);
  }
  return absl::StrCat("no countryconfig service among its ", r.services->services_size(),
                      " swarm services");
}

// One side's distinct country configurations: a repository and version,
// with the hosts (and services) that report it.
struct Variant {
  std::string repository;
  std::string version;  // NormalVersion
  const v1::CountryconfigVersion* first = nullptr;
  std::vector<std::string> hosts;
  std::vector<std::string> services;
};

struct Side {
  const char* environment;
  std::vector<Variant> variants;
  std::vector<std::string> problems;      // "host: why"
  std::vector<std::string> managers;      // in the inventory
  std::vector<std::string> not_reported;  // managers with no report
};

void AddUnique(std::vector<std::string>& list, const std::string& s) {
  if (std::find(list.begin(), list.end(), s) == list.end()) list.push_back(s);
}

Side SideOf(const char* environment, const v1::Inventory& inventory,
            const std::vector<ServicesReport>& reports,
            const v1::CountryconfigComparison& comparison) {
  Side side{environment, {}, {}, {}, {}};
  for (const v1::InventoryHost& h : inventory.hosts()) {
    if (h.environment() != environment || !IsManager(h)) continue;
    side.managers.push_back(h.id());
    const bool reported = std::any_of(reports.begin(), reports.end(), [&](const ServicesReport& r) {
      return r.reporter != nullptr && r.reporter->id() == h.id();
    });
    if (!reported) side.not_reported.push_back(h.id());
  }
  for (const v1::CountryconfigVersion& v : comparison.versions()) {
    if (v.environment() != environment) continue;
    if (!v.problem().empty()) {
      side.problems.push_back(absl::StrCat(v.reported_by(), ": ", v.problem()));
      continue;
    }
    const std::string repository = Repository(v.image());
    const std::string version = NormalVersion(v.version());
    auto same = std::find_if(side.variants.begin(), side.variants.end(), [&](const Variant& x) {
      return x.repository == repository && x.version == version;
    });
    if (same == side.variants.end()) {
      side.variants.push_back({repository, version, &v, {}, {}});
      same = side.variants.end() - 1;
    }
    AddUnique(same->hosts, v.reported_by());
    AddUnique(same->services, v.service());
  }
  return side;
}

std::string Hosts(const Variant& v) {
  return absl::StrCat(v.hosts.size() == 1 ? "host " : "hosts ", absl::StrJoin(v.hosts, ", "));
}

// "ghcr.io/opencrvs/ocrvs-farajaland:v1.9.3 (service opencrvs_countryconfig,
// host prod-01)"
std::string Describe(const Variant& v) {
  return absl::StrCat(v.first->image(), " (service", v.services.size() == 1 ? " " : "s ",
                      absl::StrJoin(v.services, ", "), ", ", Hosts(v), ")");
}

// Why a side tells no country configuration.
std::string Unknown(const Side& side) {
  if (side.managers.empty()) {
    return absl::StrCat("the inventory has no ", side.environment, " manager");
  }
  if (side.problems.empty()) {
    return absl::StrCat(side.environment, "'s manager", side.not_reported.size() == 1 ? " " : "s ",
                        absl::StrJoin(side.not_reported, ", "), " never reported");
  }
  std::string why = absl::StrCat(side.environment, " tells no country configuration (",
                                 absl::StrJoin(side.problems, "; "), ")");
  if (!side.not_reported.empty()) {
    absl::StrAppend(&why, "; never reported: ", absl::StrJoin(side.not_reported, ", "));
  }
  return why;
}

std::string Several(const Side& side) {
  std::vector<std::string> each;
  for (const Variant& v : side.variants) each.push_back(Describe(v));
  return absl::StrCat(side.environment,
                      " lists more than one country configuration: ", absl::StrJoin(each, "; "),
                      " (a deploy under way, a manager's report out of date, or two "
                      "countryconfig services)");
}

// Why a countryconfig service's spec may not be what runs; "" when settled.
std::string Unsettled(const v1::ServiceState& s) {
  std::vector<std::string> why;
  if (!s.update_state().empty() && s.update_state() != "completed") {
    why.push_back(absl::StrCat("its last update is ", s.update_state()));
  }
  if (s.replicas_known() && s.running() < s.desired()) {
    why.push_back(absl::StrCat(s.running(), " of ", s.desired(), " tasks running"));
  }
  if (why.empty()) return "";
  return absl::StrCat(s.name(), " (", s.image(), ") is not settled: ", absl::StrJoin(why, ", "),
                      "; its tasks may run another version");
}

}  // namespace

v1::CountryconfigComparison CompareCountryconfig(const v1::Inventory& inventory,
                                                 const std::vector<ServicesReport>& reports,
                                                 absl::Time now, absl::Duration stale_after) {
  v1::CountryconfigComparison out;
  for (const ServicesReport& r : reports) {
    if (r.reporter == nullptr) continue;
    const absl::Time arrived = absl::FromUnixMillis(
        r.received_at_unix_ms != 0 ? r.received_at_unix_ms : r.collected_at_unix_ms);
    if (stale_after > absl::ZeroDuration() && now - arrived > stale_after) {
      v1::CountryconfigVersion* v = out.add_versions();
      v->set_environment(r.reporter->environment());
      v->set_reported_by(r.reporter->id());
      v->set_seen_at_unix_ms(r.collected_at_unix_ms);
      v->set_problem(
          absl::StrCat("its latest report arrived ",
                       absl::FormatDuration(absl::Floor(now - arrived, absl::Seconds(1))),
                       " ago (stale after ", absl::FormatDuration(stale_after),
                       "): what it says of the country configuration may be out of date"));
      continue;
    }
    auto entry = [&] {
      v1::CountryconfigVersion* v = out.add_versions();
      v->set_environment(r.reporter->environment());
      v->set_reported_by(r.reporter->id());
      v->set_seen_at_unix_ms(r.collected_at_unix_ms);
      return v;
    };
    bool any = false;
    if (r.services != nullptr && r.services->collection().state() == v1::Collection::OK) {
      for (const v1::ServiceState& s : r.services->services()) {
        if (!s.countryconfig()) continue;
        any = true;
        v1::CountryconfigVersion* v = entry();
        v->set_service(s.name());
        v->set_image(s.image());
        v->set_version(s.version());
        if (std::string unsettled = Unsettled(s); !unsettled.empty()) v->set_problem(unsettled);
      }
    }
    if (!any) entry()->set_problem(Problem(r));
  }

  const Side production = SideOf(kProductionEnvironment, inventory, reports, out);
  const Side staging = SideOf(kStagingEnvironment, inventory, reports, out);
  auto not_compared = [&](const std::string& why) {
    out.set_outcome(v1::CountryconfigComparison::NOT_COMPARED);
    out.set_summary(
        absl::StrCat("country configuration: production not compared with staging: ", why));
    return out;
  };
  auto different = [&](const std::string& what) {
    out.set_outcome(v1::CountryconfigComparison::DIFFERENT);
    out.set_summary(absl::StrCat("country configuration: ", what));
    return out;
  };
  if (production.variants.empty() && staging.variants.empty()) {
    return not_compared(absl::StrCat(Unknown(production), "; ", Unknown(staging)));
  }
  if (production.variants.empty()) return not_compared(Unknown(production));
  if (staging.variants.empty()) return not_compared(Unknown(staging));
  if (production.variants.size() > 1 || staging.variants.size() > 1) {
    std::vector<std::string> parts;
    for (const Side* side : {&production, &staging}) {
      if (side->variants.size() > 1) parts.push_back(Several(*side));
    }
    return different(absl::StrCat(absl::StrJoin(parts, "; "),
                                  ": which one production runs against staging cannot be told"));
  }
  const Variant& p = production.variants[0];
  const Variant& s = staging.variants[0];
  for (const Variant* v : {&p, &s}) {
    if (Untagged(v->first->version())) {
      return not_compared(absl::StrCat(v == &p ? "production" : "staging", " runs ", Describe(*v),
                                       ", an image without a version tag: it names no release"));
    }
  }
  const std::string both =
      absl::StrCat("production runs ", p.first->image(), " (", Hosts(p), "), staging runs ");
  if (p.repository != s.repository) {
    return different(absl::StrCat(both, s.first->image(), " (", Hosts(s),
                                  "): production's country configuration is not the image "
                                  "tested on staging"));
  }
  if (p.version != s.version) {
    return different(absl::StrCat(both, s.first->version(), " (", Hosts(s),
                                  "): production's version was not the one last tested on "
                                  "staging"));
  }
  out.set_outcome(v1::CountryconfigComparison::SAME);
  out.set_summary(absl::StrCat("country configuration: ", both,
                               p.first->image() == s.first->image()
                                   ? "the same"
                                   : absl::StrCat(s.first->image(), ", the same version"),
                               " (", Hosts(s), "): the version tested on staging"));
  return out;
}

}  // namespace preflight::collector
