#!/usr/bin/env bash
# Prints the project's module dependency graph as "A B" pairs (A includes
# B's header), for tsort. A module is DIR/NAME, from NAME.c and NAME.h;
# headers are looked up next to the includer, then in DIR/include.
set -euo pipefail
cd "$(dirname "$0")/.."
for dir in "$@"; do
	[ -d "$dir" ] || continue
	git ls-files --cached --others --exclude-standard "$dir/*.c" "$dir/*.h" | while read -r f; do
		from=${f%.*}
		from=${from/\/include\//\/}
		sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
			while read -r inc; do
				d=$(dirname "$f")
				for cand in "$d/$inc" "$dir/include/$inc"; do
					if [ -f "$cand" ]; then
						to=$(realpath --relative-to=. "$cand")
						to=${to%.*}
						to=${to/\/include\//\/}
						[ "$to" = "$from" ] || echo "$from $to"
						break
					fi
				done
			done
		echo "$from $from"
	done
done | sort -u
