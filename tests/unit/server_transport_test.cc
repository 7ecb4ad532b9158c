// ReleaseIdleTlsBuffers (proto/wire/server_transport.h) reaches the SSL
// objects gRPC itself makes for a mutual-TLS connection, on both ends, with
// certificates made by certs/ and a real handshake on loopback.
#include "proto/wire/server_transport.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/generic/async_generic_service.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <memory>

#include "absl/strings/str_cat.h"
#include "proto/wire/tls.h"
#include "tests/support/pki.h"
#include "tests/support/temp_dir.h"

namespace preflight {
namespace {

std::atomic<int> created{0};
std::atomic<int> releasing{0};

// Registered after ReleaseIdleTlsBuffers' callback, so it runs after it
// (SSL_new calls the callbacks in the order they were registered) and sees
// the mode each new SSL object ends up with.
void Record(void* parent, void*, CRYPTO_EX_DATA*, int, long, void*) {
  if (parent == nullptr) return;
  ++created;
  if ((SSL_get_mode(static_cast<SSL*>(parent)) & SSL_MODE_RELEASE_BUFFERS) != 0) ++releasing;
}

TEST(ServerTransport, GrpcTlsConnectionsReleaseIdleRecordBuffers) {
  ASSERT_TRUE(ReleaseIdleTlsBuffers());
  ASSERT_TRUE(ReleaseIdleTlsBuffers());  // idempotent
  ASSERT_GE(SSL_get_ex_new_index(0, nullptr, Record, nullptr, nullptr), 0);

  // The SSL_CTX keeps its mode: only the SSL objects get the bit.
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  ASSERT_NE(ctx, nullptr);
  SSL* ssl = SSL_new(ctx);
  ASSERT_NE(ssl, nullptr);
  EXPECT_EQ(SSL_CTX_get_mode(ctx) & SSL_MODE_RELEASE_BUFFERS, 0u);
  EXPECT_EQ(SSL_get_mode(ssl), SSL_CTX_get_mode(ctx) | SSL_MODE_RELEASE_BUFFERS);
  SSL_free(ssl);
  SSL_CTX_free(ctx);

  testing::TempDir tmp;
  testing::TestPki pki(tmp.path(), "transport.test");
  pki.IssueHost("host-a");
  auto creds = MakeServerCredentials(pki.CollectorTls());
  ASSERT_TRUE(creds.ok()) << creds.status();
  grpc::CallbackGenericService any;  // a server needs a service; none is called
  grpc::ServerBuilder builder;
  builder.RegisterCallbackGenericService(&any);
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", *creds, &port);
  AddTransportArguments(builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_GT(port, 0);

  const int before = created.load();
  auto channel = MakeChannel(absl::StrCat("127.0.0.1:", port), pki.HostTls("host-a"));
  ASSERT_TRUE(channel.ok()) << channel.status();
  ASSERT_TRUE(
      (*channel)->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(30)))
      << "the mutual-TLS handshake did not complete";
  // The client's and the server's SSL object of the connection.
  EXPECT_GE(created.load() - before, 2);
  EXPECT_EQ(releasing.load(), created.load());
  server->Shutdown();
}

}  // namespace
}  // namespace preflight
