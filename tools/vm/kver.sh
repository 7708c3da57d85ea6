#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kver.sh - find the kernels bufpool is built against and booted with.
#
#   kver.sh kdir           print the kbuild dir: the running kernel's
#                          (/lib/modules/$(uname -r)/build) if its headers
#                          are installed, else the newest
#                          /lib/modules/<ver>/build, a non-rt one preferred
#   kver.sh kernel [KDIR]  print the image that matches KDIR: its own
#                          arch/x86/boot/bzImage (a self-built kernel) or
#                          /boot/vmlinuz-<kernelrelease of KDIR>
#   kver.sh release [KDIR] print the kernelrelease of KDIR
#   kver.sh lanes          print the kernel matrix of `make check`, one
#                          "<lane> <kdir>" a line: for every kernel series
#                          (6.1, 6.12, ...) with headers in /lib/modules,
#                          its newest stock and newest PREEMPT_RT kernel of
#                          this machine's flavour (-amd64, -rt-amd64),
#                          lanes named "6.1", "6.1-rt", ...; oldest first
#
# Prints nothing and exits 1 when nothing fits (run tools/vm/deps.sh).
set -euo pipefail

# Debian's flavour suffix of the kernels we test: -amd64, -rt-amd64.
flavour=$(dpkg --print-architecture 2>/dev/null || echo amd64)

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

# "<lane> <kdir>" for every series: newest stock, newest rt.
lanes()
{
	local d ver series kind best=()
	declare -A newest=()

	for d in /lib/modules/*/build; do
		[ -e "$d/Makefile" ] || continue
		ver=${d#/lib/modules/}
		ver=${ver%/build}
		case "$ver" in
		*-rt-"$flavour") kind=-rt ;;
		*-"$flavour") kind= ;;
		*) continue ;;
		esac
		[[ $ver =~ ^([0-9]+\.[0-9]+)[.-] ]] || continue
		series=${BASH_REMATCH[1]}$kind
		if [ -z "${newest[$series]:-}" ] ||
		   [ "$(printf '%s\n' "${newest[$series]}" "$ver" | sort -V |
			tail -n 1)" = "$ver" ]; then
			newest[$series]=$ver
		fi
	done
	[ ${#newest[@]} -gt 0 ] || return 1
	# "6.1" sorts before "6.1-rt", and both before "6.12"
	for series in "${!newest[@]}"; do
		best+=("$series /lib/modules/${newest[$series]}/build")
	done
	printf '%s\n' "${best[@]}" | sort -V -k1,1
}

cmd=${1:-kdir}
kdir=${2:-}
if [ -z "$kdir" ] && [ "$cmd" != kdir ] && [ "$cmd" != lanes ]; then
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
lanes)
	lanes
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
	echo "usage: $0 kdir | kernel [KDIR] | release [KDIR] | lanes" >&2
	exit 2
	;;
esac
