// SplitSerializedReport cuts each kind out of the report's encoding instead
// of encoding a copy again. The store compares kinds by hash with what it
// stored before, so the bytes must be exactly those of the straightforward
// way — encode each kind with duration_us cleared, and the report without
// its kinds — or every host would show a false change of every kind after an
// upgrade. The reference below is that straightforward way, written with
// protobuf's reflection in the test.
#include "collector/store/latest_facts.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/unknown_field_set.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "collector/store/volatile_facts.h"
#include "preflight/v1/facts.pb.h"

namespace preflight::collector {
namespace {

std::string Encode(const google::protobuf::Message& m) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
  }
  return bytes;
}

// The split as the store did it up to schema 4's first release: a copy of
// the report, each kind's collection duration cleared and the kind encoded,
// its volatile values cleared and encoded again, the kind cleared; the rest
// encoded last.
SplitFacts ReferenceSplit(const v1::FactReport& report) {
  SplitFacts out;
  v1::FactReport copy = report;
  const google::protobuf::Reflection* refl = copy.GetReflection();
  const google::protobuf::Descriptor* desc = copy.GetDescriptor();
  for (int i = 0; i < desc->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = desc->field(i);
    if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (!refl->HasField(copy, f)) continue;
    google::protobuf::Message* fact = refl->MutableMessage(&copy, f);
    KindContent k;
    k.kind = f->name();
    const google::protobuf::FieldDescriptor* c =
        fact->GetDescriptor()->FindFieldByName("collection");
    if (c != nullptr && fact->GetReflection()->HasField(*fact, c)) {
      auto* collection =
          static_cast<v1::Collection*>(fact->GetReflection()->MutableMessage(fact, c));
      k.duration_us = static_cast<uint64_t>(collection->duration_us());
      collection->set_duration_us(0);
    }
    k.content = Encode(*fact);
    k.content_hash = ShortHash(k.content);
    NormalizeVolatile(k.kind, *fact);
    k.history_hash = ShortHash(Encode(*fact));
    out.kinds.push_back(std::move(k));
    refl->ClearField(&copy, f);
  }
  out.header = Encode(copy);
  return out;
}

void ExpectSameSplit(const v1::FactReport& report, const std::string& what) {
  SCOPED_TRACE(what);
  const SplitFacts want = ReferenceSplit(report);
  absl::StatusOr<SplitFacts> got = SplitReport(report);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->header, want.header);
  ASSERT_EQ(got->kinds.size(), want.kinds.size());
  for (size_t i = 0; i < want.kinds.size(); ++i) {
    SCOPED_TRACE(want.kinds[i].kind);
    EXPECT_EQ(got->kinds[i].kind, want.kinds[i].kind);
    EXPECT_EQ(got->kinds[i].content, want.kinds[i].content);
    EXPECT_EQ(got->kinds[i].duration_us, want.kinds[i].duration_us);
    EXPECT_EQ(got->kinds[i].content_hash, want.kinds[i].content_hash);
    EXPECT_EQ(got->kinds[i].history_hash, want.kinds[i].history_hash);
  }
}

std::vector<std::filesystem::path> FactFixtures() {
  std::vector<std::filesystem::path> out;
  for (const auto& e :
       std::filesystem::directory_iterator(std::string(PREFLIGHT_FIXTURES) + "/golden")) {
    if (absl::EndsWith(e.path().filename().string(), ".facts.textproto")) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

v1::FactReport Load(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  v1::FactReport report;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text.str(), &report)) << path;
  return report;
}

TEST(SplitReport, EveryFixtureSplitsAsEncodingEachKindDoes) {
  const std::vector<std::filesystem::path> fixtures = FactFixtures();
  ASSERT_GE(fixtures.size(), 20u);
  size_t with_duration = 0, volatile_kinds = 0;
  for (const auto& path : fixtures) {
    v1::FactReport report = Load(path);
    // Durations as a real collection has them (the fixtures fix them to 0),
    // one of them larger than 2^31 and one negative (int64 on the wire).
    int64_t d = 1234;
    for (v1::Collection* c : {report.mutable_sshd()->mutable_collection(),
                              report.mutable_sockets()->mutable_collection(),
                              report.mutable_logrotate()->mutable_collection()}) {
      c->set_duration_us(d);
      d = d == 1234 ? (int64_t{1} << 40) : -5;
    }
    ExpectSameSplit(report, path.filename().string());
    for (const KindContent& k : ReferenceSplit(report).kinds) {
      with_duration += k.duration_us != 0;
      volatile_kinds += HasVolatileValues(k.kind) && k.content_hash != k.history_hash;
    }
  }
  // The cases that differ from a plain cut were met.
  EXPECT_GE(with_duration, 3 * fixtures.size());
  EXPECT_GT(volatile_kinds, 0u);
}

