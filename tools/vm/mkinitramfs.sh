#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh - pack the bufpool test VM's initramfs: static busybox,
# tools/vm/vm-init.sh as /init, bufpool.ko, the phase file and the static
# test programs.
#
#   mkinitramfs.sh -o OUT.cpio.gz -k bufpool.ko -p PHASES \
#                  [-t KSELFTEST]... [-x PROGRAM]... [-d SRC:DEST]...
#
#   -t  a kselftest binary: /tests/<name>, part of "*" in the phase file
#   -x  any other static program (tools/*): /bin/<name>
#   -d  a data file, installed mode 0644 at the absolute path DEST
#
# The VM's /init reports a program the phase file names but that is not
# packed as a failed test.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out='' ko='' phases=''
ksft=()
extra=()
data=()

usage()
{
	sed -n '/^#   mkinitramfs/,/^#   -d/s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

while getopts "o:k:p:t:x:d:" opt; do
	case $opt in
	o) out=$OPTARG ;;
	k) ko=$OPTARG ;;
	p) phases=$OPTARG ;;
	t) ksft+=("$OPTARG") ;;
	x) extra+=("$OPTARG") ;;
	d) data+=("$OPTARG") ;;
	*) usage ;;
	esac
done
[ -n "$out" ] && [ -n "$ko" ] && [ -n "$phases" ] || usage

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

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
echo "initramfs: $out ($(du -h "$out" | cut -f1), ${#ksft[@]} kselftests, ${#extra[@]} other programs)"
