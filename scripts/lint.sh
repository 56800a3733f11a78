#!/usr/bin/env bash
# Static checks, run by scripts/test.sh: clang-format (the pinned version),
# no circle of #include "..." between the project's own modules, and
# clang-tidy on libcr/, agent/ and spank/. Usage: lint.sh BUILD_DIR
# (a configured tree: clang-tidy reads its compile_commands.json).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: lint.sh BUILD_DIR}
fail=0

# 1. Formatting. Versions of clang-format format differently: pin the one
# Debian 12 ships, so that CI and developers agree.
want=14
have=$(clang-format --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p')
if [ "$have" != "$want" ]; then
	echo "lint: clang-format $want is needed (found ${have:-none})" >&2
	exit 1
fi
mapfile -t csrc < <(git ls-files --cached --others --exclude-standard '*.c' '*.h')
for f in "${csrc[@]}"; do
	if ! clang-format "$f" | cmp -s - "$f"; then
		echo "lint: $f is not clang-format clean (run: clang-format -i $f)" >&2
		fail=1
	fi
done

# 2. Include circles. A module is a .c file and its .h; module A depends on
# B when A.c or A.h includes B.h. tsort names any circle.
bash scripts/include-graph.sh libcr agent spank mpi-hooks >"$build/include-graph.txt"
if ! tsort "$build/include-graph.txt" >/dev/null 2>"$build/include-circles.txt"; then
	echo "lint: #include circle between the project's modules:" >&2
	grep -v '^tsort: -: input contains a loop:' "$build/include-circles.txt" | sed 's/^tsort: /  /' >&2
	fail=1
fi

# 3. clang-tidy (.clang-tidy says what is left out and why). The restorer is
# built freestanding by a custom command, has no compile database entry,
# and is checked by libcr/restorer/check-blob.sh instead.
mapfile -t tidy < <(git ls-files --cached --others --exclude-standard 'libcr/*.c' 'agent/*.c' 'spank/*.c' 'mpi-hooks/*.c' | grep -v '^libcr/restorer/')
if ! printf '%s\n' "${tidy[@]}" | xargs -n 4 -P "$(nproc)" clang-tidy -p "$build" --quiet \
	>"$build/clang-tidy.log" 2>&1; then
	grep -E 'error:|warning:' "$build/clang-tidy.log" >&2 || tail -n 20 "$build/clang-tidy.log" >&2
	fail=1
fi
[ "$fail" = 0 ] && echo "lint: clean (clang-format $want, include graph, clang-tidy on ${#tidy[@]} files)"
exit "$fail"
