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
# gcc and clang in every build type, in the background and niced: it takes
# the CPU the cluster tests leave idle (they mostly wait); checked at the end.
nice -n 19 bash scripts/build-matrix.sh >build/build-matrix.out 2>&1 &
matrix=$!
trap 'kill "$matrix" 2>/dev/null || true' EXIT
# The Debian packages: built in a tree of their own (prefix /usr, no test
# hooks), lintian, installed, reinstalled and purged (packaging/README.md).
bash scripts/package-test.sh build-pkg
# The fuzzing harnesses as libFuzzer binaries (clang): a fixed number of
# executions each from their seeds, a regression run (bench/fuzz.sh fuzzes).
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCR_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz-image fuzz-proto fuzz-placement fuzz-manifest \
	fuzz-info fuzz-archive fuzz-pstree
(cd build-fuzz && ctest --output-on-failure -L fuzz -j"$jobs")
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCR_SANITIZE=ON -DCR_TEST_HOOKS=ON >/dev/null
cmake --build build-asan -j"$jobs"

# ctest_pass DIR [LABEL]: every test of build DIR but those labelled LABEL.
# The cluster tests first, two at a time, each on its own cluster.sh instance
# (the ctest resource "cluster": CR_CI_INSTANCES, default "0 1"; 2 and 3 stay
# free for developers); then the others, -j$jobs, not competing with the
# clusters for the CPUs. Both run whatever the first's outcome; fails if
# either failed.
instances=${CR_CI_INSTANCES:-0 1}
# shellcheck disable=SC2086 # a list
bash tests/cluster/resource-spec.sh $instances >build/cluster-resources.json
ctest_pass() {
	local dir=$1 excl=${2:-} spec=$PWD/build/cluster-resources.json rc=0
	(cd "$dir" && env -u CR_CLUSTER_INSTANCE ctest --output-on-failure -L cluster ${excl:+-LE "$excl"} \
		-j"$(wc -w <<<"$instances")" --resource-spec-file "$spec") || rc=1
	(cd "$dir" && ctest --output-on-failure -LE "cluster${excl:+|$excl}" -j"$jobs") || rc=1
	return "$rc"
}

# Sanitized build: cr and the agents under ASan/UBSan (the restorer blob and
# the test workloads never are); tests labelled "nosan" run once, below.
# Both passes run whatever the other's outcome.
rc=0
ctest_pass build-asan nosan || rc=1
ctest_pass build || rc=1
wait "$matrix" || rc=1
cat build/build-matrix.out
exit "$rc"
