#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh - pack the bufpool test VM's initramfs: static busybox,
# tools/vm/vm-init.sh as /init, bufpool.ko, the phase file, the static
# test programs and the kernel modules the tests need.
#
#   mkinitramfs.sh -o OUT.cpio.gz -k bufpool.ko -p PHASES \
#                  [-t KSELFTEST]... [-x PROGRAM]... [-d SRC:DEST]...
#                  [-r RELEASE -m MODULE[:PARAMS]...]
#
#   -t  a kselftest binary: /tests/<name>, part of "*" in the phase file
#   -x  any other static program (tools/*): /bin/<name>
#   -d  a data file, installed mode 0644 at the absolute path DEST
#   -r  the release of the kernel the VM boots (uname -r there): the
#       modules come from /lib/modules/RELEASE
#   -m  a kernel module of that kernel, with the dependencies its
#       modules.dep names; the VM's /init loads it (busybox modprobe)
#       before the first phase, with PARAMS (comma-separated words).
#       A module the kernel has built in (modules.builtin), or a kernel
#       with no /lib/modules/RELEASE (a kernel built in a tree, like the
#       debug lane's), packs nothing: the tests that need what it
#       provides look for it and SKIP without it.
#
# Compressed modules (.ko.xz, .ko.gz, .ko.zst) are unpacked here: busybox
# insmod need not read them, nor the kernel support decompression.
#
# The VM's /init reports a program the phase file names but that is not
# packed as a failed test.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out='' ko='' phases=''
ksft=()
extra=()
data=()
release=''
kmods=()

usage()
{
	sed -n '/^#   mkinitramfs/,/^#   -m/s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

while getopts "o:k:p:t:x:d:r:m:" opt; do
	case $opt in
	o) out=$OPTARG ;;
	k) ko=$OPTARG ;;
	p) phases=$OPTARG ;;
	t) ksft+=("$OPTARG") ;;
	x) extra+=("$OPTARG") ;;
	d) data+=("$OPTARG") ;;
	r) release=$OPTARG ;;
	m) kmods+=("$OPTARG") ;;
	*) usage ;;
	esac
done
[ -n "$out" ] && [ -n "$ko" ] && [ -n "$phases" ] || usage
[ ${#kmods[@]} -eq 0 ] || [ -n "$release" ] || usage

busybox=/bin/busybox
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || {
	# file(1) may be missing; ldd says "not a dynamic executable".
	ldd "$busybox" >/dev/null 2>&1 && {
		echo "mkinitramfs: $busybox is not static (apt-get install busybox-static)" >&2
		exit 1
	}
}

err=0
names_ksft=()
for f in "${ksft[@]}" "${extra[@]}"; do
	[ -x "$f" ] || { echo "mkinitramfs: $f: not an executable" >&2; err=1; }
	if ldd "$f" >/dev/null 2>&1; then
		echo "mkinitramfs: $f is dynamically linked; build it with -static" >&2
		err=1
	fi
done
for f in "${ksft[@]}"; do
	names_ksft+=("$(basename "$f")")
done

[ $err -eq 0 ] || exit 1

root=$(mktemp -d "${TMPDIR:-/tmp}/bufpool-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
chmod 0755 "$root"	# the VM's /: unprivileged tests must reach /dev
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,run,tests,lib/modules}
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
install -m 0755 "$here/vm-init.sh" "$root/init"
install -m 0644 "$ko" "$root/lib/modules/bufpool.ko"
install -m 0644 "$phases" "$root/etc/bufpool-phases"
: > "$root/etc/bufpool-kselftests"
for f in "${ksft[@]}"; do
	install -m 0755 "$f" "$root/tests/"
done
for f in "${extra[@]}"; do
	install -m 0755 "$f" "$root/bin/"
done
for d in "${data[@]}"; do
	install -D -m 0644 "${d%%:*}" "$root${d#*:}"
done
for k in "${names_ksft[@]}"; do
	echo "$k" >> "$root/etc/bufpool-kselftests"
done

# unpack_ko SRC DEST: a module file, uncompressed
unpack_ko()
{
	case $1 in
	*.ko)		install -D -m 0644 "$1" "$2" ;;
	*.ko.xz)	mkdir -p "$(dirname "$2")" && xz -dc "$1" > "$2" ;;
	*.ko.gz)	mkdir -p "$(dirname "$2")" && gzip -dc "$1" > "$2" ;;
	*.ko.zst)	mkdir -p "$(dirname "$2")" && zstd -qdc "$1" > "$2" ;;
	*)		echo "mkinitramfs: $1: unknown module format" >&2; return 1 ;;
	esac
}

# Kernel modules: each named one and its dependencies (modules.dep lists
# them all, the deepest last), uncompressed, with a modules.dep of
# their own for busybox modprobe; /etc/bufpool-kmods names what the
# init loads.
: > "$root/etc/bufpool-kmods"
moddir=/lib/modules/$release
n_kmods=0
if [ ${#kmods[@]} -gt 0 ] && [ ! -f "$moddir/modules.dep" ]; then
	echo "mkinitramfs: no $moddir/modules.dep: packing no kernel modules (${kmods[*]%%:*}: built in, or absent)" >&2
elif [ ${#kmods[@]} -gt 0 ]; then
	declare -A packed=()
	vmdir=$root/lib/modules/$release
	mkdir -p "$vmdir"
	for m in "${kmods[@]}"; do
		name=${m%%:*}
		params=''
		[ "$name" = "$m" ] || params=${m#*:}
		re=${name//[-_]/[-_]}
		line=$(grep -E "(^|/)$re\.ko(\.[a-z]+)?:" "$moddir/modules.dep" || true)
		if [ -z "$line" ]; then
			if grep -qE "(^|/)$re\.ko\$" "$moddir/modules.builtin" 2>/dev/null; then
				echo "mkinitramfs: $name is built into $release"
				continue
			fi
			echo "mkinitramfs: $name: no such module in $moddir" >&2
			exit 1
		fi
		for f in ${line%%:*} ${line#*:}; do
			dest=${f%.xz}
			dest=${dest%.gz}
			dest=${dest%.zst}
			[ -z "${packed[$dest]:-}" ] || continue
			unpack_ko "$moddir/$f" "$vmdir/$dest"
			packed[$dest]=1
			n_kmods=$((n_kmods + 1))
		done
		echo "$name ${params//,/ }" >> "$root/etc/bufpool-kmods"
	done
	# modules.dep of what was packed, in the names it was packed under
	sed -E 's/\.ko\.(xz|gz|zst)/.ko/g' "$moddir/modules.dep" |
		while IFS= read -r l; do
			[ -z "${packed[${l%%:*}]:-}" ] || echo "$l"
		done > "$vmdir/modules.dep"
	: > "$vmdir/modules.builtin"
	[ ! -f "$moddir/modules.builtin" ] ||
		install -m 0644 "$moddir/modules.builtin" "$vmdir/modules.builtin"
fi

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
echo "initramfs: $out ($(du -h "$out" | cut -f1), ${#ksft[@]} kselftests, ${#extra[@]} other programs, $n_kmods kernel modules)"
