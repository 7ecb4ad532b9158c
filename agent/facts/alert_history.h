// Fact kind "alert_history" (checklist items 7 and 8): whether the SSH-login
// and disk-usage alerts of an OpenCRVS deployment ever fired, and for which
// hosts, read from Elasticsearch on the node that runs it. Off unless the
// agent's config enables application { elasticsearch: true }.
//
// How OpenCRVS raises these alerts: Kibana rules ("Successful SSH login",
// "Available disk space in root file system", "Low on available disk space
// in data partition") write one alert document per firing into the index
// kibana-alert-history-default (the preconfigured index connector);
// ElastAlert2 polls that index and emails through countryconfig, recording
// each alert it handled in its writeback index elastalert_status
// (rule_name, alert_sent, alert_time, match_body).
//
// Two commands, each run once per collection:
//   docker ps --filter label=com.docker.swarm.service.name --format kContainerListFormat
//     finds the running container of the swarm service named *_elasticsearch
//     on this node (OpenCRVS places it on the node labelled data1); none:
//     ABSENT, saying so.
//   docker exec <container> sh -c kSearchScript preflight <kMsearchBody>
//     one curl to localhost:9200/_msearch inside the container. The password
//     is the container's own ELASTIC_PASSWORD, expanded by the shell INSIDE
//     the container and handed to curl on its standard input (-K -): it is
//     in no argv, neither on the host nor in the container, and the agent
//     never sees it.
// The queries are aggregations (size 0): per rule the document count, the
// last @timestamp, and the rule's kMaxAlertDocuments most recent documents
// filtered by Elasticsearch to their host names (_source includes): no user
// name, source address or alert text reaches the agent. Host names that do
// not look like one are dropped.
#ifndef PREFLIGHT_AGENT_FACTS_ALERT_HISTORY_H_
#define PREFLIGHT_AGENT_FACTS_ALERT_HISTORY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agent/facts/fact_collector.h"
#include "agent/facts/service_container.h"

namespace preflight::agent {

// The error of the alert_history kind when its source is off.
inline constexpr char kElasticsearchOff[] =
    "alert history is off: set application { elasticsearch: true } in the agent's config";

// The Kibana rules read, and the ElastAlert rule that forwards each.
inline constexpr char kSshLoginRule[] = "Successful SSH login";
inline constexpr char kRootDiskRule[] = "Available disk space in root file system";
inline constexpr char kDataDiskRule[] = "Low on available disk space in data partition";

// Documents read per rule for the per-host times (Elasticsearch's default
// index.max_inner_result_window), and hosts kept per rule.
inline constexpr int kMaxAlertDocuments = 100;
inline constexpr size_t kMaxAlertHosts = 100;

// The shell script run inside the container ($1 is the _msearch body).
extern const char kSearchScript[];
// The _msearch body: the alert history query, then ElastAlert's.
extern const char kMsearchBody[];

// {"docker", "exec", container, "sh", "-c", kSearchScript, "preflight",
//  kMsearchBody}.
std::vector<std::string> SearchArgv(const std::string& container);

// The id of the running container of the service named "elasticsearch" or
// "<stack>_elasticsearch" in `docker ps --format kContainerListFormat`
// output; empty when none.
std::string FindElasticsearchContainer(absl::string_view docker_ps_out);

// Parses the _msearch response into fact.rules / history_index /
// elastalert_index. INVALID_ARGUMENT / the Elasticsearch error (type and
// reason, masked) when it is not a usable response.
absl::Status ParseAlertSearch(absl::string_view json, v1::AlertHistoryFact& fact);

// Reads no other fact. Options: application_elasticsearch.
std::unique_ptr<FactCollector> MakeAlertHistoryCollector();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_ALERT_HISTORY_H_
