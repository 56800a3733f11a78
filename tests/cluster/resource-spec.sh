#!/usr/bin/env bash
# A ctest resource specification file (on stdout) with one resource
# "cluster" per cluster.sh instance given, id = instance number, 1 slot each:
# every cluster test asks for one (RESOURCE_GROUPS cluster:1), so
#
#   tests/cluster/resource-spec.sh 2 3 >/tmp/cr-res.json
#   cd build && ctest -L cluster -j2 --resource-spec-file /tmp/cr-res.json
#
# runs two cluster tests at a time, one on instance 2 and one on 3 (lib.sh
# maps ctest's CTEST_RESOURCE_GROUP_0_CLUSTER to CR_CLUSTER_INSTANCE, which
# must then be unset). Default: $CR_CI_INSTANCES, else "0 1" (the test command's).
set -euo pipefail
# shellcheck disable=SC2086 # a list
[ $# -gt 0 ] || set -- ${CR_CI_INSTANCES:-0 1}
sep=
printf '{"version": {"major": 1, "minor": 0}, "local": [{"cluster": ['
for i in "$@"; do
	[[ $i =~ ^[0-5]$ ]] || { echo "${0##*/}: instance '$i' is not 0..5" >&2; exit 2; }
	printf '%s{"id": "%s", "slots": 1}' "$sep" "$i"
	sep=', '
done
printf ']}]}\n'