// A newer agent's fields, unknown here, at every level — including a group
// (wire types 3/4, which proto3 never writes but a hostile agent can) —
// stay where the reference puts them.
void AddUnknown(google::protobuf::Message& m) {
  google::protobuf::UnknownFieldSet* u = m.GetReflection()->MutableUnknownFields(&m);
  u->AddVarint(900, 5);
  u->AddGroup(901)->AddVarint(1, 1);
  u->AddLengthDelimited(902, "hi");
  u->AddFixed32(903, 7);
}

TEST(SplitReport, UnknownFieldsAndGroupsAreKeptInPlace) {
  v1::FactReport report = Load(FactFixtures().front());
  report.mutable_sshd()->mutable_collection()->set_duration_us(77);
  AddUnknown(report);
  AddUnknown(*report.mutable_sshd());
  google::protobuf::UnknownFieldSet* collection =
      report.GetReflection()->MutableUnknownFields(report.mutable_sshd()->mutable_collection());
  AddUnknown(*report.mutable_sshd()->mutable_collection());
  // Known field numbers with the wrong wire type are kept as unknown ones:
  // state (an enum) and duration_us, which then is not the duration.
  collection->AddLengthDelimited(1, "x");
  collection->AddLengthDelimited(v1::Collection::kDurationUsFieldNumber, "y");
  ExpectSameSplit(report, "unknown fields");
  // Parsed from the wire as a collector receives it.
  v1::FactReport received;
  ASSERT_TRUE(received.ParseFromString(report.SerializeAsString()));
  ExpectSameSplit(received, "unknown fields, received");
}

TEST(SplitReport, EmptyKindsAndAnEmptyReport) {
  v1::FactReport report;
  ExpectSameSplit(report, "empty report");
  report.mutable_sshd();
  report.mutable_pam()->mutable_collection();
  report.set_sequence(7);
  ExpectSameSplit(report, "empty kinds");
}

TEST(SplitReport, BytesThatAreNoReportAreAnError) {
  for (const std::string& bad :
       {std::string("\x0a\x05"
                    "ab",
                    4),
        std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11), std::string("\x0b", 1)}) {
    EXPECT_FALSE(SplitSerializedReport(bad).ok());
  }
}

// Bytes that are no FactReport's encoding never reach SplitSerializedReport
// from ingest (it is given the collector's own encoding), but a cut or
// damaged one must be an error or a split, never a read out of bounds (the
// CI runs this under AddressSanitizer).
TEST(SplitReport, DamagedEncodingsAreReadWithinBounds) {
  v1::FactReport report = Load(FactFixtures().front());
  report.mutable_sshd()->mutable_collection()->set_duration_us(99);
  const std::string good = DeterministicReport(report);
  ASSERT_TRUE(SplitSerializedReport(good).ok());
  uint64_t state = 0x9e3779b97f4a7c15;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  size_t errors = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bad = good;
    for (int flips = 1 + static_cast<int>(next() % 4); flips > 0; --flips) {
      bad[next() % bad.size()] = static_cast<char>(next());
    }
    if (i % 3 == 0) bad.resize(next() % bad.size());
    // A copy of exactly its size, so that reading past it is caught.
    const std::unique_ptr<char[]> exact(new char[bad.size()]);
    std::copy(bad.begin(), bad.end(), exact.get());
    errors += !SplitSerializedReport(absl::string_view(exact.get(), bad.size())).ok();
  }
  EXPECT_GT(errors, 0u);
}

}  // namespace
}  // namespace preflight::collector
