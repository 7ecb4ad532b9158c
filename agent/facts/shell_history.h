// Fact kind "shell_history": every history file of every account with a home
// (and of homes left by removed accounts): size, command lines, and per
// secret pattern how many lines match and which. No line of content ever
// leaves the host.
#ifndef PREFLIGHT_AGENT_FACTS_SHELL_HISTORY_H_
#define PREFLIGHT_AGENT_FACTS_SHELL_HISTORY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/facts/fact_collector.h"

namespace preflight::agent {

// History files looked at in every home: the shells' and those of the clients an
// OpenCRVS server has (MongoDB, PostgreSQL, MySQL, Redis, Node, Python, less).
const std::vector<std::string>& HistoryFileNames();

// The secret patterns a line is tested against, by name.
std::vector<std::string> SecretPatternNames();

// Names of the secret patterns `line` matches (empty: none).
std::vector<std::string> SecretPatternsIn(absl::string_view line);

// Scans history content: command lines (bash "#<epoch>" timestamp lines and
// blank lines not counted) and secret matches. Only counts and line numbers
// go into `file`.
void ScanHistory(absl::string_view content, v1::HistoryFile& file);

// HISTFILE=... assignments in a shell start-up file ("~" and $HOME expanded
// against `home`).
std::vector<std::string> HistfileOverrides(absl::string_view content, absl::string_view home);

// Reads the accounts fact (its reads()).
std::unique_ptr<FactCollector> MakeShellHistoryCollector();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_SHELL_HISTORY_H_
