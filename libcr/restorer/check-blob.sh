#!/bin/sh
# The blob runs at an address chosen at restore time: refuse any relocation
# that is not PC-relative, and any writable data (it has no place to live).
set -eu
obj=$1
bad=$(objdump -r "$obj" | awk '$1 ~ /^[0-9a-f]+$/ && $2 !~ /^R_X86_64_(PC32|PLT32|GOTPCRELX|REX_GOTPCRELX|PC64)$/ {print}' | grep -v '^RELOCATION' || true)
if [ -n "$bad" ]; then
	echo "restorer: non PC-relative relocations:" >&2
	echo "$bad" >&2
	exit 1
fi
if objdump -h "$obj" | grep -qE ' \.(data|bss)[^ ]* +0*[1-9a-f]'; then
	echo "restorer: the blob must not have writable data" >&2
	exit 1
fi
