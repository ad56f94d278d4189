# Shared by the CLI test scripts (sourced, not run): the command under test, a scratch
# folder removed on exit, pass/fail counters and the checks. Each check counts one result
# and prints what went wrong; `finish NAME` prints "NAME: N passed, N failed" and sets the
# exit status.
set -u
BIN=${ECOLOGY_BIN:?ECOLOGY_BIN not set}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# expect STATUS DESCRIPTION -- command...   (stdout in $tmp/out, stderr in $tmp/err)
expect() {
  local want=$1 what=$2
  shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" = "$want" ]; then pass; else
    fail "$what: exit $got, want $want"
    echo "  command: $*"
    sed 's/^/  stderr: /' "$tmp/err" | head -5
  fi
}
# contains FILE TEXT DESCRIPTION
contains() {
  if grep -qF -- "$2" "$1"; then pass; else
    fail "$3: '$2' not in $(basename "$1")"; head -c 600 "$1" | sed 's/^/  | /'; fi
}
# exists FILE
exists() { if [ -f "$1" ]; then pass; else fail "$1 not written"; fi; }
# differ FILE1 FILE2 DESCRIPTION
differ() { if cmp -s "$1" "$2"; then fail "$3: files are identical"; else pass; fi; }
# check EXIT-STATUS-OF-A-CONDITION DESCRIPTION
check() { if [ "$1" = 0 ]; then pass; else fail "$2"; fi; }
# one_line DESCRIPTION: the last command's stderr is a single line
one_line() {
  if [ "$(wc -l <"$tmp/err")" = 1 ]; then pass; else
    fail "$1: usage error is not one line"; sed 's/^/  | /' "$tmp/err"; fi
}
# flip_byte FILE OFFSET: xor one byte with 0x01 (the file may be read-only)
flip_byte() {
  chmod u+w "$1"
  local b
  b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# use_registry: $SRC the source tree, a fresh registry in $D (the scratch folder's data/,
# exported as ECOLOGY_DATA), the scratch folder as the working folder
use_registry() {
  SRC=${ECO_SOURCE_DIR:?ECO_SOURCE_DIR not set}
  D="$tmp/data"
  export ECOLOGY_DATA="$D"
  cd "$tmp" || exit 1
  expect 0 "registry init" -- "$BIN" registry init
}
# serve_start OUT ERR ARGS...: `ecology serve ARGS...` in the background (stdout in OUT,
# stderr in ERR), waiting up to 10 s for its "listening on" line; sets PID (the server) and
# URL (the address it printed, empty when none)
serve_start() {
  local out=$1 err=$2
  shift 2
  "$BIN" serve "$@" >"$out" 2>"$err" &
  PID=$!
  for _ in $(seq 1 100); do grep -q "listening on" "$out" && break; sleep 0.1; done
  URL=$(sed -n 's/^ecology serve: listening on \(http:.*\)$/\1/p' "$out")
}
# finish NAME
finish() {
  echo "$1: $passed passed, $failed failed"
  [ "$failed" = 0 ]
}
