#include "agent/facts/sockets.h"

#include <arpa/inet.h>

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace preflight::agent {
namespace {

constexpr size_t kMaxSockets = 65536;
constexpr size_t kMaxFdsScanned = 200'000;

bool HexByte(absl::string_view s, uint8_t& out) {
  int v = 0;
  for (char c : s) {
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= c - '0';
    else if (c >= 'a' && c <= 'f')
      v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v |= c - 'A' + 10;
    else
      return false;
  }
  out = static_cast<uint8_t>(v);
  return true;
}

// "0100007F:1F90" -> ("127.0.0.1", 8080). The kernel prints each 32-bit
// word in host (little-endian) order.
bool DecodeEndpoint(absl::string_view hex, bool v6, std::string& addr, uint32_t& port) {
  size_t colon = hex.find(':');
  if (colon == absl::string_view::npos) return false;
  absl::string_view a = hex.substr(0, colon), p = hex.substr(colon + 1);
  size_t want = v6 ? 32 : 8;
  if (a.size() != want || p.size() != 4) return false;
  uint8_t bytes[16];
  for (size_t word = 0; word < want / 8; ++word) {
    for (size_t b = 0; b < 4; ++b) {
      uint8_t v;
      if (!HexByte(a.substr(word * 8 + b * 2, 2), v)) return false;
      bytes[word * 4 + (3 - b)] = v;
    }
  }
  uint8_t hi, lo;
  if (!HexByte(p.substr(0, 2), hi) || !HexByte(p.substr(2, 2), lo)) return false;
  port = (static_cast<uint32_t>(hi) << 8) | lo;
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(v6 ? AF_INET6 : AF_INET, bytes, buf, sizeof buf) == nullptr) return false;
  addr = buf;
  return true;
}

}  // namespace

v1::AddressScope ScopeOf(absl::string_view address) {
  std::string a(address);
  unsigned char b[16];
  if (inet_pton(AF_INET, a.c_str(), b) == 1) {
    uint32_t ip = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
    auto in = [&](uint32_t net, int bits) {
      uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
      return (ip & mask) == (net & mask);
    };
    if (ip == 0) return v1::ANY;
    if (in(0x7F000000, 8)) return v1::LOOPBACK;
    if (in(0x0A000000, 8) || in(0xAC100000, 12) || in(0xC0A80000, 16) || in(0x64400000, 10) ||
        in(0xA9FE0000, 16)) {
      return v1::PRIVATE;
    }
    return v1::PUBLIC;
  }
  if (inet_pton(AF_INET6, a.c_str(), b) == 1) {
    static const unsigned char kZero[16] = {};
    if (std::equal(b, b + 16, kZero)) return v1::ANY;
    unsigned char loop[16] = {};
    loop[15] = 1;
    if (std::equal(b, b + 16, loop)) return v1::LOOPBACK;
    bool mapped = std::all_of(b, b + 10, [](unsigned char c) { return c == 0; }) && b[10] == 0xff &&
                  b[11] == 0xff;
    if (mapped) return ScopeOf(absl::StrCat(b[12], ".", b[13], ".", b[14], ".", b[15]));
    if ((b[0] & 0xfe) == 0xfc) return v1::PRIVATE;                  // fc00::/7
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return v1::PRIVATE;  // fe80::/10
    return v1::PUBLIC;
  }
  return v1::ADDRESS_SCOPE_UNSPECIFIED;
}

std::vector<v1::ListeningSocket> ParseProcNet(absl::string_view content, absl::string_view file,
                                              absl::string_view protocol, bool v6,
                                              std::vector<v1::ParseProblem>& problems) {
  std::vector<v1::ListeningSocket> out;
  uint32_t line_no = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++line_no;
    if (line_no == 1) continue;  // header
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.empty()) continue;
    if (f.size() < 10) {
      v1::ParseProblem p;
      p.set_file(std::string(file));
      p.set_line(line_no);
      p.set_message("short /proc/net line");
      problems.push_back(std::move(p));
      continue;
    }
    std::string local_addr, remote_addr;
    uint32_t local_port = 0, remote_port = 0;
    if (!DecodeEndpoint(f[1], v6, local_addr, local_port) ||
        !DecodeEndpoint(f[2], v6, remote_addr, remote_port)) {
      v1::ParseProblem p;
      p.set_file(std::string(file));
      p.set_line(line_no);
      p.set_message("undecodable address");
      problems.push_back(std::move(p));
      continue;
    }
    bool listening = protocol == "tcp" ? f[3] == "0A" : (f[3] == "07" && remote_port == 0);
    if (!listening) continue;
    if (out.size() >= kMaxSockets) break;
    v1::ListeningSocket s;
    s.set_protocol(std::string(protocol));
    s.set_v6(v6);
    s.set_address(local_addr);
    s.set_port(local_port);
    s.set_scope(ScopeOf(local_addr));
    uint64_t inode = 0;
    if (absl::SimpleAtoi(f[9], &inode)) s.set_inode(inode);
    s.set_source(absl::StrCat(file, ":", line_no));
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

