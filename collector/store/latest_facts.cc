#include "collector/store/latest_facts.h"

#include <google/protobuf/arena.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "collector/store/keys.h"
#include "collector/store/volatile_facts.h"
#include "proto/wire/sha256.h"

namespace preflight::collector {
namespace {

constexpr char kHeaderFormat = 1;

std::string Deterministic(const google::protobuf::Message& m) {
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  coded.Trim();
  return bytes;
}

// Collection of a fact message (field "collection"), or null.
v1::Collection* MutableCollection(google::protobuf::Message& m) {
  const google::protobuf::FieldDescriptor* c = m.GetDescriptor()->FindFieldByName("collection");
  if (c == nullptr || c->message_type() != v1::Collection::descriptor()) return nullptr;
  if (!m.GetReflection()->HasField(m, c)) return nullptr;
  return static_cast<v1::Collection*>(m.GetReflection()->MutableMessage(&m, c));
}

}  // namespace

std::string ShortHash(absl::string_view bytes) { return Sha256(bytes).substr(0, 16); }

google::protobuf::ArenaOptions ReportArenaOptions() {
  google::protobuf::ArenaOptions options;
  options.start_block_size = 64 << 10;
  options.max_block_size = 1 << 20;
  return options;
}

SplitFacts SplitReport(const v1::FactReport& report) {
  SplitFacts out;
  // One working copy: each kind is encoded from it once (and once more with
  // its volatile values cleared, for the few kinds that have them). On an
  // arena: copying thousands of small messages and strings one malloc each,
  // and freeing them, was most of this function's cost (perf, README
  // "Performance").
  google::protobuf::Arena arena(ReportArenaOptions());
  v1::FactReport& copy = *google::protobuf::Arena::CreateMessage<v1::FactReport>(&arena);
  copy = report;
  const google::protobuf::Reflection* refl = copy.GetReflection();
  const google::protobuf::Descriptor* desc = copy.GetDescriptor();
  for (int i = 0; i < desc->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = desc->field(i);
    if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (!refl->HasField(copy, f)) continue;
    google::protobuf::Message* fact = refl->MutableMessage(&copy, f);
    KindContent k;
    k.kind = f->name();
    if (v1::Collection* c = MutableCollection(*fact)) {
      k.duration_us = static_cast<uint64_t>(c->duration_us());
      c->set_duration_us(0);
    }
    k.content = Deterministic(*fact);
    k.content_hash = ShortHash(k.content);
    if (HasVolatileValues(k.kind)) {
      NormalizeVolatile(k.kind, *fact);
      k.history_hash = ShortHash(Deterministic(*fact));
    } else {
      k.history_hash = k.content_hash;
    }
    out.kinds.push_back(std::move(k));
    refl->ClearField(&copy, f);
  }
  out.header = Deterministic(copy);
  return out;
}

KindState* LatestHeader::Find(absl::string_view kind) {
  for (KindState& k : kinds) {
    if (k.kind == kind) return &k;
  }
  return nullptr;
}

std::string EncodeLatestHeader(const LatestHeader& header) {
  std::string out(1, kHeaderFormat);
  AppendU16(out, static_cast<uint16_t>(header.kinds.size()));
  for (const KindState& k : header.kinds) {
    AppendString(out, k.kind);
    out.push_back(k.present ? 1 : 0);
    AppendString(out, k.content_hash);
    AppendString(out, k.history_hash);
    AppendString(out, k.change_key);
  }
  out += header.report_header;
  return out;
}

std::optional<LatestHeader> DecodeLatestHeader(absl::string_view in) {
  if (in.empty() || in[0] != kHeaderFormat) return std::nullopt;
  in.remove_prefix(1);
  uint16_t n = 0;
  if (!ReadU16(in, n)) return std::nullopt;
  LatestHeader h;
  h.kinds.resize(n);
  for (KindState& k : h.kinds) {
    if (!ReadString(in, k.kind) || in.empty()) return std::nullopt;
    k.present = in[0] != 0;
    in.remove_prefix(1);
    if (!ReadString(in, k.content_hash) || !ReadString(in, k.history_hash) ||
        !ReadString(in, k.change_key)) {
      return std::nullopt;
    }
  }
  h.report_header = std::string(in);
  return h;
}

std::string EncodeKindRecord(const KindContent& kind) {
  std::string out;
  AppendU64(out, kind.duration_us);
  out += kind.content;
  return out;
}

absl::Status MergeKindRecord(absl::string_view kind, absl::string_view value,
                             v1::FactReport& report) {
  uint64_t duration = 0;
  if (!ReadU64(value, duration)) {
    return absl::DataLossError(absl::StrCat("store: undecodable latest ", kind, " facts"));
  }
  const google::protobuf::FieldDescriptor* f =
      report.GetDescriptor()->FindFieldByName(std::string(kind));
  if (f == nullptr || f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
    return absl::OkStatus();  // a kind this collector does not know: left out, as protobuf does
  }
  google::protobuf::Message* fact = report.GetReflection()->MutableMessage(&report, f);
  if (!fact->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(absl::StrCat("store: undecodable latest ", kind, " facts"));
  }
  if (duration != 0) {
    if (v1::Collection* c = MutableCollection(*fact)) {
      c->set_duration_us(static_cast<int64_t>(duration));
    }
  }
  return absl::OkStatus();
}

}  // namespace preflight::collector
