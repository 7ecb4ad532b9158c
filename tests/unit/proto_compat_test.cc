// Rolling upgrades: agents, collectors and preflightctl of adjacent versions
// talk to each other, because the protos only ever add fields. This test
// holds the current protos to that against the last release's descriptors
// (tests/compat/protos-f9aba40.textproto):
//   - no message, field or enum value of the release is removed, renumbered,
//     renamed or retyped (a number may only go away as `reserved`);
//   - every field of every release message, filled in, survives a trip
//     through the current schema and back (an old agent's report read by a
//     new collector), and every current message, filled in, parses with the
//     release's schema and comes back whole (a new collector's answer read by
//     an old preflightctl; new fields travel as unknown fields).
// When a release is cut, add its descriptors here the same way.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "preflight/v1/catalogue.pb.h"
#include "preflight/v1/checklist.pb.h"
#include "preflight/v1/config.pb.h"
#include "preflight/v1/facts.pb.h"
#include "preflight/v1/ingest.pb.h"
#include "preflight/v1/query.pb.h"
#include "preflight/v1/verdict.pb.h"
#include "tests/support/temp_dir.h"

namespace preflight::testing {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

const std::string kRelease =
    std::string(PREFLIGHT_FIXTURES) + "/../compat/protos-f9aba40.textproto";

class ProtoCompat : public ::testing::Test {
 protected:
  void SetUp() override {
    // Linked in: the generated pool knows these files once they are used.
    (void)v1::AgentMessage::descriptor();
    (void)v1::FleetStatus::descriptor();
    (void)v1::CollectorConfig::descriptor();
    (void)v1::Catalogue::descriptor();
    google::protobuf::FileDescriptorSet set;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(ReadFile(kRelease), &set));
    for (const auto& file : set.file()) {
      if (file.package() != "preflight.v1") continue;  // google/protobuf's own
      release_files_.push_back(file.name());
    }
    for (const auto& file : set.file()) {
      ASSERT_NE(release_.BuildFile(file), nullptr) << file.name();
    }
    ASSERT_GE(release_files_.size(), 7u);
  }

  // Every message type of the release's preflight files, nested ones too.
  std::vector<const Descriptor*> ReleaseMessages() const {
    std::vector<const Descriptor*> out;
    std::vector<const Descriptor*> todo;
    for (const std::string& name : release_files_) {
      const auto* file = release_.FindFileByName(name);
      for (int i = 0; i < file->message_type_count(); ++i) todo.push_back(file->message_type(i));
    }
    while (!todo.empty()) {
      const Descriptor* d = todo.back();
      todo.pop_back();
      if (d->options().map_entry()) continue;
      out.push_back(d);
      for (int i = 0; i < d->nested_type_count(); ++i) todo.push_back(d->nested_type(i));
    }
    return out;
  }

  DescriptorPool release_;
  std::vector<std::string> release_files_;
};

const DescriptorPool& Current() { return *DescriptorPool::generated_pool(); }

// Sets every field of `m` to a value that is not the default, `depth`
// messages deep (repeated fields get two elements; of a oneof, the last
// field set wins).
void FillEveryField(Message* m, int depth) {
  const auto* r = m->GetReflection();
  const Descriptor* d = m->GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const int n = f->is_repeated() ? 2 : 1;
    for (int k = 0; k < n; ++k) {
      const int v = 7 + k + f->number();
      switch (f->cpp_type()) {
#define PREFLIGHT_SET(CPP, TYPE, VALUE) \
  case FieldDescriptor::CPPTYPE_##CPP:  \
    if (f->is_repeated()) {             \
      r->Add##TYPE(m, f, VALUE);        \
    } else {                            \
      r->Set##TYPE(m, f, VALUE);        \
    }                                   \
    break;
        PREFLIGHT_SET(INT32, Int32, v)
        PREFLIGHT_SET(INT64, Int64, int64_t{v} << 33)
        PREFLIGHT_SET(UINT32, UInt32, static_cast<uint32_t>(v))
        PREFLIGHT_SET(UINT64, UInt64, uint64_t{static_cast<uint64_t>(v)} << 34)
        PREFLIGHT_SET(DOUBLE, Double, v + 0.5)
        PREFLIGHT_SET(FLOAT, Float, v + 0.25f)
        PREFLIGHT_SET(BOOL, Bool, true)
        PREFLIGHT_SET(STRING, String, absl::StrCat(f->name(), "-", k))
#undef PREFLIGHT_SET
        case FieldDescriptor::CPPTYPE_ENUM: {
          const EnumDescriptor* e = f->enum_type();
          const int number = e->value(e->value_count() - 1)->number();
          if (f->is_repeated()) {
            r->AddEnumValue(m, f, number);
          } else {
            r->SetEnumValue(m, f, number);
          }
          break;
        }
        case FieldDescriptor::CPPTYPE_MESSAGE:
          if (depth <= 0) break;
          FillEveryField(f->is_repeated() ? r->AddMessage(m, f) : r->MutableMessage(m, f),
                         depth - 1);
          break;
      }
    }
  }
}

