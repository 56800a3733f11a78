#!/usr/bin/env bash
# The Debian packages, end to end: configure and build BUILD_DIR as a
# package build (prefix /usr, no tests, no test hooks, Debian's hardening
# flags), make the .debs with CPack, run lintian (errors fail), install
# them, check what they installed (man pages, crctl/crd from /usr, the
# plugin and its plugstack.conf.d line, crd's state directory, crd neither
# started nor enabled), install them again over themselves, remove them
# (the plugstack.conf.d line goes), purge them and check that no file of
# theirs is left.
# Leaves the machine as it found it: whatever apt pulled in for them is
# purged too, on failure as well. Run as root on Debian 12, by
# scripts/test.sh. Usage: package-test.sh BUILD_DIR (its own build tree:
# a test build, with CR_TEST_HOOKS or another prefix, is refused).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: package-test.sh BUILD_DIR}
pkgs=(slurm-cr-client slurm-cr-node)
dropin=/etc/slurm/plugstack.conf.d/slurm-cr.conf # a link the client package makes
start=$SECONDS

fail() {
	echo "package-test: $*" >&2
	exit 1
}
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
# known: installed, half-installed or its conffiles left (not purged)
known() {
	local s
	s=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
	[ -n "$s" ] && [ "${s##* }" != not-installed ]
}

[ "$(id -u)" = 0 ] || fail "run as root"
for p in "${pkgs[@]}"; do
	! known "$p" ||
		fail "$p is installed already: this test would remove it (dpkg --purge ${pkgs[*]} first)"
done
# purge removes crd's default runtime directory: it must not be someone's.
[ ! -e /run/slurm-cr ] || fail "/run/slurm-cr exists (a crd with the default paths?): not touching it"
if [ -e "$dropin" ] || [ -L "$dropin" ]; then
	fail "$dropin exists: not touching it"
fi
if [ -f "$build/CMakeCache.txt" ]; then
	if ! grep -qx 'CMAKE_INSTALL_PREFIX:PATH=/usr' "$build/CMakeCache.txt" ||
		grep -q '^CR_TEST_HOOKS:BOOL=ON' "$build/CMakeCache.txt"; then
		fail "$build is not a package build (prefix /usr, no CR_TEST_HOOKS): give a directory of its own"
	fi
fi

# 1. Build and package, with the flags Debian builds its packages with.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)" \
	LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" \
	cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
	-DCR_BUILD_TESTS=OFF -DCR_TEST_HOOKS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" >"$build/package-build.log" 2>&1 ||
	{ tail -n 20 "$build/package-build.log" >&2; fail "build failed ($build/package-build.log)"; }
rm -rf "$build/packages"
(cd "$build" && cpack -G DEB) >"$build/cpack.log" 2>&1 ||
	{ tail -n 20 "$build/cpack.log" >&2; fail "cpack failed ($build/cpack.log)"; }
debs=()
for p in "${pkgs[@]}"; do
	f=$(echo "$build/packages/${p}_"*.deb)
	[ -f "$f" ] || fail "cpack made no $p package"
	debs+=("$f")
done
ls -l "${debs[@]}"

# 2. lintian: errors fail; the warnings and notes left are explained in
# packaging/README.md.
lintian --allow-root --fail-on error -EIL +pedantic "${debs[@]}" ||
	fail "lintian found errors"

# 3. What the machine has before: packages (apt may add dependencies) and
# which of the packages' paths exist already (directories such as /usr/bin).
before=$(mktemp)
pre=$(mktemp)
trap 'rm -f "$before" "$pre"' EXIT
dpkg-query -W -f='${Package}\n' | sort >"$before"
for f in "${debs[@]}"; do
	dpkg-deb -c "$f" | awk '{print $6}' | sed 's|^\.||; s|/$||' | grep -v '^$'
done | sort -u | while read -r path; do
	if [ -e "$path" ] || [ -L "$path" ]; then
		echo "$path"
	fi
done >"$pre"

