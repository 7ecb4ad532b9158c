#include "agent/facts/alert_history.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/facts/mask.h"
#include "agent/facts/service_container.h"

namespace preflight::agent {

// The password is expanded here, inside the container, from its own
// environment, escaped for curl's config syntax by sed (reading it on its
// standard input), and given to curl as a config on its standard input
// (-K -). printf is a shell builtin: no process has it in its argv.
const char kSearchScript[] =
    "p=$(printf '%s' \"$ELASTIC_PASSWORD\" | sed 's/[\\\\\"]/\\\\&/g'); "
    "printf 'user = \"elastic:%s\"\\n' \"$p\" | "
    "curl -sS --max-time 20 -K - -H 'Content-Type: application/x-ndjson' "
    "-X POST http://localhost:9200/_msearch --data-binary \"$1\"";

const char kMsearchBody[] =
    "{\"index\":\"kibana-alert-history-default\"}\n"
    "{\"size\":0,\"query\":{\"terms\":{\"rule.name.keyword\":[\"Successful SSH login\","
    "\"Available disk space in root file system\","
    "\"Low on available disk space in data partition\"]}},"
    "\"aggs\":{\"rules\":{\"terms\":{\"field\":\"rule.name.keyword\",\"size\":10},"
    "\"aggs\":{\"last\":{\"max\":{\"field\":\"@timestamp\"}},"
    "\"recent\":{\"top_hits\":{\"size\":100,"
    "\"sort\":[{\"@timestamp\":{\"order\":\"desc\",\"unmapped_type\":\"date\"}}],"
    "\"_source\":{\"includes\":[\"kibana.alert.id\","
    "\"kibana.alert.context.__es-query.hits._source.host.name\","
    "\"kibana.alert.context.metrics__alert__inventory__threshold.group\"]}}}}}}}\n"
    "{\"index\":\"elastalert_status\"}\n"
    "{\"size\":0,\"query\":{\"bool\":{\"filter\":[{\"term\":{\"alert_sent\":true}},"
    "{\"terms\":{\"rule_name\":[\"ssh-alert\",\"alert\"]}}]}},"
    "\"aggs\":{\"rules\":{\"terms\":{\"field\":\"rule_name\",\"size\":10},"
    "\"aggs\":{\"last\":{\"max\":{\"field\":\"alert_time\"}}}}}}\n";

namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

constexpr absl::string_view kPs = "docker ps";
constexpr absl::string_view kExec = "docker exec (curl to Elasticsearch)";
constexpr size_t kMaxError = 300;

struct RuleSpec {
  const char* name;
  const char* elastalert;
};
constexpr RuleSpec kRules[] = {
    {kSshLoginRule, "ssh-alert"}, {kRootDiskRule, "alert"}, {kDataDiskRule, "alert"}};

const Value* Get(const Struct& s, absl::string_view key) {
  auto it = s.fields().find(std::string(key));
  return it == s.fields().end() ? nullptr : &it->second;
}
const Struct* GetStruct(const Struct& s, absl::string_view key) {
  const Value* v = Get(s, key);
  return v != nullptr && v->kind_case() == Value::kStructValue ? &v->struct_value() : nullptr;
}
const ListValue* GetList(const Struct& s, absl::string_view key) {
  const Value* v = Get(s, key);
  return v != nullptr && v->kind_case() == Value::kListValue ? &v->list_value() : nullptr;
}
// A finite number >= 0 within int64 (counts, epoch milliseconds); else -1.
double GetNumber(const Struct& s, absl::string_view key) {
  const Value* v = Get(s, key);
  if (v == nullptr || v->kind_case() != Value::kNumberValue) return -1;
  double d = v->number_value();
  if (!std::isfinite(d) || d < 0 || d > 9.0e18) return -1;
  return d;
}
std::string GetString(const Struct& s, absl::string_view key) {
  const Value* v = Get(s, key);
  return v != nullptr && v->kind_case() == Value::kStringValue ? v->string_value() : "";
}
// Follows a dotted path of objects ("kibana.alert.context").
const Struct* Path(const Struct& s, std::vector<absl::string_view> keys) {
  const Struct* at = &s;
  for (absl::string_view k : keys) {
    at = GetStruct(*at, k);
    if (at == nullptr) return nullptr;
  }
  return at;
}

// A host name as Filebeat and Metricbeat report it: letters, digits, '.',
// '-', '_'. Anything else (a user name, an address with a port, text) is not
// kept: it could be personal data.
bool LooksLikeHostName(absl::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
}

// Elasticsearch's error object ({"type": …, "reason": …}) as one masked line.
std::string EsError(const Value& error) {
  if (error.kind_case() == Value::kStringValue) {
    return CutUtf8(MaskSecrets(error.string_value()), kMaxError);
  }
  if (error.kind_case() != Value::kStructValue) return "an error";
  const Struct& e = error.struct_value();
  std::string type = GetString(e, "type");
  std::string reason = GetString(e, "reason");
  return CutUtf8(
      MaskSecrets(absl::StrCat(type.empty() ? "error" : type, reason.empty() ? "" : ": ", reason)),
      kMaxError);
}

bool IndexNotFound(const Value& error) {
  return error.kind_case() == Value::kStructValue &&
         GetString(error.struct_value(), "type") == "index_not_found_exception";
}

// The host names one alert document names: the SSH rule's matched log lines
// (host.name), or a metrics rule's group, else the alert's id (for the
// inventory rules, the host).
std::vector<std::string> HostsOf(const Struct& source, bool ssh) {
  std::vector<std::string> hosts;
  const Struct* alert = Path(source, {"kibana", "alert"});
  if (alert == nullptr) return hosts;
  const Struct* context = GetStruct(*alert, "context");
  if (ssh) {
    const Struct* query = context != nullptr ? GetStruct(*context, "__es-query") : nullptr;
    const ListValue* hits = query != nullptr ? GetList(*query, "hits") : nullptr;
    if (hits == nullptr) return hosts;
    for (const Value& hit : hits->values()) {
      if (hit.kind_case() != Value::kStructValue) continue;
      const Struct* host = Path(hit.struct_value(), {"_source", "host"});
      if (host == nullptr) continue;
      std::string name = GetString(*host, "name");
      if (LooksLikeHostName(name) && std::find(hosts.begin(), hosts.end(), name) == hosts.end()) {
        hosts.push_back(std::move(name));
      }
    }
    return hosts;
  }
  const Struct* metrics =
      context != nullptr ? GetStruct(*context, "metrics__alert__inventory__threshold") : nullptr;
  std::string name = metrics != nullptr ? GetString(*metrics, "group") : "";
  if (name.empty()) name = GetString(*alert, "id");
  if (LooksLikeHostName(name)) hosts.push_back(std::move(name));
  return hosts;
}

// The terms buckets of aggregation "rules" in one search response.
const ListValue* RuleBuckets(const Struct& response) {
  const Struct* rules = Path(response, {"aggregations", "rules"});
  return rules != nullptr ? GetList(*rules, "buckets") : nullptr;
}

absl::Status ParseHistory(const Struct& response, v1::AlertHistoryFact& fact) {
  const ListValue* buckets = RuleBuckets(response);
  if (buckets == nullptr) {
    return absl::InvalidArgumentError(
        "kibana-alert-history-default: the response has no aggregations.rules.buckets");
  }
  for (const Value& b : buckets->values()) {
    if (b.kind_case() != Value::kStructValue) continue;
    const Struct& bucket = b.struct_value();
    const std::string key = GetString(bucket, "key");
    v1::AlertRuleHistory* rule = nullptr;
    for (v1::AlertRuleHistory& r : *fact.mutable_rules()) {
      if (r.name() == key) rule = &r;
    }
    if (rule == nullptr) continue;  // not a rule asked for
    double count = GetNumber(bucket, "doc_count");
    if (count > 0) rule->set_count(static_cast<uint64_t>(count));
    if (const Struct* last = GetStruct(bucket, "last"); last != nullptr) {
      double ms = GetNumber(*last, "value");
      if (ms > 0) rule->set_last_fired_unix(static_cast<int64_t>(ms / 1000));
    }
    const Struct* recent = Path(bucket, {"recent", "hits"});
    const ListValue* hits = recent != nullptr ? GetList(*recent, "hits") : nullptr;
    if (hits == nullptr) continue;
    const bool ssh = key == kSshLoginRule;
    std::map<std::string, v1::AlertHost> hosts;
    int read = 0;
    for (const Value& h : hits->values()) {
      if (h.kind_case() != Value::kStructValue || ++read > kMaxAlertDocuments) continue;
      const Struct& hit = h.struct_value();
      int64_t when = 0;
      if (const ListValue* sort = GetList(hit, "sort");
          sort != nullptr && sort->values_size() > 0 &&
          sort->values(0).kind_case() == Value::kNumberValue) {
        double ms = sort->values(0).number_value();
        if (std::isfinite(ms) && ms > 0 && ms < 9.0e18) when = static_cast<int64_t>(ms / 1000);
      }
      const Struct* source = GetStruct(hit, "_source");
      if (source == nullptr) continue;
      for (std::string& name : HostsOf(*source, ssh)) {
        auto it = hosts.find(name);
        if (it == hosts.end()) {
          if (hosts.size() >= kMaxAlertHosts) continue;
          it = hosts.emplace(name, v1::AlertHost()).first;
          it->second.set_host(name);
        }
        it->second.set_count(it->second.count() + 1);
        if (when > it->second.last_fired_unix()) it->second.set_last_fired_unix(when);
      }
    }
    for (auto& [name, host] : hosts) *rule->add_hosts() = std::move(host);
  }
  return absl::OkStatus();
}

absl::Status ParseElastalert(const Struct& response, v1::AlertHistoryFact& fact) {
  const ListValue* buckets = RuleBuckets(response);
  if (buckets == nullptr) {
    return absl::InvalidArgumentError(
        "elastalert_status: the response has no aggregations.rules.buckets");
  }
  for (const Value& b : buckets->values()) {
    if (b.kind_case() != Value::kStructValue) continue;
    const Struct& bucket = b.struct_value();
    const std::string key = GetString(bucket, "key");
    double count = GetNumber(bucket, "doc_count");
    double ms = -1;
    if (const Struct* last = GetStruct(bucket, "last"); last != nullptr) {
      ms = GetNumber(*last, "value");
    }
    for (v1::AlertRuleHistory& r : *fact.mutable_rules()) {
      if (r.elastalert_rule() != key) continue;
      if (count > 0) r.set_sent_count(static_cast<uint64_t>(count));
      if (ms > 0) r.set_last_sent_unix(static_cast<int64_t>(ms / 1000));
    }
  }
  return absl::OkStatus();
}

class AlertHistoryCollector : public FactCollector {
 public:
  absl::string_view name() const override { return "alert_history"; }
  std::vector<absl::string_view> reads() const override { return {}; }