TEST_F(ProtoCompat, NothingOfTheReleaseIsRemovedRenumberedOrRetyped) {
  int fields = 0;
  for (const Descriptor* old : ReleaseMessages()) {
    const Descriptor* now = Current().FindMessageTypeByName(old->full_name());
    ASSERT_NE(now, nullptr) << old->full_name() << " was removed";
    for (int i = 0; i < old->field_count(); ++i, ++fields) {
      const FieldDescriptor* f = old->field(i);
      const FieldDescriptor* g = now->FindFieldByNumber(f->number());
      if (g == nullptr) {
        EXPECT_TRUE(now->IsReservedNumber(f->number()))
            << f->full_name() << " (" << f->number() << ") was removed without `reserved`";
        continue;
      }
      EXPECT_EQ(g->name(), f->name()) << f->full_name() << " was renamed (JSON and text break)";
      EXPECT_EQ(g->type(), f->type()) << f->full_name() << " changed type";
      EXPECT_EQ(g->is_repeated(), f->is_repeated()) << f->full_name() << " changed label";
      if (f->message_type() != nullptr) {
        EXPECT_EQ(g->message_type()->full_name(), f->message_type()->full_name()) << f->full_name();
      }
      if (f->enum_type() != nullptr) {
        EXPECT_EQ(g->enum_type()->full_name(), f->enum_type()->full_name()) << f->full_name();
        for (int k = 0; k < f->enum_type()->value_count(); ++k) {
          const auto* value = f->enum_type()->value(k);
          const auto* still = g->enum_type()->FindValueByNumber(value->number());
          ASSERT_NE(still, nullptr) << value->full_name() << " was removed";
          EXPECT_EQ(still->name(), value->name()) << value->full_name() << " was renamed";
        }
      }
    }
  }
  EXPECT_GT(fields, 200);
}

TEST_F(ProtoCompat, EveryMessageCrossesBetweenReleaseAndCurrentBothWays) {
  google::protobuf::DynamicMessageFactory old_factory(&release_);
  old_factory.SetDelegateToGeneratedFactory(false);
  google::protobuf::DynamicMessageFactory new_factory(&Current());
  int messages = 0;
  for (const Descriptor* old : ReleaseMessages()) {
    const Descriptor* now = Current().FindMessageTypeByName(old->full_name());
    ASSERT_NE(now, nullptr) << old->full_name();
    ++messages;

    // An old program's message, read by the current one and passed back.
    std::unique_ptr<Message> sent(old_factory.GetPrototype(old)->New());
    FillEveryField(sent.get(), 3);
    std::unique_ptr<Message> read(new_factory.GetPrototype(now)->New());
    ASSERT_TRUE(read->ParseFromString(sent->SerializeAsString())) << old->full_name();
    std::unique_ptr<Message> back(old_factory.GetPrototype(old)->New());
    ASSERT_TRUE(back->ParseFromString(read->SerializeAsString())) << old->full_name();
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*sent, *back))
        << old->full_name() << " lost or changed a field through the current schema";

    // A current program's message, read by the old one and passed back.
    std::unique_ptr<Message> fresh(new_factory.GetPrototype(now)->New());
    FillEveryField(fresh.get(), 3);
    std::unique_ptr<Message> old_read(old_factory.GetPrototype(old)->New());
    ASSERT_TRUE(old_read->ParseFromString(fresh->SerializeAsString())) << now->full_name();
    std::unique_ptr<Message> again(new_factory.GetPrototype(now)->New());
    ASSERT_TRUE(again->ParseFromString(old_read->SerializeAsString())) << now->full_name();
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*fresh, *again))
        << now->full_name() << " did not survive the release's schema";
  }
  EXPECT_GT(messages, 40);
}

}  // namespace
}  // namespace preflight::testing
