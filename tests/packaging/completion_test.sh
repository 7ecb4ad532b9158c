#!/bin/bash
# The bash completion script and the man page that PROGRAM generates from its
# flag table (--completion=bash, --man): sourced in a real bash, the
# completion completes commands, a command's flags and --format's values; the
# man page passes groff -man -ww with no warning and names every command and
# flag that --help names.
# usage: completion_test.sh PREFLIGHTCTL
set -euo pipefail
ctl=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$ctl" --completion=bash > "$dir/completion.bash"
"$ctl" --man > "$dir/preflightctl.1"
fail=0
check() {  # check WHAT EXPECTED ACTUAL
  if [[ "$2" != "$3" ]]; then echo "FAIL: $1: expected '$2', got '$3'"; fail=1; else echo "ok: $1"; fi
}
# complete WORDS...: the words of COMPREPLY with the cursor on the last word.
complete_words() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ));
           _preflightctl; printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' \
    _ "$dir/completion.bash" "$@"
}
check "commands after 'at'" "attest " "$(complete_words preflightctl at)"
check "commands after 'h'" "help history host " "$(complete_words preflightctl h)"
check "attest's flags after '--e'" "--env --evidence --expires " \
  "$(complete_words preflightctl attest --e)"
check "--format values" "json junit " "$(complete_words preflightctl status --format j)"
check "--format values of export" "csv " "$(complete_words preflightctl export --format c)"
check "help COMMAND" "waive " "$(complete_words preflightctl help wa)"
# The command may come after program options.
check "after options" "--reason --revoke " \
  "$(complete_words preflightctl --timeout 5 waive --re)"

# The man page: no groff warning, and every command and flag of --help.
warnings=$(groff -man -ww -z "$dir/preflightctl.1" 2>&1 || true)
check "groff -man -ww warnings" "" "$warnings"
text=$(groff -man -Tutf8 -P-c "$dir/preflightctl.1" 2>/dev/null | col -bx)
for word in $("$ctl" --help | sed -n '/^commands:/,/^$/p' | awk 'NR>1 && /^  [a-z]/ {print $1}' | sort -u) \
            $( { "$ctl" --help; for c in $("$ctl" --help | sed -n '/^commands:/,/^$/p' | awk 'NR>1 && /^  [a-z]/ {print $1}' | sort -u | grep -v '^help$'); do "$ctl" help "$c"; done; } \
               | grep -o -- '--[a-z][a-z-]*' | sort -u); do
  if ! grep -q -- "$word" <<<"$text"; then echo "FAIL: the man page lacks $word"; fail=1; fi
done
echo "man page checked against --help"
exit $fail
