#!/usr/bin/env bash
# Checks that every C source and header of the project is formatted as .clang-format says
# (100 columns). Run by `make test` as the ctest `check_format`; `--fix` rewrites the files.
# The layout clang-format writes changes between its major versions: the check pins the
# version Debian 12 ships (14) and, with another one, says that it did not check.
set -euo pipefail
cd "$(dirname "$0")/.."
want=14
cf=""
for c in clang-format-$want clang-format; do
  if command -v "$c" >/dev/null 2>&1 && "$c" --version | grep -q "version $want\."; then cf=$c; break; fi
done
if [ -z "$cf" ]; then
  echo "check_format: clang-format $want not found (scripts/deps.sh installs it): NOT CHECKED"
  exit 0
fi
mapfile -t files < <(git ls-files 'src/*.[ch]' 'include/*.h' 'tests/*.[ch]' 'bench/*.[ch]' 'fuzz/*.[ch]' 2>/dev/null ||
                     find src include tests bench fuzz -name '*.[ch]')
if [ "${1:-}" = "--fix" ]; then
  "$cf" -i --style=file "${files[@]}"
  echo "check_format: formatted ${#files[@]} files"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  if ! "$cf" --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "check_format: ${#bad[@]} of ${#files[@]} files are not formatted (scripts/check_format.sh --fix):"
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
echo "check_format: ${#files[@]} files formatted as .clang-format says"
