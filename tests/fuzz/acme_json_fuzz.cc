// Fuzz target: one acme.json document through ParseAcmeJson, then the first
// chains through DescribeChain. Whatever it holds, every returned chain has an
// origin, is PEM text, and never holds a private key; errors are one line.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/facts/tls_certs.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view json(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> origins;
  std::vector<std::string> problems;
  auto chains = preflight::agent::ParseAcmeJson(json, &origins, &problems);
  if (!chains.ok()) {
    // One line: the JSON parser's quote of the input (maybe a key) is cut.
    PREFLIGHT_FUZZ_CHECK(!chains.status().message().empty());
    PREFLIGHT_FUZZ_CHECK(chains.status().message().find('\n') == absl::string_view::npos);
    return 0;
  }
  PREFLIGHT_FUZZ_CHECK(chains->size() == origins.size());
  PREFLIGHT_FUZZ_CHECK(chains->size() <= 10'000);
  for (const std::string& chain : *chains) {
    PREFLIGHT_FUZZ_CHECK(absl::StrContains(chain, "-----BEGIN CERTIFICATE-----"));
    PREFLIGHT_FUZZ_CHECK(!absl::StrContains(chain, "PRIVATE KEY"));
  }
  for (const std::string& origin : origins) PREFLIGHT_FUZZ_CHECK(!origin.empty());
  // What the collector does next with each chain: describe it.
  for (size_t i = 0; i < chains->size() && i < 4; ++i) {
    preflight::v1::CertificateInfo info = preflight::agent::DescribeChain(
        {(*chains)[i]}, origins[i], "", absl::FromUnixSeconds(1700000000));
    PREFLIGHT_FUZZ_CHECK(info.origin() == origins[i]);
    PREFLIGHT_FUZZ_CHECK(info.chain_length() <= 32);
    if (info.chain_length() == 0) {
      PREFLIGHT_FUZZ_CHECK(!info.chain_verified() && info.subject().empty());
    }
  }
  // Without the optional outputs it must agree.
  auto again = preflight::agent::ParseAcmeJson(json, nullptr);
  PREFLIGHT_FUZZ_CHECK(again.ok() && *again == *chains);
  return 0;
}
