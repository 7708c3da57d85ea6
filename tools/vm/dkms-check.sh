#!/bin/bash
# tools/vm/dkms-check.sh: install bufpool the DKMS way, and check it does.
# Copies the source tree (sources, Kbuild, dkms.conf, VERSION only) to
# /usr/src/bufpool-<VERSION>, dkms add, then `dkms autoinstall -k` for
# every kernel given (default: the stock kernel of each series among
# `make check`'s lanes, tools/vm/kver.sh lanes: 6.1 and 6.12 on bookworm;
# the RT lanes build the module for RT already), as a kernel package's
# postinst does on an upgrade, and checks the installed
# module with modinfo (name, vermagic, location, license, version).  It
# also checks that dkms refuses to build for a kernel older than 6.1
# (BUILD_EXCLUSIVE_KERNEL in dkms.conf).
#   tools/vm/dkms-check.sh [check] [KVER...]  ... then dkms remove (CI)
#   tools/vm/dkms-check.sh install [KVER...]  ... and leave it installed
#                                  (default: every kernel with headers)
#   tools/vm/dkms-check.sh uninstall          dkms remove, rm /usr/src copy
# Needs root and `apt-get install dkms`.  One run at a time per machine
# (a lock).  Prints the time it took.
set -euo pipefail

mode=check
case ${1:-} in
check|install|uninstall) mode=$1; shift ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
name=bufpool
ver=$(cat "$top/VERSION")
dst=/usr/src/$name-$ver
start=$(date +%s)

log() { echo "dkms-check: $*"; }
die() { echo "dkms-check: ERROR: $*" >&2; exit 1; }

command -v dkms >/dev/null || die "dkms not installed (apt-get install dkms)"
[ "$(id -u)" = 0 ] || die "needs root"
[ -n "$ver" ] || die "empty $top/VERSION"
conf_ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/dkms.conf")
[ "$conf_ver" = "$ver" ] ||
	die "dkms.conf PACKAGE_VERSION '$conf_ver' is not VERSION's '$ver'"

exec 9>/run/lock/bufpool-dkms.lock
flock 9

cleanup() {
	dkms remove -m "$name" -v "$ver" --all >/dev/null 2>&1 || true
	rm -rf "$dst"
}
if [ "$mode" = uninstall ]; then
	cleanup
	log "removed $name $ver"
	exit 0
fi

if [ $# -gt 0 ]; then
	kvers=("$@")
else
	kvers=()
	if [ "$mode" = install ]; then
		kdirs=$(ls -d /lib/modules/*/build 2>/dev/null || true)
	else
		kdirs=$("$here/kver.sh" lanes | awk '$1 !~ /-rt$/ { print $2 }')
	fi
	for d in $kdirs; do
		[ -e "$d/Makefile" ] || continue
		d=${d#/lib/modules/}
		kvers+=("${d%/build}")
	done
fi
[ ${#kvers[@]} -gt 0 ] || die "no kernel headers installed (/lib/modules/*/build)"

# a leftover of an interrupted run would make `dkms add` fail
cleanup
trap cleanup EXIT

log "copying $top to $dst (version $ver)"
mkdir -p "$dst"
(cd "$top" && cp --parents Kbuild dkms.conf VERSION \
	$(find module uapi -name '*.[ch]' | sort) "$dst/")

dkms add -m "$name" -v "$ver"

# A kernel older than 6.1: dkms must refuse it (status 77) before it
# looks for the kernel's headers.
old=6.0.0-bufpool-unsupported
rc=0
dkms build -m "$name" -v "$ver" -k "$old" >/dev/null 2>&1 || rc=$?
[ $rc -eq 77 ] || die "dkms build for $old: status $rc, not 77 (BUILD_EXCLUSIVE_KERNEL)"
log "kernel $old: refused (BUILD_EXCLUSIVE_KERNEL)"

for k in "${kvers[@]}"; do
	log "kernel $k: dkms autoinstall"
	dkms autoinstall -k "$k" ||
		{ cat "/var/lib/dkms/$name/$ver/build/make.log" >&2 2>/dev/null || true
		  die "dkms autoinstall failed for $k"; }
	dkms status -m "$name" -v "$ver" -k "$k" | grep -q ': installed' ||
		die "$k: dkms status does not say installed"
	file=$(modinfo -k "$k" -F filename "$name") ||
		die "$k: modinfo does not find the installed $name"
	vermagic=$(modinfo -k "$k" -F vermagic "$name")
	log "$k: $file"
	log "$k: vermagic $vermagic"
	case "$file" in
	/lib/modules/"$k"/updates/dkms/"$name".ko*) ;;
	*) die "$k: $name installed at unexpected $file" ;;
	esac
	[ "${vermagic%% *}" = "$k" ] || die "$k: vermagic '$vermagic' is not for $k"
	[ "$(modinfo -k "$k" -F name "$name")" = "$name" ] || die "$k: wrong module name"
	modinfo -k "$k" -F license "$name" | grep -qx GPL || die "$k: license not GPL"
	# once the module carries MODULE_VERSION, it must be VERSION's
	mver=$(modinfo -k "$k" -F version "$name")
	[ "$mver" = "$ver" ] ||
		die "$k: module version '$mver' is not VERSION's '$ver'"
done
dkms status -m "$name" -v "$ver"
if [ "$mode" = install ]; then
	trap - EXIT
	log "installed for ${kvers[*]} in $(( $(date +%s) - start ))s"
	exit 0
fi

log "removing"
dkms remove -m "$name" -v "$ver" --all
for k in "${kvers[@]}"; do
	if modinfo -k "$k" -F filename "$name" >/dev/null 2>&1; then
		die "$k: $name still installed after dkms remove"
	fi
done
rm -rf "$dst"
trap - EXIT
log "OK for ${kvers[*]} in $(( $(date +%s) - start ))s"
