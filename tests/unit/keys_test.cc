// Tests for collector/store/keys: order-preserving RocksDB key encoding.
#include "collector/store/keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"

namespace preflight::collector {
namespace {

// Bytewise (unsigned) comparison, as RocksDB's default comparator orders keys.
bool BytewiseLess(const std::string& a, const std::string& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return static_cast<uint8_t>(x) < static_cast<uint8_t>(y);
  });
}

std::vector<uint8_t> Bytes(const std::string& s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

const std::string kInstance = "0123456789abcdef0123456789abcdef";

TEST(Keys, AppendU16IsBigEndian) {
  std::string out;
  AppendU16(out, 0x0102);
  EXPECT_EQ(Bytes(out), (std::vector<uint8_t>{0x01, 0x02}));
}

TEST(Keys, AppendU64IsBigEndian) {
  std::string out;
  AppendU64(out, 0x0102030405060708ull);
  EXPECT_EQ(Bytes(out), (std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(Keys, AppendStringIsLengthPrefixed) {
  std::string out;
  AppendString(out, "abc");
  EXPECT_EQ(Bytes(out), (std::vector<uint8_t>{0, 3, 'a', 'b', 'c'}));
}

TEST(Keys, SequencesSortNumericallyInByteOrder) {
  const std::vector<uint64_t> seqs = {
      0, 1, 2, 255, 256, 257, 65535, 65536, 1ull << 32, 1ull << 40, (1ull << 56) + 1, UINT64_MAX};
  for (size_t i = 1; i < seqs.size(); ++i) {
    std::string a = ReportKey("prod-01", kInstance, seqs[i - 1]);
    std::string b = ReportKey("prod-01", kInstance, seqs[i]);
    EXPECT_TRUE(BytewiseLess(a, b)) << seqs[i - 1] << " vs " << seqs[i];
    EXPECT_FALSE(BytewiseLess(b, a)) << seqs[i - 1] << " vs " << seqs[i];
  }
}

TEST(Keys, OneBefore256Before2To40) {
  std::string k1 = ReportKey("h", kInstance, 1);
  std::string k256 = ReportKey("h", kInstance, 256);
  std::string k40 = ReportKey("h", kInstance, 1ull << 40);
  EXPECT_TRUE(BytewiseLess(k1, k256));
  EXPECT_TRUE(BytewiseLess(k256, k40));
  // Same host and instance: keys differ only in the trailing 8 bytes.
  EXPECT_EQ(k1.size(), k256.size());
  EXPECT_EQ(k1.size(), k40.size());
}

TEST(Keys, RoundTrip) {
  struct Case {
    std::string host;
    std::string instance;
    uint64_t sequence;
  };
  const std::vector<Case> cases = {
      {"prod-01", kInstance, 1},
      {"prod-01", kInstance, 0},
      {"prod-01", kInstance, UINT64_MAX},
      {"a", "", 42},
      {"", kInstance, 7},
      {std::string("bin\0ary\xff", 8), std::string("\x00\x01", 2), 1ull << 40},
      {std::string(300, 'h'), kInstance, 256},
  };
  for (const Case& c : cases) {
    std::string key = ReportKey(c.host, c.instance, c.sequence);
    auto parts = DecodeReportKey(key);
    ASSERT_TRUE(parts.has_value()) << c.host;
    EXPECT_EQ(parts->host, c.host);
    EXPECT_EQ(parts->instance, c.instance);
    EXPECT_EQ(parts->sequence, c.sequence);
  }
}

TEST(Keys, OverLongStringIsTruncatedNotCorrupting) {
  std::string host(70'000, 'x');
  auto parts = DecodeReportKey(ReportKey(host, kInstance, 9));
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->host, host.substr(0, 0xffff));
  EXPECT_EQ(parts->instance, kInstance);
  EXPECT_EQ(parts->sequence, 9u);
}

TEST(Keys, HostPrefixIsAPrefixOfItsOwnKeysOnly) {
  const std::string prod = HostPrefix("prod");
  EXPECT_TRUE(absl::StartsWith(ReportKey("prod", kInstance, 1), prod));
  EXPECT_TRUE(absl::StartsWith(ReportKey("prod", "", UINT64_MAX), prod));
  // A host whose name starts with "prod" is a different host.
  EXPECT_FALSE(absl::StartsWith(ReportKey("prod-01", kInstance, 1), prod));
  EXPECT_FALSE(absl::StartsWith(HostPrefix("prod-01"), prod));
  EXPECT_FALSE(absl::StartsWith(ReportKey("pro", kInstance, 1), prod));
}

TEST(Keys, InstancesGroupTogetherUnderAHost) {
  // (instance, sequence) order: every key of instance "a" before any of "b".
  EXPECT_TRUE(BytewiseLess(ReportKey("h", "a", UINT64_MAX), ReportKey("h", "b", 0)));
}

TEST(Keys, MalformedKeysAreNullopt) {
  const std::string good = ReportKey("prod-01", kInstance, 5);
  ASSERT_TRUE(DecodeReportKey(good).has_value());
  // Every proper prefix is malformed.
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(DecodeReportKey(good.substr(0, n)).has_value()) << "prefix of " << n;
  }
  // Trailing garbage.
  EXPECT_FALSE(DecodeReportKey(good + "x").has_value());
  // A length prefix longer than the rest.
  std::string lying;
  AppendU16(lying, 500);
  lying += "short";
  EXPECT_FALSE(DecodeReportKey(lying).has_value());
  // A bare host prefix is not a report key.
  EXPECT_FALSE(DecodeReportKey(HostPrefix("prod-01")).has_value());
}

}  // namespace
}  // namespace preflight::collector
