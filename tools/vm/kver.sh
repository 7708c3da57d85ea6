#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kver.sh - find the kernel bufpool is built against and booted with.
#
#   kver.sh kdir           print the kbuild dir: the running kernel's
#                          (/lib/modules/$(uname -r)/build) if its headers
#                          are installed, else the newest
#                          /lib/modules/<ver>/build, a non-rt one preferred
#   kver.sh kernel [KDIR]  print the image that matches KDIR: its own
#                          arch/x86/boot/bzImage (a self-built kernel) or
#                          /boot/vmlinuz-<kernelrelease of KDIR>
#   kver.sh release [KDIR] print the kernelrelease of KDIR
#
# Prints nothing and exits 1 when nothing fits (run tools/vm/deps.sh).
set -euo pipefail

newest_kdir()
{
	local d ver all=() stock=()

	for d in /lib/modules/*/build; do
		[ -e "$d/Makefile" ] || continue
		ver=${d#/lib/modules/}
		ver=${ver%/build}
		all+=("$ver")
		case "$ver" in
		*-rt-*|*-rt) ;;
		*) stock+=("$ver") ;;
		esac
	done
	[ ${#stock[@]} -gt 0 ] && all=("${stock[@]}")
	[ ${#all[@]} -gt 0 ] || return 1
	ver=$(printf '%s\n' "${all[@]}" | sort -V | tail -n 1)
	echo "/lib/modules/$ver/build"
}

release_of()
{
	local kdir=$1 rel

	# utsrelease.h, not kernel.release: Debian's headers hold the
	# upstream version (6.1.x) in the latter.
	rel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' \
		  "$kdir/include/generated/utsrelease.h" 2>/dev/null) || true
	[ -n "$rel" ] || rel=$(cat "$kdir/include/config/kernel.release" 2>/dev/null) || true
	[ -n "$rel" ] || rel=$(basename "$(dirname "$kdir")")
	echo "$rel"
}

cmd=${1:-kdir}
kdir=${2:-}
if [ -z "$kdir" ] && [ "$cmd" != kdir ]; then
	kdir=$("$0" kdir) || exit 1
fi

case "$cmd" in
kdir)
	# what `make && insmod` needs: the running kernel's headers
	running=/lib/modules/$(uname -r)/build
	if [ -e "$running/Makefile" ]; then
		echo "$running"
	else
		newest_kdir
	fi
	;;
release)
	release_of "$kdir"
	;;
kernel)
	if [ -f "$kdir/arch/x86/boot/bzImage" ]; then
		echo "$kdir/arch/x86/boot/bzImage"
	else
		img="/boot/vmlinuz-$(release_of "$kdir")"
		[ -e "$img" ] || { echo "kver.sh: no $img" >&2; exit 1; }
		echo "$img"
	fi
	;;
*)
	echo "usage: $0 kdir | kernel [KDIR] | release [KDIR]" >&2
	exit 2
	;;
esac
