#include "agent/host/docker_api.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/host/fd.h"

namespace preflight::agent {
namespace {

constexpr char kDefaultSocket[] = "/var/run/docker.sock";
constexpr size_t kMaxHeaderBytes = 64 << 10;

// Undoes chunked transfer coding; DATA_LOSS when malformed.
absl::StatusOr<std::string> Dechunk(absl::string_view in, size_t max_bytes) {
  std::string out;
  for (;;) {
    const size_t eol = in.find("\r\n");
    if (eol == absl::string_view::npos) {
      return absl::DataLossError("chunked body: a chunk size line without its end");
    }
    absl::string_view size_line = in.substr(0, eol);
    size_line = size_line.substr(0, size_line.find(';'));  // chunk extensions
    uint64_t size = 0;
    if (!absl::SimpleHexAtoi(absl::StripAsciiWhitespace(size_line), &size)) {
      return absl::DataLossError("chunked body: a chunk size that is not hexadecimal");
    }
    in.remove_prefix(eol + 2);
    if (size == 0) return out;  // trailers, if any, are not needed
    if (size > in.size()) return absl::DataLossError("chunked body: cut short");
    if (out.size() + size > max_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat("response body larger than ", max_bytes, " bytes"));
    }
    out.append(in.data(), size);
    in.remove_prefix(size);
    if (!absl::ConsumePrefix(&in, "\r\n")) {
      return absl::DataLossError("chunked body: a chunk without its line end");
    }
  }
}

}  // namespace

std::optional<std::string> DockerSocketPath() {
  const char* host = std::getenv("DOCKER_HOST");
  if (host == nullptr || *host == '\0') return std::string(kDefaultSocket);
  absl::string_view h(host);
  if (absl::ConsumePrefix(&h, "unix://") && !h.empty()) return std::string(h);
  return std::nullopt;
}

absl::StatusOr<DockerApiResponse> ParseHttpResponse(absl::string_view raw, size_t max_bytes) {
  const size_t end = raw.find("\r\n\r\n");
  if (end == absl::string_view::npos) {
    return absl::DataLossError("HTTP response without the end of its headers");
  }
  std::vector<absl::string_view> lines = absl::StrSplit(raw.substr(0, end), "\r\n");
  absl::string_view status_line = lines[0];
  DockerApiResponse response;
  std::vector<absl::string_view> parts = absl::StrSplit(status_line, absl::MaxSplits(' ', 2));
  if (parts.size() < 2 || !absl::StartsWith(parts[0], "HTTP/1.") ||
      !absl::SimpleAtoi(parts[1], &response.status) || response.status < 100 ||
      response.status > 599) {
    return absl::DataLossError(
        absl::StrCat("not an HTTP status line: '", status_line.substr(0, 80), "'"));
  }
  std::optional<uint64_t> length;
  bool chunked = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<absl::string_view> kv = absl::StrSplit(lines[i], absl::MaxSplits(':', 1));
    if (kv.size() != 2) continue;
    absl::string_view name = absl::StripAsciiWhitespace(kv[0]);
    absl::string_view value = absl::StripAsciiWhitespace(kv[1]);
    if (absl::EqualsIgnoreCase(name, "Content-Length")) {
      uint64_t n = 0;
      if (!absl::SimpleAtoi(value, &n)) return absl::DataLossError("a bad Content-Length");
      length = n;
    } else if (absl::EqualsIgnoreCase(name, "Transfer-Encoding")) {
      chunked = absl::StrContains(absl::AsciiStrToLower(value), "chunked");
    }
  }
  absl::string_view body = raw.substr(end + 4);
  if (chunked) {
    auto decoded = Dechunk(body, max_bytes);
    if (!decoded.ok()) return decoded.status();
    response.body = *std::move(decoded);
    return response;
  }
  if (length.has_value()) {
    if (*length > max_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat("response body larger than ", max_bytes, " bytes"));
    }
    if (body.size() < *length) return absl::DataLossError("response body cut short");
    body = body.substr(0, *length);
  }
  if (body.size() > max_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("response body larger than ", max_bytes, " bytes"));
  }
  response.body = std::string(body);
  return response;
}

absl::StatusOr<DockerApiResponse> DockerApiGet(const std::string& socket_path,
                                               absl::string_view target, absl::Duration timeout,
                                               size_t max_bytes) {
  return DockerApiRequest(socket_path, "GET", target, "", timeout, max_bytes);
}

absl::StatusOr<DockerApiResponse> DockerApiRequest(const std::string& socket_path,
                                                   absl::string_view method,
                                                   absl::string_view target, absl::string_view body,
                                                   absl::Duration timeout, size_t max_bytes) {
  const absl::Time deadline = absl::Now() + timeout;
  const std::string where = absl::StrCat("Docker API at unix://", socket_path);
  sockaddr_un addr{};
  if (socket_path.empty() || socket_path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": not a usable socket path"));
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) {
    return absl::UnavailableError(absl::StrCat(where, ": socket: ", std::strerror(errno)));
  }
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS && errno != EAGAIN) {
      return absl::UnavailableError(absl::StrCat(where, ": connect: ", std::strerror(errno)));
    }
    if (WaitFd(fd.get(), POLLOUT, deadline) == 0) {
      return absl::DeadlineExceededError(absl::StrCat(where, ": connect timed out"));
    }
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      return absl::UnavailableError(absl::StrCat(where, ": connect: ", std::strerror(err)));
    }
  }
  std::string request = absl::StrCat(method, " ", target,
                                     " HTTP/1.1\r\nHost: docker\r\nUser-Agent: preflight-agent\r\n",
                                     "Accept: application/json\r\nConnection: close\r\n");
  if (!body.empty()) {
    absl::StrAppend(&request, "Content-Type: application/json\r\nContent-Length: ", body.size(),
                    "\r\n");
  }
  absl::StrAppend(&request, "\r\n", body);
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (WaitFd(fd.get(), POLLOUT, deadline) == 0) {
        return absl::DeadlineExceededError(absl::StrCat(where, ": sending timed out"));
      }
      continue;
    }
    return absl::UnavailableError(absl::StrCat(where, ": send: ", std::strerror(errno)));
  }
  // The daemon closes the connection after its answer (Connection: close).
  std::string raw;
  const size_t cap = max_bytes + kMaxHeaderBytes;
  char buf[16 << 10];
  for (;;) {
    const ssize_t n = recv(fd.get(), buf, sizeof(buf), 0);
    if (n > 0) {
      raw.append(buf, static_cast<size_t>(n));
      if (raw.size() > cap) {
        return absl::ResourceExhaustedError(absl::StrCat(where, " ", method, " ", target,
                                                         ": response larger than ", cap, " bytes"));
      }
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (WaitFd(fd.get(), POLLIN, deadline) == 0) {
        return absl::DeadlineExceededError(absl::StrCat(where, " ", method, " ", target,
                                                        ": no complete answer within ",
                                                        absl::FormatDuration(timeout)));
      }
      continue;
    }
    return absl::UnavailableError(absl::StrCat(where, ": recv: ", std::strerror(errno)));
  }
  auto response = ParseHttpResponse(raw, max_bytes);
  if (!response.ok()) {
    return absl::Status(response.status().code(), absl::StrCat(where, " ", method, " ", target,
                                                               ": ", response.status().message()));
  }
  return response;
}

}  // namespace preflight::agent
