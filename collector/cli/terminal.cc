#include "collector/cli/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

namespace preflight::cli {

size_t ChooseWidth(std::optional<absl::string_view> columns, std::optional<size_t> tty_columns) {
  size_t width = kDefaultWidth;
  uint64_t n = 0;
  if (columns.has_value() && absl::SimpleAtoi(*columns, &n) && n > 0) {
    width = n > kMaxWidth ? kMaxWidth : static_cast<size_t>(n);
  } else if (tty_columns.has_value() && *tty_columns > 0) {
    width = *tty_columns;
  }
  return std::clamp(width, kMinWidth, kMaxWidth);
}

size_t TerminalWidth(int fd) {
  std::optional<absl::string_view> columns;
  if (const char* c = std::getenv("COLUMNS"); c != nullptr) columns = c;
  std::optional<size_t> tty;
  struct winsize ws = {};
  if (isatty(fd) == 1 && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) tty = ws.ws_col;
  return ChooseWidth(columns, tty);
}

namespace {

// The length of the UTF-8 sequence starting at `s[i]` and its code point, or
// 0 when the bytes there are not well-formed UTF-8.
size_t DecodeUtf8(absl::string_view s, size_t i, uint32_t* cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  size_t n = 0;
  uint32_t v = 0, min = 0;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if ((c & 0xe0) == 0xc0) {
    n = 2, v = c & 0x1f, min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3, v = c & 0x0f, min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4, v = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xc0) != 0x80) return 0;
    v = (v << 6) | (b(k) & 0x3f);
  }
  if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
  *cp = v;
  return n;
}

bool Invisible(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) ||      // C1, CSI (0x9b) among them
         cp == 0x2028 || cp == 0x2029 ||    // line and paragraph separators
         (cp >= 0x202a && cp <= 0x202e) ||  // bidirectional embeddings, overrides
         (cp >= 0x2066 && cp <= 0x2069);    // bidirectional isolates
}

}  // namespace

std::string EscapeControl(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    const size_t n = DecodeUtf8(text, i, &cp);
    if (n == 0) {  // not UTF-8: show the byte
      out += absl::StrFormat("\\x%02x", static_cast<unsigned char>(text[i]));
      ++i;
      continue;
    }
    if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x20 || cp == 0x7f) {
      out += absl::StrFormat("\\x%02x", cp);
    } else if (Invisible(cp)) {
      out += absl::StrFormat("\\u%04x", cp);
    } else {
      out.append(text.data() + i, n);
    }
    i += n;
  }
  return out;
}

size_t DisplayWidth(absl::string_view text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xc0) != 0x80;
  return n;
}

}  // namespace preflight::cli
