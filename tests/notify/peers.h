// The notification tests' real protocol peers (tests/notify/*.py, run with
// Debian's /usr/bin/python3): an SMTP server (aiosmtpd, STARTTLS and AUTH),
// an HTTPS listener and an HTTP CONNECT proxy. Each writes what it received
// into a directory, one file per message.
#ifndef PREFLIGHT_TESTS_NOTIFY_PEERS_H_
#define PREFLIGHT_TESTS_NOTIFY_PEERS_H_

#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace preflight::testing {

class Peer {
 public:
  // Starts /usr/bin/python3 <script> args... with --port-file, and waits
  // (60 s at most: python starts slowly on a loaded machine) for the port. Aborts the test on failure.
  Peer(const std::string& dir, const std::string& script, std::vector<std::string> args);
  int port() const { return port_; }
  // What it received, one string per message, oldest first.
  std::vector<std::string> Received() const;
  const std::string& out_dir() const { return out_dir_; }
  void Kill() { process_.reset(); }

 private:
  std::string out_dir_;
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

// aiosmtpd with STARTTLS (cert/key), AUTH for user/password when user is
// not empty; `plain`: no TLS offered.
std::unique_ptr<Peer> StartSmtpPeer(const std::string& dir, const std::string& cert,
                                    const std::string& key, const std::string& user,
                                    const std::string& password, bool plain = false);
// An HTTPS listener answering every POST with `status`.
std::unique_ptr<Peer> StartHttpsPeer(const std::string& dir, const std::string& cert,
                                     const std::string& key, int status = 200);
// A CONNECT proxy; out_dir()/log lists the tunnels' targets.
std::unique_ptr<Peer> StartProxyPeer(const std::string& dir);

}  // namespace preflight::testing

#endif  // PREFLIGHT_TESTS_NOTIFY_PEERS_H_
