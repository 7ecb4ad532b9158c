// Fact kind "sshd": the sshd configuration as written on disk.
#ifndef PREFLIGHT_AGENT_FACTS_SSHD_CONFIG_H_
#define PREFLIGHT_AGENT_FACTS_SSHD_CONFIG_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/facts/fact_collector.h"

namespace preflight::agent {

// Splits the arguments of a configuration line the way OpenSSH's argv_split
// does: whitespace separates, single and double quotes group, a backslash
// escapes a quote, a backslash or (outside quotes) a space, and an argument
// starting with '#' ends the line. INVALID_ARGUMENT on an unclosed quote.
absl::StatusOr<std::vector<std::string>> SplitSshArgs(absl::string_view s);

// Called for an `Include` line with its arguments, its line number and the
// Match block (0 = global) the line sits in.
using SshdIncludeFn =
    std::function<void(const std::vector<std::string>& args, uint32_t line, uint32_t match_block)>;

// Parses one sshd_config file's content into `fact` (appending directives,
// Match blocks and problems; line numbers are 1-based). `file` is the host
// path recorded as the source; `match_block` is the block in force where the
// file starts (an Include inside a Match block). Match blocks found here are
// numbered after those already in `fact`; like sshd, a Match started in an
// included file ends with that file. A keyword line without an argument, or
// with an unclosed quote, becomes a ParseProblem (sshd would refuse to start).
void ParseSshdConfig(absl::string_view content, absl::string_view file, v1::SshdConfigFact& fact,
                     uint32_t match_block = 0, const SshdIncludeFn& on_include = nullptr);

// Reads `main_file` and, as sshd does, every file its Include lines name
// (relative paths under /etc/ssh, globs in the last path component expanded
// in lexical order, at most 16 levels deep) into `fact`, setting its
// Collection.
void ReadSshdConfig(HostEnv& env, const CollectOptions& options, absl::string_view main_file,
                    v1::SshdConfigFact& fact);

// `sshd -T` output as keyword -> values (a keyword printed on several lines,
// like port, accumulates).
std::map<std::string, std::vector<std::string>> ParseSshdT(absl::string_view output);

// Where our effective settings differ from sshd -T's for the same connection.
// Keywords sshd -T does not print are not compared.
std::vector<v1::SshdOracleDiff> CompareWithSshdT(const v1::SshdEffective& ours,
                                                 absl::string_view sshd_t_output);

// The public address the effective configuration is evaluated for: a
// connection from the internet (TEST-NET-3, RFC 5737).
inline constexpr char kPublicTestAddress[] = "203.0.113.10";

// Reads /etc/ssh/sshd_config (with Includes), then computes the effective
// settings for root and every account with a login shell (it reads the
// accounts fact). Live, as root, with sshd installed, it also runs
// `sshd -T -C ...` for those accounts and records any disagreement.
std::unique_ptr<FactCollector> MakeSshdConfigCollector();

}  // namespace preflight::agent

#endif  // PREFLIGHT_AGENT_FACTS_SSHD_CONFIG_H_
