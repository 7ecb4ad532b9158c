#include "agent/facts/docker_api_exec.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "proto/wire/json_quote.h"

namespace preflight::agent {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr size_t kOutputCap = 1 << 20;  // RunCommand's cap per stream
// How long to wait for the daemon to record the exit code once the stream
// ended (it sets the code before closing the stream; this is only a guard).
constexpr absl::Duration kExitCodeWait = absl::Seconds(2);

// A container reference the daemon would resolve (an id, or a name of
// [a-zA-Z0-9][a-zA-Z0-9_.-]*), safe to put in a URL path as it is.
bool PlainReference(absl::string_view ref) {
  return !ref.empty() && ref.size() <= 256 && absl::ascii_isalnum(ref[0]) &&
         std::all_of(ref.begin(), ref.end(), [](char c) {
           return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
         });
}

std::optional<Struct> ParseObject(absl::string_view json) {
  Value value;
  if (!google::protobuf::util::JsonStringToMessage(std::string(json), &value).ok() ||
      !value.has_struct_value()) {
    return std::nullopt;
  }
  return value.struct_value();
}

const Value* Field(const Struct& s, const char* name) {
  auto it = s.fields().find(name);
  return it == s.fields().end() ? nullptr : &it->second;
}

std::string ExecCreateBody(const std::vector<std::string>& cmd) {
  std::string body = R"({"AttachStdout":true,"AttachStderr":true,"Cmd":[)";
  for (size_t i = 0; i < cmd.size(); ++i) {
    if (i > 0) body.push_back(',');
    // Bytes that are not UTF-8 become U+FFFD, as Go's encoder in the CLI
    // makes them.
    wire::AppendJsonQuoted(body, cmd[i]);
  }
  body += "]}";
  return body;
}

// The daemon's refusal as the CLI prints it; nullopt when the answer is not
// an error object with a message.
std::optional<CommandResult> Refusal(const DockerApiResponse& response) {
  auto json = ParseObject(response.body);
  if (!json.has_value()) return std::nullopt;
  const Value* message = Field(*json, "message");
  if (message == nullptr || message->kind_case() != Value::kStringValue ||
      message->string_value().empty()) {
    return std::nullopt;
  }
  CommandResult result;
  result.exit_code = 1;
  result.err = absl::StrCat("Error response from daemon: ", message->string_value(), "\n");
  return result;
}

CommandResult TimedOut() {
  CommandResult result;
  result.timed_out = true;
  return result;
}

}  // namespace

bool DemuxExecStream(absl::string_view raw, size_t cap, std::string& out, std::string& err) {
  while (!raw.empty()) {
    if (raw.size() < 8) return false;
    const unsigned char kind = static_cast<unsigned char>(raw[0]);
    if (kind > 2 || raw[1] != 0 || raw[2] != 0 || raw[3] != 0) return false;
    const uint32_t size = (uint32_t{static_cast<unsigned char>(raw[4])} << 24) |
                          (uint32_t{static_cast<unsigned char>(raw[5])} << 16) |
                          (uint32_t{static_cast<unsigned char>(raw[6])} << 8) |
                          uint32_t{static_cast<unsigned char>(raw[7])};
    raw.remove_prefix(8);
    if (size > raw.size()) return false;
    // Frames of stdin (0) are echoed to standard output, as the CLI does.
    std::string& dst = kind == 2 ? err : out;
    if (dst.size() < cap) dst.append(raw.data(), std::min<size_t>(size, cap - dst.size()));
    raw.remove_prefix(size);
  }
  return true;
}

std::optional<CommandResult> DockerApiExec(const std::vector<std::string>& argv, HostEnv& host,
                                           absl::Duration timeout) {
  if (argv.size() < 4 || argv[0] != "docker" || argv[1] != "exec" || !PlainReference(argv[2])) {
    return std::nullopt;
  }
  const absl::Time deadline = absl::Now() + timeout;
  const std::vector<std::string> cmd(argv.begin() + 3, argv.end());
  auto created = host.DockerPost(absl::StrCat("/v1.41/containers/", argv[2], "/exec"),
                                 ExecCreateBody(cmd), timeout);
  if (!created.ok()) {
    if (absl::IsDeadlineExceeded(created.status())) return TimedOut();
    return std::nullopt;
  }
  if (created->status == 404 || created->status == 409) return Refusal(*created);
  if (created->status != 201) return std::nullopt;
  auto id_json = ParseObject(created->body);
  if (!id_json.has_value()) return std::nullopt;
  const Value* id_value = Field(*id_json, "Id");
  if (id_value == nullptr || id_value->kind_case() != Value::kStringValue) return std::nullopt;
  const std::string& id = id_value->string_value();
  if (id.size() != 64 || !std::all_of(id.begin(), id.end(), [](char c) {
        return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f');
      })) {
    return std::nullopt;
  }

  auto started = host.DockerPost(absl::StrCat("/v1.41/exec/", id, "/start"),
                                 R"({"Detach":false,"Tty":false})", deadline - absl::Now());
  if (!started.ok()) {
    if (absl::IsDeadlineExceeded(started.status())) return TimedOut();
    return std::nullopt;
  }
  if (started->status != 200) return std::nullopt;
  CommandResult result;
  if (!DemuxExecStream(started->body, kOutputCap, result.out, result.err)) return std::nullopt;

  // The exit code, as the CLI reads it after the stream ended.
  const absl::Time exit_deadline = std::min(deadline, absl::Now() + kExitCodeWait);
  for (;;) {
    auto inspected = host.DockerGet(absl::StrCat("/v1.41/exec/", id, "/json"),
                                    std::max(exit_deadline - absl::Now(), absl::Milliseconds(1)));
    if (!inspected.ok() || inspected->status != 200) return std::nullopt;
    auto json = ParseObject(inspected->body);
    if (!json.has_value()) return std::nullopt;
    const Value* running = Field(*json, "Running");
    if (running != nullptr && running->kind_case() == Value::kBoolValue && running->bool_value()) {
      if (absl::Now() >= exit_deadline) return std::nullopt;
      absl::SleepFor(absl::Milliseconds(5));
      continue;
    }
    const Value* code = Field(*json, "ExitCode");
    // null (never set) is 0 to the CLI too.
    result.exit_code = 0;
    if (code != nullptr && code->kind_case() == Value::kNumberValue) {
      const double c = code->number_value();
      if (!(c >= -2147483648.0 && c <= 2147483647.0)) return std::nullopt;
      // The CLI exits with it, so the shell sees it modulo 256.
      result.exit_code = static_cast<int>(static_cast<int64_t>(c) & 0xff);
    }
    return result;
  }
}

}  // namespace preflight::agent
