#include "tests/notify/peers.h"

#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "tests/support/temp_dir.h"

namespace preflight::testing {

Peer::Peer(const std::string& dir, const std::string& script, std::vector<std::string> args)
    : out_dir_(dir + "/received") {
  MakeDirs(out_dir_);
  const std::string port_file = dir + "/port";
  std::vector<std::string> argv = {"/usr/bin/python3",
                                   absl::StrCat(PREFLIGHT_NOTIFY_PEERS, "/", script)};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--port-file");
  argv.push_back(port_file);
  for (std::string& a : argv) {
    if (a == "@OUT") a = out_dir_;
  }
  process_ = Process::Start(argv, dir + "/stdout", dir + "/stderr");
  EXPECT_TRUE(WaitFor(
      [&] { return absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(port_file)), &port_); },
      absl::Seconds(60)))
      << script << " did not start: " << ReadFile(dir + "/stderr");
}

std::vector<std::string> Peer::Received() const {
  std::vector<std::string> names;
  if (DIR* d = opendir(out_dir_.c_str()); d != nullptr) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n[0] != '.' && n.find(".tmp") == std::string::npos && n != "log") names.push_back(n);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  std::vector<std::string> out;
  for (const std::string& n : names) out.push_back(ReadFile(out_dir_ + "/" + n));
  return out;
}

std::unique_ptr<Peer> StartSmtpPeer(const std::string& dir, const std::string& cert,
                                    const std::string& key, const std::string& user,
                                    const std::string& password, bool plain) {
  std::vector<std::string> args = {"--out-dir", "@OUT"};
  if (plain) {
    args.push_back("--plain");
  } else {
    args.insert(args.end(), {"--cert", cert, "--key", key});
  }
  if (!user.empty()) args.insert(args.end(), {"--user", user, "--password", password});
  return std::make_unique<Peer>(dir, "smtp_server.py", args);
}

std::unique_ptr<Peer> StartHttpsPeer(const std::string& dir, const std::string& cert,
                                     const std::string& key, int status) {
  return std::make_unique<Peer>(
      dir, "https_peer.py",
      std::vector<std::string>{"server", "--out-dir", "@OUT", "--cert", cert, "--key", key,
                               "--status", absl::StrCat(status)});
}

std::unique_ptr<Peer> StartProxyPeer(const std::string& dir) {
  MakeDirs(dir + "/received");
  return std::make_unique<Peer>(dir, "https_peer.py",
                                std::vector<std::string>{"proxy", "--log", dir + "/received/log"});
}

}  // namespace preflight::testing