  v1::Collection* Collect(HostEnv& env, const CollectOptions& options,
                          v1::FactReport& report) override {
    v1::AlertHistoryFact& fact = *report.mutable_alert_history();
    v1::Collection* collection = fact.mutable_collection();
    fact.set_enabled(options.application_elasticsearch);
    if (SourceOff(options.application_elasticsearch, kElasticsearchOff, *collection))
      return collection;
    fact.set_source(std::string(kPs));
    std::optional<std::string> container =
        LocateServiceContainer(env, *collection, "elasticsearch", "on the node labelled data1");
    if (!container) return collection;
    fact.set_container(container->substr(0, 12));
    fact.set_source(absl::StrCat(kPs, ", docker exec ", fact.container(),
                                 " curl localhost:9200/_msearch (kibana-alert-history-default, "
                                 "elastalert_status)"));
    std::optional<std::string> search = RunInContainer(
        env, *collection, SearchArgv(*container), absl::Seconds(30), kExec, "sh, sed or curl is");
    if (!search) return collection;
    if (absl::Status parsed = ParseAlertSearch(*search, fact); !parsed.ok()) {
      collection->set_state(v1::Collection::ERROR);
      collection->set_error(absl::StrCat(kExec, ": ", parsed.message()));
      return collection;
    }
    collection->set_state(v1::Collection::OK);
    return collection;
  }
};

}  // namespace

