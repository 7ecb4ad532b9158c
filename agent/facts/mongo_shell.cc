#include "agent/facts/mongo_shell.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/facts/mask.h"
#include "agent/facts/service_container.h"
#include "proto/wire/json_quote.h"

namespace preflight::agent {

// printf is a builtin of the container's sh: the password reaches mongo's
// prompt through the pipe and is never an argument of any program. --norc:
// no ~/.mongorc.js of the image runs. --quiet: no banner.
const char kMongoShellScript[] =
    "if [ -n \"${MONGO_INITDB_ROOT_USERNAME:-}\" ]; then "
    "printf '%s\\n' \"${MONGO_INITDB_ROOT_PASSWORD:-}\" | mongo --quiet --norc "
    "--authenticationDatabase admin --username \"$MONGO_INITDB_ROOT_USERNAME\" --password "
    "--eval \"$1\"; "
    "else mongo --quiet --norc --eval \"$1\"; fi";

namespace {
constexpr size_t kMaxError = 300;
}  // namespace

std::string MongoProgram(absl::string_view body) {
  // setSecondaryOk (4.4.1+) or setSlaveOk: mongo2 is a secondary of rs0,
  // and a direct connection may read there only when allowed.
  return absl::StrCat(
      "var preflightConn = db.getMongo();\n"
      "if (preflightConn.setSecondaryOk) { preflightConn.setSecondaryOk(); } "
      "else { preflightConn.setSlaveOk(); }\n"
      "print('');\n"
      "print('@begin');\n"
      "try {\n",
      body,
      "} catch (e) {\n"
      "  print('@error\\t' + String(e).replace(/[\\r\\n\\t]+/g, ' '));\n"
      "}\n");
}

std::string JsStringArray(const std::vector<std::string>& values) {
  std::string array = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) array += ", ";
    wire::AppendJsonQuoted(array, values[i]);
  }
  return array + "]";
}

std::vector<std::string> MongoShellArgv(const std::string& container, const std::string& js) {
  return {"docker", "exec", container, "sh", "-c", kMongoShellScript, "preflight", js};
}

const std::vector<std::string>& MongoServices() {
  static const auto* kServices = new std::vector<std::string>{"mongo1", "mongo2"};
  return *kServices;
}

std::optional<std::string> LocateMongoContainer(HostEnv& env, v1::Collection& collection) {
  std::optional<std::string> found;
  for (const std::string& service : MongoServices()) {
    v1::Collection attempt;
    found = LocateServiceContainer(env, attempt, service, "on the node labelled data1");
    if (found || attempt.state() != v1::Collection::ABSENT) {
      if (!found) collection.MergeFrom(attempt);
      return found;
    }
  }
  collection.set_state(v1::Collection::ABSENT);
  collection.set_error(
      "no container of the swarm service mongo1 or mongo2 runs on this node (OpenCRVS places "
      "MongoDB on the nodes labelled data1, data2)");
  return std::nullopt;
}

absl::StatusOr<std::string> MongoBody(absl::string_view out) {
  size_t at = 0;  // where the line after "@begin" starts
  bool begun = false;
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    at += line.size() + 1;
    if (absl::StripSuffix(line, "\r") == "@begin") {
      begun = true;
      break;
    }
  }
  if (!begun) {
    return absl::InvalidArgumentError(absl::StrCat("mongo printed no @begin line (", out.size(),
                                                   " bytes of other output): not read"));
  }
  std::string body(out.substr(std::min(at, out.size())));
  for (absl::string_view line : absl::StrSplit(body, '\n')) {
    if (absl::StartsWith(line, "@error\t") || line == "@error") {
      std::string message(absl::StripAsciiWhitespace(absl::StripPrefix(line, "@error")));
      return absl::InvalidArgumentError(
          absl::StrCat("mongo: ", CutUtf8(MaskSecrets(message), kMaxError)));
    }
  }
  return body;
}

}  // namespace preflight::agent
