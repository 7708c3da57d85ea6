#!/bin/bash
# tools/vm/dkms-check.sh: install bufpool the DKMS way, and check it does.
# Copies the source tree (sources, Kbuild, dkms.conf, VERSION only) to
# /usr/src/bufpool-<VERSION>, then dkms add / build / install for every
# kernel given (default: every /lib/modules/<ver> with a build dir, i.e. the
# installed headers: stock and PREEMPT_RT) and checks the installed module
# with modinfo (name, vermagic, location, license).
#   tools/vm/dkms-check.sh [check] [KVER...]  ... then dkms remove (CI)
#   tools/vm/dkms-check.sh install [KVER...]  ... and leave it installed
#   tools/vm/dkms-check.sh uninstall          dkms remove, rm /usr/src copy
# Needs root and `apt-get install dkms`.  Prints the time it took.
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
	for d in /lib/modules/*/build; do
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
for k in "${kvers[@]}"; do
	log "kernel $k: build + install"
	dkms build -m "$name" -v "$ver" -k "$k" ||
		{ cat "/var/lib/dkms/$name/$ver/build/make.log" >&2 2>/dev/null || true
		  die "dkms build failed for $k"; }
	dkms install -m "$name" -v "$ver" -k "$k" --force
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
	[ -z "$mver" ] || [ "$mver" = "$ver" ] ||
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
