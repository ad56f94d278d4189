#!/usr/bin/env bash
# Help for every command, from the one usage table (src/cli/usage.c): `ecology help`,
# `ecology help COMMAND`, `ecology COMMAND --help` and `-h` print usage and exit 0, and no
# command accepts an option that its usage does not mention, or shows with a value when it
# is a flag or the reverse (cli_parse reports either as an internal error on every run; here
# every command is run once to find them).
source "$(dirname "$0")/lib/harness.sh"

expect 0 "help" -- "$BIN" help
cp "$tmp/out" "$tmp/top"
expect 0 "--help" -- "$BIN" --help
cmp -s "$tmp/out" "$tmp/top"; check $? "--help prints what help prints"
expect 0 "-h" -- "$BIN" -h
expect 2 "no arguments" -- "$BIN"
contains "$tmp/err" "usage: ecology" "no arguments prints the usage on stderr"
# the top-level usage lists options users look for, and defaults
for want in "--kv-cache" "inspect PATH|ID [--json]" "registry gc [--dry-run]" "--prompt-file F" "--stop STR]..." \
            "--work-dir D" "--force" "add DIR --id NAME [--base ID]" "ECOLOGY_LOG="; do
  contains "$tmp/top" "$want" "top-level usage mentions $want"
done

"$BIN" help --commands >"$tmp/commands"; check $? "help --commands"
[ "$(wc -l <"$tmp/commands")" -ge 25 ]; check $? "help --commands lists the commands ($(wc -l <"$tmp/commands"))"
while read -r cmd; do
  read -ra words <<<"$cmd"
  expect 0 "help $cmd" -- "$BIN" help "${words[@]}"
  contains "$tmp/out" "ecology $cmd" "help $cmd shows its synopsis"
  contains "$tmp/top" "ecology $cmd" "top-level usage lists $cmd"
  cp "$tmp/out" "$tmp/one"
  expect 0 "$cmd --help" -- "$BIN" "${words[@]}" --help
  cmp -s "$tmp/out" "$tmp/one"; check $? "$cmd --help prints what help $cmd prints"
  expect 0 "$cmd -h" -- "$BIN" "${words[@]}" -h
  # --help after other arguments still answers with help, runs nothing
  expect 0 "$cmd ... --help" -- "$BIN" "${words[@]}" --json --help
  contains "$tmp/out" "ecology $cmd" "$cmd ... --help shows the usage"
  # every option the command accepts is in its usage: a bogus option reaches the command's
  # own parser, which names undocumented options before it refuses the bogus one
  expect 2 "$cmd --no-such-option" -- "$BIN" "${words[@]}" --no-such-option
  contains "$tmp/err" "unknown option '--no-such-option'" "$cmd refuses an unknown option"
  if grep -q "internal error" "$tmp/err"; then fail "$cmd: $(grep "internal error" "$tmp/err")"; else pass; fi
done < <(grep -vx -e help -e version "$tmp/commands")

expect 0 "help model" -- "$BIN" help model
contains "$tmp/out" "ecology model create" "a group's help lists its subcommands"
contains "$tmp/out" "ecology model merge" "a group's help lists its subcommands"
expect 0 "model --help" -- "$BIN" model --help
expect 0 "help version" -- "$BIN" help version
expect 0 "version" -- "$BIN" version
expect 2 "help unknown" -- "$BIN" help frobnicate
contains "$tmp/err" "unknown command 'frobnicate'" "help of an unknown command"
expect 2 "help unknown subcommand" -- "$BIN" help model frobnicate
contains "$tmp/err" "unknown subcommand 'frobnicate'" "help of an unknown subcommand"
expect 2 "unknown command --help" -- "$BIN" frobnicate --help
# the defaults a user asks about are in the usage
expect 0 "help generate" -- "$BIN" help generate
contains "$tmp/out" "(default 64)" "generate -n default"
expect 0 "help model create" -- "$BIN" help model create
contains "$tmp/out" "(default 0" "model create --seed default"

finish "help"
