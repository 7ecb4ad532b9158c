// Transport settings shared by every preflight gRPC server that agents
// connect to: the collector's listener (collector/main.cc) and the load
// bench's do-nothing server (tests/bench/load_bench.cc), so that the bench
// compares the collector with a server on the same transport.
//
// Memory per connected agent (issue 15, point 5; README "Performance"): a
// mutual-TLS stream costs a gRPC 1.51 server about 115-125 KB, most of it
// fixed by gRPC and OpenSSL rather than by channel arguments (heaptrack of a
// collector holding 300 idle streams): OpenSSL's BIO pair between gRPC and
// the SSL object (2 x 17 KB; gRPC's TLS credentials pass no size), OpenSSL's
// record buffers (about 2 x 17 KB), gRPC's TLS frame buffer (below), its read
// and write staging buffers (2 x 8 KB), the call's arena (about 12 KB) and
// the HTTP/2 transport. Of the server channel arguments tried, only the frame
// size changed it while connections were idle; the TCP read chunk sizes (but
// see BoundTcpReadBuffers for a connection that carried a report), HTTP/2
// lookahead, write buffer, BDP probing, HPACK table sizes and a resource
// quota did not. OpenSSL's SSL_MODE_RELEASE_BUFFERS (below) gives the record
// buffers of an idle connection back.
#ifndef PREFLIGHT_PROTO_WIRE_SERVER_TRANSPORT_H_
#define PREFLIGHT_PROTO_WIRE_SERVER_TRANSPORT_H_

#include <grpcpp/server_builder.h>

#include <string>

namespace preflight {

// Sets SSL_MODE_RELEASE_BUFFERS on every SSL object this process creates
// from now on (gRPC's included, whose TLS credentials take no mode): OpenSSL
// then frees a connection's read and write record buffers (about 17 KB each)
// while nothing is buffered in them, and takes them again for the next
// record. A held agent stream is idle between reports, so this is about
// 7 KB less per connected agent (111 instead of 118 KB at 10,000; README
// "Performance"). Done through OpenSSL's ex_data "new" callback, which
// SSL_new calls with the new SSL object once its mode is copied from the
// SSL_CTX. Idempotent; any thread. False if OpenSSL refused the callback
// (nothing changes then).
bool ReleaseIdleTlsBuffers();

// Bounds what a connection keeps from reading: gRPC 1.51 reads TCP into
// blocks sized from what it read before ("tcp_read_chunks", an experiment
// that is on by default, and that ignores the read chunk channel
// arguments), so a connection that carried a 20 KB report reads next into
// a 64 KB block, and what is left of a block stays with the connection until
// its next message. With the experiment off, reads go into chunks of at most
// GRPC_ARG_TCP_MAX_READ_CHUNK_SIZE (4 KB, set by AddTransportArguments).
// Measured with 10,000 agents (README "Performance", session 17): RSS after
// every agent reported 1,168-1,171 -> 1,094 MB, after a refresh of all
// 1,619-1,637 -> 1,259 MB; CPU per report unchanged. (The experiment off
// with chunks of 8 or 32 KB kept 70 MB more than with it on.)
//
// gRPC reads its experiments from the GRPC_EXPERIMENTS environment variable
// once, at its first use, so this sets it (setenv) and must run first in
// main(), before any gRPC call and before any other thread starts. An
// operator's own GRPC_EXPERIMENTS is kept, with "-tcp_read_chunks" added
// unless it names that experiment already (then it wins). Returns the value
// now in force, for the log.
std::string BoundTcpReadBuffers();

inline void AddTransportArguments(grpc::ServerBuilder& builder) {
  ReleaseIdleTlsBuffers();
  // The buffer gRPC seals outgoing TLS records in, one per connection: 16 KB
  // by default. What a server sends here is small (welcomes, acks; a query's
  // answer goes out in records of this size), and reading is unaffected
  // (OpenSSL opens records of any size), so 4 KB.
  builder.AddChannelArgument(GRPC_ARG_TSI_MAX_FRAME_SIZE, 4096);
  // TCP reads in chunks of at most 4 KB (BoundTcpReadBuffers).
  builder.AddChannelArgument(GRPC_ARG_TCP_MAX_READ_CHUNK_SIZE, 4 * 1024);
}

}  // namespace preflight

#endif  // PREFLIGHT_PROTO_WIRE_SERVER_TRANSPORT_H_