cleanup() {
	local rc=$? extra mine=()
	set +e
	for p in "${pkgs[@]}"; do
		if known "$p"; then
			mine+=("$p")
		fi
	done
	[ ${#mine[@]} = 0 ] || dpkg --purge "${mine[@]}" >/dev/null
	# Not there before the test (checked above): the packages' leftovers.
	rm -rf /run/slurm-cr "$dropin"
	extra=$(dpkg-query -W -f='${Package}\n' | sort | comm -13 "$before" -)
	if [ -n "$extra" ]; then
		echo "package-test: purging what apt installed for the packages: $extra" >&2
		# shellcheck disable=SC2086 # a list
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $extra >/dev/null
	fi
	rm -f "$before" "$pre"
	exit "$rc"
}
trap cleanup EXIT

# 4. Install: dpkg, then apt for dependencies the machine lacks.
if ! dpkg -i "${debs[@]}" >/dev/null 2>"$build/dpkg.log"; then
	DEBIAN_FRONTEND=noninteractive apt-get install -f -y -qq >/dev/null ||
		{ cat "$build/dpkg.log" >&2; fail "the packages' dependencies cannot be installed"; }
fi
for p in "${pkgs[@]}"; do
	installed "$p" || fail "$p is not installed"
done
check_installed() {
	local owned name page plugin
	owned=$(dpkg -L "${pkgs[@]}")
	for name in crd crctl cr cr-rsh spank_cr; do
		page=$(man -w "$name" 2>/dev/null) || fail "man -w $name: no page"
		grep -qxF "$page" <<<"$owned" || fail "man -w $name found $page, not a packaged page"
	done
	/usr/bin/crctl --help | grep -q '^usage: crctl' || fail "/usr/bin/crctl --help"
	/usr/sbin/crd --help | grep -q '^usage: crd' || fail "/usr/sbin/crd --help"
	# The drop-in names the plugin where Slurm looks for it.
	[ -f "$dropin" ] || fail "no $dropin"
	plugin=$(awk '$1 == "required" {print $2}' "$dropin")
	[ -f "$plugin" ] || fail "$dropin names ${plugin:-no plugin}, which is not there"
	grep -qxF "$plugin" <<<"$owned" || fail "$plugin is not the packaged plugin"
	[ "$(stat -c %a /run/slurm-cr/state)" = 700 ] || fail "/run/slurm-cr/state is not mode 0700"
	# Not started, not enabled: the administrator does that once cr.conf is written.
	for pid in /proc/[0-9]*; do
		[ "$(readlink "$pid/exe" 2>/dev/null)" != /usr/sbin/crd ] || fail "crd was started (${pid#/proc/})"
	done
	! compgen -G '/etc/systemd/system/*.wants/crd.service' >/dev/null || fail "crd.service was enabled"
}
check_installed

# 5. Over itself.
dpkg -i "${debs[@]}" >/dev/null 2>"$build/dpkg.log" ||
	{ cat "$build/dpkg.log" >&2; fail "installing over itself failed"; }
for p in "${pkgs[@]}"; do
	installed "$p" || fail "$p is not installed after installing over itself"
done
check_installed

# 6. Remove, then purge: a removed package leaves no plugstack line naming
# a plugin that is gone (every job on the host would fail); after purge,
# nothing of theirs is left but the directories that were there.
owned=$(dpkg -L "${pkgs[@]}" | sort -u)
dpkg -r "${pkgs[@]}" >/dev/null 2>"$build/dpkg.log" ||
	{ cat "$build/dpkg.log" >&2; fail "dpkg -r failed"; }
if [ -e "$dropin" ] || [ -L "$dropin" ]; then
	fail "$dropin is left after dpkg -r"
fi
dpkg --purge "${pkgs[@]}" >/dev/null 2>"$build/dpkg.log" ||
	{ cat "$build/dpkg.log" >&2; fail "dpkg --purge failed"; }
left=$(while read -r path; do
	if { [ -e "$path" ] || [ -L "$path" ]; } && ! grep -qxF "$path" "$pre"; then
		echo "$path"
	fi
done <<<"$owned"$'\n/run/slurm-cr\n'"$dropin")
[ -z "$left" ] || fail "left after purge: $left"
echo "package-test: ${pkgs[*]} built, lintian-clean, installed, installed over themselves and purged ($((SECONDS - start)) s)"