std::vector<std::string> SearchArgv(const std::string& container) {
  return {"docker", "exec", container, "sh", "-c", kSearchScript, "preflight", kMsearchBody};
}

std::string FindElasticsearchContainer(absl::string_view docker_ps_out) {
  return FindServiceContainer(docker_ps_out, "elasticsearch");
}

absl::Status ParseAlertSearch(absl::string_view json, v1::AlertHistoryFact& fact) {
  fact.clear_rules();
  for (const RuleSpec& spec : kRules) {
    v1::AlertRuleHistory* r = fact.add_rules();
    r->set_name(spec.name);
    r->set_elastalert_rule(spec.elastalert);
  }
  Struct root;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &root);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Elasticsearch's answer is not a JSON object (", json.size(), " bytes)"));
  }
  if (const Value* error = Get(root, "error"); error != nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("Elasticsearch refused: ", EsError(*error)));
  }
  const ListValue* responses = GetList(root, "responses");
  if (responses == nullptr || responses->values_size() != 2 ||
      responses->values(0).kind_case() != Value::kStructValue ||
      responses->values(1).kind_case() != Value::kStructValue) {
    return absl::InvalidArgumentError("Elasticsearch's answer is not two _msearch responses");
  }
  const Struct& history = responses->values(0).struct_value();
  if (const Value* error = Get(history, "error"); error != nullptr) {
    // Kibana creates the index with the first alert it writes.
    if (!IndexNotFound(*error)) {
      return absl::FailedPreconditionError(
          absl::StrCat("kibana-alert-history-default: ", EsError(*error)));
    }
    fact.set_history_index(false);
  } else {
    fact.set_history_index(true);
    if (absl::Status s = ParseHistory(history, fact); !s.ok()) return s;
  }
  const Struct& elastalert = responses->values(1).struct_value();
  if (const Value* error = Get(elastalert, "error"); error != nullptr) {
    if (!IndexNotFound(*error)) {
      return absl::FailedPreconditionError(absl::StrCat("elastalert_status: ", EsError(*error)));
    }
    fact.set_elastalert_index(false);
  } else {
    fact.set_elastalert_index(true);
    if (absl::Status s = ParseElastalert(elastalert, fact); !s.ok()) return s;
  }
  root.Clear();
  return absl::OkStatus();
}

std::unique_ptr<FactCollector> MakeAlertHistoryCollector() {
  return std::make_unique<AlertHistoryCollector>();
}

}  // namespace preflight::agent
