#!/usr/bin/env bash
# Builds the whole tree with gcc and clang in every CMake build type, with
# -Werror (optimisation levels change what the compilers warn about: a
# Release build once failed on -Wformat-truncation that RelWithDebInfo
# never showed). Run by scripts/test.sh; gcc RelWithDebInfo is its `build`.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
for cc in gcc clang; do
	for type in Debug Release RelWithDebInfo MinSizeRel; do
		[ "$cc/$type" = gcc/RelWithDebInfo ] && continue
		dir=build-matrix/$cc-$type
		CC=$cc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" >/dev/null
		if ! cmake --build "$dir" -j"$jobs" >"$dir.log" 2>&1; then
			grep -E 'error|warning' "$dir.log" | head -n 20 >&2
			echo "build-matrix: $cc $type failed (full log: $dir.log)" >&2
			exit 1
		fi
		echo "build-matrix: $cc $type clean"
	done
done
