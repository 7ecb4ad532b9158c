// What preflightctl's tables need to know about where they are printed: how
// wide the terminal is, and how to show text that came from someone else
// (operators' notes, host files, inventory names) without letting it move the
// cursor, recolour the screen or forge a line.
#ifndef PREFLIGHT_COLLECTOR_CLI_TERMINAL_H_
#define PREFLIGHT_COLLECTOR_CLI_TERMINAL_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace preflight::cli {

// Tables are never laid out narrower or wider than this, whatever COLUMNS
// says: below it no column layout is readable, above it nobody reads a line.
inline constexpr size_t kMinWidth = 40;
inline constexpr size_t kMaxWidth = 500;
// The width when nothing says otherwise (not a terminal: a pipe, a file).
inline constexpr size_t kDefaultWidth = 80;

// The width to lay tables out for: $COLUMNS when it is a positive number
// (as a shell exports it, and as a user sets it for a pipe), else the width
// of the terminal on `fd` (ioctl TIOCGWINSZ), else kDefaultWidth; clamped to
// [kMinWidth, kMaxWidth].
size_t TerminalWidth(int fd);
// The same decision with its inputs given: `columns` is $COLUMNS (nullopt
// when unset), `tty_columns` the terminal's width (nullopt when `fd` is not a
// terminal or does not say).
size_t ChooseWidth(std::optional<absl::string_view> columns, std::optional<size_t> tty_columns);

// `text` made safe to print inside one table field: every control character
// is shown as an escape instead of acting on the terminal — C0 (\n, \r, \t,
// else \xNN, so ESC is \x1b), DEL (\x7f), C1 (U+0080..U+009F, \u0085), the
// line and paragraph separators and the bidirectional overrides (\u202e), and
// bytes that are not UTF-8 (\xNN). Everything else, including a backslash,
// is left as it is. Every table of preflightctl passes user- and host-supplied
// text through this one function.
std::string EscapeControl(absl::string_view text);

// Columns `text` takes on a terminal: one per code point (continuation bytes
// of UTF-8 take none). Enough for the ids, names and statuses of tables.
size_t DisplayWidth(absl::string_view text);

}  // namespace preflight::cli

#endif  // PREFLIGHT_COLLECTOR_CLI_TERMINAL_H_
