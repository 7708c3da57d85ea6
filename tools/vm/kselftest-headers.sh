#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kselftest-headers.sh - extract, once, the few kernel source files bufpool
# uses but must not copy: kselftest.h, kselftest_harness.h (and the quoted
# headers they include), and checkpatch.pl with its data files.
#
# Source: the newest /usr/src/linux-source-*.tar.xz (linux-source-6.1), or
# $LINUX_SOURCE_TARBALL (or $LINUX_SRC_TARBALL, as tools/vm/ spells it).  The extraction is cached under
#   ${BUFPOOL_CACHE:-${XDG_CACHE_HOME:-/var/cache}/bufpool}/extract-<key>
# where <key> is the tarball's name, size and mtime; a new tarball gives a
# new directory.
#
#   kselftest-headers.sh             print the cache dir (the source root:
#                                    <dir>/scripts/checkpatch.pl, ...)
#   kselftest-headers.sh --include   print <dir>/tools/testing/selftests,
#                                    the -I dir for kselftest_harness.h
set -euo pipefail

files=(
	tools/testing/selftests/kselftest.h
	tools/testing/selftests/kselftest_harness.h
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
)

tarball=${LINUX_SOURCE_TARBALL:-${LINUX_SRC_TARBALL:-}}
if [ -z "$tarball" ]; then
	tarball=$(ls -1 /usr/src/linux-source-*.tar.xz 2>/dev/null |
		  sort -V | tail -n 1) || true
fi
if [ -z "$tarball" ] || [ ! -f "$tarball" ]; then
	echo "kselftest-headers: no linux-source tarball (run tools/vm/deps.sh)" >&2
	exit 1
fi

cache=${BUFPOOL_CACHE:-}
if [ -z "$cache" ]; then
	if [ -n "${XDG_CACHE_HOME:-}" ]; then
		cache=$XDG_CACHE_HOME/bufpool
	elif [ -w /var/cache ] || [ -w /var/cache/bufpool ]; then
		cache=/var/cache/bufpool
	else
		cache=$HOME/.cache/bufpool
	fi
fi
mkdir -p "$cache"

name=$(basename "$tarball" .tar.xz)
key=$name-$(stat -L -c '%s-%Y' "$tarball")
dir=$cache/extract-$key

if [ ! -f "$dir/.complete" ]; then
	# One extraction at a time (make -j may start two).
	exec 9>"$cache/.lock"
	flock 9
	if [ ! -f "$dir/.complete" ]; then
		tmp=$(mktemp -d "$cache/.extract.XXXXXX")
		trap 'rm -rf "$tmp"' EXIT
		want=("${files[@]}")
		# Two passes at most: the second fetches quoted includes of
		# the first that are not in the list (none in 6.1).
		for _ in 1 2; do
			tar -xJf "$tarball" -C "$tmp" --strip-components=1 \
			    "${want[@]/#/$name/}"
			want=()
			for h in "$tmp"/tools/testing/selftests/*.h; do
				for inc in $(sed -n 's/^#include "\(.*\)"/\1/p' "$h"); do
					rel=tools/testing/selftests/$inc
					[ -e "$tmp/$rel" ] || want+=("$rel")
				done
			done
			[ ${#want[@]} -eq 0 ] && break
		done
		[ ${#want[@]} -eq 0 ] || {
			echo "kselftest-headers: missing ${want[*]}" >&2
			exit 1
		}
		touch "$tmp/.complete"
		rm -rf "$dir"
		mv "$tmp" "$dir"
		trap - EXIT
	fi
	exec 9>&-
fi

case "${1:-}" in
--include)
	echo "$dir/tools/testing/selftests" ;;
"")
	echo "$dir" ;;
*)
	echo "usage: $0 [--include]" >&2
	exit 2 ;;
esac
