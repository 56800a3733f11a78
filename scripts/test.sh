#!/usr/bin/env bash
# The test command: install what is needed, build (plain and ASan/UBSan),
# and run every test under ctest. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCR_TEST_HOOKS=ON >/dev/null
cmake --build build -j"$jobs"
bash scripts/lint.sh build
bash scripts/build-matrix.sh
# The fuzzing harnesses as libFuzzer binaries (clang): a fixed number of
# executions each from their seeds, a regression run (bench/fuzz.sh fuzzes).
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCR_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz-image fuzz-proto fuzz-placement
(cd build-fuzz && ctest --output-on-failure -L fuzz -j"$jobs")
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCR_SANITIZE=ON -DCR_TEST_HOOKS=ON >/dev/null
cmake --build build-asan -j"$jobs"

# Sanitized build: cr and the agents under ASan/UBSan (the restorer blob and
# the test workloads never are); tests labelled "nosan" run once, below.
(cd build-asan && ctest --output-on-failure -LE nosan -j"$jobs")
(cd build && ctest --output-on-failure)
