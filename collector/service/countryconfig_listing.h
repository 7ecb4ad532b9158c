// The country configuration of production against staging's, read from the
// store: the latest report of every inventory host with role `manager`,
// judged by CompareCountryconfig (readiness/countryconfig_versions.h).
#ifndef PREFLIGHT_COLLECTOR_SERVICE_COUNTRYCONFIG_LISTING_H_
#define PREFLIGHT_COLLECTOR_SERVICE_COUNTRYCONFIG_LISTING_H_

#include "absl/status/statusor.h"
#include "collector/store/store.h"
#include "preflight/v1/config.pb.h"
#include "preflight/v1/query.pb.h"

namespace preflight::collector {

// Managers are a few per swarm: their latest reports are read at each call,
// as ListUnknownNodes reads them. A manager that never reported is passed
// over (CompareCountryconfig names it when its side has nothing else).
absl::StatusOr<v1::CountryconfigComparison> ListCountryconfigVersions(
    Store& store, const v1::Inventory& inventory);

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_SERVICE_COUNTRYCONFIG_LISTING_H_
