// The collector's listening socket and its descriptors.
//
// gRPC 1.51's TCP server gives up its listener for good when accept4 fails
// with anything but EAGAIN/EINTR/ECONNABORTED (e.g. EMFILE when descriptors
// run out): it logs "Failed accept4: ..." and never accepts again, while the
// process lives on. There is no API to learn this, so the collector routes
// gRPC's log through InstallGrpcLogHook, which notes that line; main then
// rebuilds the server on the same port once descriptors are free again
// (collector/main.cc). Raising RLIMIT_NOFILE to its hard limit at start makes
// that rare; the handshake timeout and the idle limit free what is held.
#ifndef PREFLIGHT_COLLECTOR_SERVICE_LISTENER_H_
#define PREFLIGHT_COLLECTOR_SERVICE_LISTENER_H_

#include <optional>
#include <string>

namespace preflight::collector {

// gRPC's log lines go to stderr as before ("<severity> <file>:<line>]
// <message>"); a failed accept is remembered. Call before the server starts.
void InstallGrpcLogHook();

// The accept failure gRPC logged since the last call, if any (then cleared).
std::optional<std::string> TakeListenerFailure();

// Raises the soft RLIMIT_NOFILE to the hard limit; one line for the log.
std::string RaiseDescriptorLimit();

// Descriptors open in this process (/proc/self/fd) and the soft limit;
// -1 when unknown.
int OpenDescriptors();
int DescriptorLimit();

}  // namespace preflight::collector

#endif  // PREFLIGHT_COLLECTOR_SERVICE_LISTENER_H_
