#!/usr/bin/env bash
# The cluster-cleanup test (a ctest cleanup fixture): after the cluster tests
# of a run, however they ended (one killed at its TIMEOUT cannot clean up
# after itself), `cluster.sh down` every instance they used. lib.sh wrote
# those into USED-FILE; each is taken down under its session lock, so a test
# of another run on it is never disturbed. USED-FILE is removed.
#
#   cleanup.sh USED-FILE
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
used=${1:?usage: cleanup.sh USED-FILE}
[ -s "$used" ] || exit 0 # no cluster test ran (or all skipped)
# shellcheck source=tests/cluster/lib.sh
. "$HERE/lib.sh" # session_lock
rc=0
while read -r i; do
	[[ $i =~ ^[0-9]$ ]] || continue
	lock=$(session_lock "$i")
	echo "cluster-cleanup: instance $i (waiting for $lock if a test holds it)"
	CR_CLUSTER_INSTANCE=$i flock -w 1200 "$lock" "$HERE/cluster.sh" down </dev/null || rc=1
done < <(sort -u "$used")
rm -f "$used"
exit "$rc"
