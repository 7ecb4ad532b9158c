#include "agent/facts/utf8.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>

namespace preflight::agent {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0.
size_t ValidSequence(absl::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are invalid.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return 0;
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
  return n;
}

}  // namespace

std::string ToValidUtf8(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = ValidSequence(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.data() + i, n);
      i += n;
    }
  }
  return out;
}

int SanitizeUtf8(google::protobuf::Message& message) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(message, &fields);
  int changed = 0;
  auto fix = [&](const std::string& v, std::string* out) {
    for (size_t i = 0; i < v.size();) {
      size_t n = ValidSequence(v, i);
      if (n == 0) {
        *out = ToValidUtf8(v);
        return true;
      }
      i += n;
    }
    return false;
  };
  for (const FieldDescriptor* f : fields) {
    if (f->type() == FieldDescriptor::TYPE_STRING) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(message, f); ++i) {
          std::string fixed;
          if (fix(r->GetRepeatedString(message, f, i), &fixed)) {
            r->SetRepeatedString(&message, f, i, fixed);
            ++changed;
          }
        }
      } else {
        std::string fixed;
        if (fix(r->GetString(message, f), &fixed)) {
          r->SetString(&message, f, fixed);
          ++changed;
        }
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(message, f); ++i) {
          changed += SanitizeUtf8(*r->MutableRepeatedMessage(&message, f, i));
        }
      } else {
        changed += SanitizeUtf8(*r->MutableMessage(&message, f));
      }
    }
  }
  return changed;
}

}  // namespace preflight::agent
