#include "collector/store/latest_facts.h"

#include <google/protobuf/arena.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message.h>
#include <google/protobuf/wire_format_lite.h>

#include <memory>
#include <optional>

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

namespace {

using google::protobuf::internal::WireFormatLite;

// One field of a serialized message, as read by NextField.
struct WireField {
  int number = 0;
  WireFormatLite::WireType type = WireFormatLite::WIRETYPE_VARINT;
  absl::string_view whole;    // tag and value, as encoded
  absl::string_view payload;  // a length-delimited field's bytes (else empty)
  uint64_t varint = 0;        // a varint field's value
};

// Reads the next field of `in` (advancing it); false at the end or on bytes
// that are no protobuf encoding. Unknown fields of every wire type
// (groups included) are read whole.
bool NextField(absl::string_view& in, WireField& f) {
  if (in.empty()) return false;
  google::protobuf::io::CodedInputStream coded(reinterpret_cast<const uint8_t*>(in.data()),
                                               static_cast<int>(in.size()));
  const uint32_t tag = coded.ReadTag();
  if (tag == 0) return false;
  f.number = WireFormatLite::GetTagFieldNumber(tag);
  f.type = WireFormatLite::GetTagWireType(tag);
  f.payload = {};
  f.varint = 0;
  if (f.type == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
    uint32_t length = 0;
    if (!coded.ReadVarint32(&length)) return false;
    const int at = coded.CurrentPosition();
    if (length > in.size() - static_cast<size_t>(at) || !coded.Skip(static_cast<int>(length))) {
      return false;
    }
    f.payload = in.substr(at, length);
  } else if (f.type == WireFormatLite::WIRETYPE_VARINT) {
    if (!coded.ReadVarint64(&f.varint)) return false;
  } else if (!WireFormatLite::SkipField(&coded, tag)) {
    return false;
  }
  const size_t end = static_cast<size_t>(coded.CurrentPosition());
  f.whole = in.substr(0, end);
  in.remove_prefix(end);
  return true;
}

void AppendVarint(std::string& out, uint64_t v) {
  using google::protobuf::io::CodedOutputStream;
  uint8_t buf[10];  // the longest varint of 64 bits
  const uint8_t* end = CodedOutputStream::WriteVarint64ToArray(v, buf);
  out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(end - buf));
}

// The number of the "collection" field (a Collection) of a fact message
// type, or 0.
int CollectionField(const google::protobuf::Descriptor* fact) {
  const google::protobuf::FieldDescriptor* c = fact->FindFieldByName("collection");
  if (c == nullptr || c->message_type() != v1::Collection::descriptor() || c->is_repeated()) {
    return 0;
  }
  return c->number();
}

// A kind's content from its deterministic encoding `kind`: the same bytes
// with the collection's duration_us left out (what encoding the kind with
// duration_us cleared gives), the duration into `duration_us`. False on
// bytes that are no encoding of it.
bool KindContentOf(absl::string_view kind, int collection, std::string& content,
                   uint64_t& duration_us) {
  const int duration_field = v1::Collection::kDurationUsFieldNumber;
  content.clear();
  content.reserve(kind.size());
  WireField f;
  while (NextField(kind, f)) {
    if (collection == 0 || f.number != collection ||
        f.type != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      content.append(f.whole.data(), f.whole.size());
      continue;
    }
    std::string inner;
    absl::string_view rest = f.payload;
    WireField g;
    while (NextField(rest, g)) {
      if (g.number == duration_field && g.type == WireFormatLite::WIRETYPE_VARINT) {
        duration_us = g.varint;
      } else {
        inner.append(g.whole.data(), g.whole.size());
      }
    }
    if (!rest.empty()) return false;
    AppendVarint(content,
                 WireFormatLite::MakeTag(collection, WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
    AppendVarint(content, inner.size());
    content += inner;
  }
  return kind.empty();
}

}  // namespace

std::string DeterministicReport(const v1::FactReport& report) { return Deterministic(report); }

absl::StatusOr<SplitFacts> SplitSerializedReport(absl::string_view serialized) {
  SplitFacts out;
  const google::protobuf::Descriptor* desc = v1::FactReport::descriptor();
  // The few kinds with volatile values are parsed once more, onto one arena,
  // to clear those values.
  std::optional<google::protobuf::Arena> arena;
  absl::string_view in = serialized;
  WireField f;
  while (NextField(in, f)) {
    const google::protobuf::FieldDescriptor* field = desc->FindFieldByNumber(f.number);
    if (field == nullptr ||
        field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE ||
        field->is_repeated() || f.type != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      // The report's own fields, and unknown ones.
      out.header.append(f.whole.data(), f.whole.size());
      continue;
    }
    KindContent k;
    k.kind = field->name();
    if (!KindContentOf(f.payload, CollectionField(field->message_type()), k.content,
                       k.duration_us)) {
      return absl::InternalError(absl::StrCat("store: cannot split the ", k.kind, " facts"));
    }
    k.content_hash = ShortHash(k.content);
    if (HasVolatileValues(k.kind)) {
      if (!arena.has_value()) arena.emplace(ReportArenaOptions());
      google::protobuf::Message* fact = google::protobuf::MessageFactory::generated_factory()
                                            ->GetPrototype(field->message_type())
                                            ->New(&*arena);
      if (!fact->ParseFromString(k.content)) {
        return absl::InternalError(absl::StrCat("store: cannot split the ", k.kind, " facts"));
      }
      NormalizeVolatile(k.kind, *fact);
      k.history_hash = ShortHash(Deterministic(*fact));
    } else {
      k.history_hash = k.content_hash;
    }
    out.kinds.push_back(std::move(k));
  }
  if (!in.empty()) return absl::InternalError("store: cannot split a report: not its encoding");
  return out;
}

absl::StatusOr<SplitFacts> SplitReport(const v1::FactReport& report) {
  return SplitSerializedReport(Deterministic(report));
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