class SocketsCollector : public FactCollector {
 public:
  absl::string_view name() const override { return "sockets"; }
  std::vector<absl::string_view> reads() const override { return {}; }

  v1::Collection* Collect(HostEnv& env, const CollectOptions& options,
                          v1::FactReport& report) override {
    v1::SocketsFact& fact = *report.mutable_sockets();
    v1::Collection* collection = fact.mutable_collection();
    std::vector<v1::ParseProblem> problems;
    int read = 0;
    struct Source {
      const char* path;
      const char* protocol;
      bool v6;
    };
    for (const Source& src :
         {Source{"/proc/net/tcp", "tcp", false}, Source{"/proc/net/tcp6", "tcp", true},
          Source{"/proc/net/udp", "udp", false}, Source{"/proc/net/udp6", "udp", true}}) {
      // /proc files report size 0: read them with the cap, not by size.
      auto data = env.ReadFile(src.path, options.max_file_bytes);
      if (!data.ok()) {
        // An unread table hides its listeners: an exposed port must not
        // vanish because the file could not be read.
        if (NoteUnreadable(*collection, src.path, data.status())) {
          v1::ParseProblem p;
          p.set_file(src.path);
          p.set_message(std::string(data.status().message()));
          problems.push_back(std::move(p));
        }
        continue;
      }
      ++read;
      for (v1::ListeningSocket& s :
           ParseProcNet(data->content, src.path, src.protocol, src.v6, problems)) {
        *fact.add_sockets() = std::move(s);
      }
    }
    if (read == 0) {
      collection->set_state(problems.empty() ? v1::Collection::ABSENT : v1::Collection::ERROR);
      collection->set_error(problems.empty() ? "no /proc/net/{tcp,udp}[6]"
                                             : problems.front().message());
      for (auto& p : problems) *fact.add_problems() = std::move(p);
      return collection;
    }
    constexpr absl::string_view kBindV6Only = "/proc/sys/net/ipv6/bindv6only";
    if (auto b = env.ReadFile(kBindV6Only, 64); b.ok()) {
      fact.set_bindv6only(absl::StripAsciiWhitespace(b->content) == "1");
    } else {
      // Whether :: listeners take IPv4 too is unknown.
      NoteUnreadable(*collection, kBindV6Only, b.status());
    }
    AttributeProcesses(env, fact);
    for (auto& p : problems) *fact.add_problems() = std::move(p);
    collection->set_state(v1::Collection::OK);
    return collection;
  }

 private:
  // Maps socket inodes to the processes holding them.
  static void AttributeProcesses(HostEnv& env, v1::SocketsFact& fact) {
    std::map<uint64_t, v1::ListeningSocket*> by_inode;
    for (v1::ListeningSocket& s : *fact.mutable_sockets()) {
      if (s.inode() != 0) by_inode[s.inode()] = &s;
    }
    if (by_inode.empty()) return;
    auto procs = env.ListDir("/proc");
    if (!procs.ok()) return;
    size_t scanned = 0;
    size_t left = by_inode.size();  // sockets not yet attributed
    for (const DirEntry& p : *procs) {
      uint32_t pid = 0;
      if (!absl::SimpleAtoi(p.name, &pid)) continue;
      // One read of the fd directory's links (a busy manager holds
      // thousands of descriptors: Elasticsearch's files, every connection).
      auto links = env.ReadLinksIn(absl::StrCat("/proc/", p.name, "/fd"));
      if (!links.ok()) continue;
      std::string comm;
      for (const auto& [fd, target] : *links) {
        if (++scanned > kMaxFdsScanned) return;
        absl::string_view t = target;
        if (!absl::ConsumePrefix(&t, "socket:[") || !absl::ConsumeSuffix(&t, "]")) continue;
        uint64_t inode = 0;
        if (!absl::SimpleAtoi(t, &inode)) continue;
        auto it = by_inode.find(inode);
        if (it == by_inode.end() || it->second->pid() != 0) continue;
        if (comm.empty()) {
          auto c = env.ReadFile(absl::StrCat("/proc/", p.name, "/comm"), 4096);
          comm = c.ok() ? std::string(absl::StripAsciiWhitespace(c->content)) : "?";
        }
        it->second->set_pid(pid);
        it->second->set_process(comm);
        // Every listener has its process: the rest of /proc need not be read.
        if (--left == 0) return;
      }
    }
  }
};

}  // namespace

std::unique_ptr<FactCollector> MakeSocketsCollector() {
  return std::make_unique<SocketsCollector>();
}

}  // namespace preflight::agent
