#include "agent/facts/service_container.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/facts/fact_collector.h"
#include "agent/facts/mask.h"

namespace preflight::agent {

const char kContainerListFormat[] = "{{.ID}}\t{{.Label \"com.docker.swarm.service.name\"}}";

namespace {

constexpr absl::string_view kPs = "docker ps";
constexpr size_t kMaxError = 300;

bool IsHexId(absl::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
  });
}

std::string CleanError(absl::string_view err) {
  return CutUtf8(MaskSecrets(absl::StripAsciiWhitespace(err)), kMaxError);
}

}  // namespace

std::string CutUtf8(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  return s;
}

std::vector<std::string> ContainerListArgv() {
  return {"docker",   "ps",
          "--filter", "label=com.docker.swarm.service.name",
          "--format", kContainerListFormat};
}

std::string FindServiceContainer(absl::string_view docker_ps_out, absl::string_view service) {
  const std::string suffix = absl::StrCat("_", service);
  for (absl::string_view line : absl::StrSplit(docker_ps_out, '\n')) {
    std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits('\t', 1));
    if (f.size() != 2) continue;
    absl::string_view id = absl::StripAsciiWhitespace(f[0]);
    absl::string_view name = absl::StripAsciiWhitespace(f[1]);
    if (name != service && !absl::EndsWith(name, suffix)) continue;
    // Docker ids are hex: nothing else goes into the next argv.
    if (!IsHexId(id)) continue;
    return std::string(id);
  }
  return "";
}

std::optional<std::string> LocateServiceContainer(HostEnv& env, v1::Collection& collection,
                                                  absl::string_view service,
                                                  absl::string_view where) {
  auto ps = env.Run(ContainerListArgv(), absl::Seconds(15));
  if (!ps.ok()) {
    // The source is on for this host, yet docker cannot be run (not
    // installed, or under --root not recorded): nothing was assessed, so an
    // ERROR (the checks say UNKNOWN), never ABSENT, which would read as "the
    // service runs on another node". A read error is also noted unreadable.
    const bool missing = absl::IsNotFound(ps.status()) || absl::IsUnavailable(ps.status());
    if (!missing) NoteUnreadable(collection, kPs, ps.status());
    collection.set_state(v1::Collection::ERROR);
    collection.set_error(
        absl::StrCat(kPs, ": ", ps.status().message(),
                     missing ? " (the source is on, but docker cannot be run)" : ""));
    return std::nullopt;
  }
  if (ps->exit_code != 0 || ps->timed_out) {
    std::string err = CleanError(ps->err);
    if (absl::StrContains(absl::AsciiStrToLower(err), "permission denied")) {
      NoteUnreadable(collection, kPs, absl::PermissionDeniedError(err));
    }
    collection.set_state(v1::Collection::ERROR);
    collection.set_error(
        absl::StrCat(kPs, ps->timed_out ? " timed out" : absl::StrCat(" exited ", ps->exit_code),
                     err.empty() ? "" : ": ", err));
    return std::nullopt;
  }
  std::string container = FindServiceContainer(ps->out, service);
  if (container.empty()) {
    collection.set_state(v1::Collection::ABSENT);
    collection.set_error(absl::StrCat("no ", service, " container runs on this node (", kPs,
                                      " lists no task of a service named ", service, " or *_",
                                      service, "; OpenCRVS places it ", where, ")"));
    return std::nullopt;
  }
  return container;
}

std::optional<std::string> RunInContainer(HostEnv& env, v1::Collection& collection,
                                          const std::vector<std::string>& argv,
                                          absl::Duration timeout, absl::string_view step,
                                          absl::string_view missing) {
  auto run = env.Run(argv, timeout);
  if (!run.ok()) {
    NoteUnreadable(collection, step, run.status());
    collection.set_state(v1::Collection::ERROR);
    collection.set_error(absl::StrCat(step, ": ", run.status().message()));
    return std::nullopt;
  }
  if (run->exit_code != 0 || run->timed_out) {
    std::string err = CleanError(run->err);
    collection.set_state(v1::Collection::ERROR);
    collection.set_error(absl::StrCat(
        step, run->timed_out ? " timed out" : absl::StrCat(" exited ", run->exit_code),
        run->exit_code == 127 ? absl::StrCat(" (", missing, " not in the container)") : "",
        err.empty() ? "" : ": ", err));
    return std::nullopt;
  }
  return std::move(run->out);
}

}  // namespace preflight::agent
