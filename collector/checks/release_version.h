// How two release versions (image tags) are compared: release.latest
// against the policy's latest_release, and the fleet's country
// configuration, production against staging (countryconfig_versions.h).
#ifndef PREFLIGHT_COLLECTOR_CHECKS_RELEASE_VERSION_H_
#define PREFLIGHT_COLLECTOR_CHECKS_RELEASE_VERSION_H_

#include <string>

#include "absl/strings/string_view.h"

namespace preflight::collector {

// `version` without a leading 'v' or 'V' ("v1.9.0" and "1.9.0" are one
// release); a lone "v" stays as it is.
std::string NormalVersion(absl::string_view version);

// Whether `a` and `b` name the same release (NormalVersion of each equal).
bool SameVersion(absl::string_view a, absl::string_view b);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_CHECKS_RELEASE_VERSION_H_
