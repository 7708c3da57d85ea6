#!/bin/bash
# tools/vm/build-debug-kernel.sh: build (once per machine) the bufpool debug
# kernel: Debian's linux-source tarball + `make tinyconfig` + the fragment
# tools/vm/debug.config (merge_config.sh -m, olddefconfig), verifying that
# every fragment option survived, then `make bzImage modules`.
# The result is cached in $BUFPOOL_CACHE/debug-kernel-<hash>/ (hash of the
# fragment, this script's BUILD_SCHEME and the tarball); a second run is free.
# Prints on stdout:  BZIMAGE=<path>  and  KDIR=<build dir for make M=>.
# Env: BUFPOOL_CACHE (default /var/cache/bufpool), LINUX_SRC_TARBALL (default:
# newest /usr/src/linux-source-*.tar.xz), JOBS (default: nproc),
# FRAGMENT (default: debug.config next to this script).
# Needs: flex bison libelf-dev bc xz-utils gcc make.
set -euo pipefail

BUILD_SCHEME=1	# bump when the build steps below change meaningfully
here=$(cd "$(dirname "$0")" && pwd)
cache=${BUFPOOL_CACHE:-/var/cache/bufpool}
fragment=${FRAGMENT:-$here/debug.config}
jobs=${JOBS:-$(nproc)}
tarball=${LINUX_SRC_TARBALL:-$(ls -1 /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n1)}

log() { echo "build-debug-kernel: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ -n "$tarball" ] && [ -f "$tarball" ] ||
	die "no kernel source tarball (apt-get install linux-source-6.1, or set LINUX_SRC_TARBALL)"
[ -f "$fragment" ] || die "no config fragment $fragment"
for t in flex bison bc xz make gcc; do
	command -v "$t" >/dev/null || die "missing build tool: $t"
done

# The tarball is hashed by name+size+mtime (hashing 140 MB on every run
# would cost seconds) plus its first MiB; the fragment by content.
hash=$( { echo "scheme $BUILD_SCHEME"; cat "$fragment";
	  stat -c '%n %s %Y' "$tarball"; head -c 1048576 "$tarball"; } |
	sha256sum | cut -c1-16)
dir=$cache/debug-kernel-$hash
src=$dir/linux
bzimage=$src/arch/x86/boot/bzImage

print_result() {
	echo "BZIMAGE=$bzimage"
	echo "KDIR=$src"
}

mkdir -p "$cache"
exec 9>"$cache/debug-kernel.lock"
flock 9		# one build at a time per machine

if [ -f "$dir/.done" ] && [ -f "$bzimage" ] && [ -f "$src/Module.symvers" ]; then
	log "cached: $dir"
	print_result
	exit 0
fi

start=$(date +%s)
# Built in place (kernel trees are not meant to be moved); .done marks a
# complete build, anything else left over from an interrupted run is wiped.
tmp=$dir
rm -rf "$dir"
mkdir -p "$tmp/linux"
log "extracting $tarball into $tmp"
tar -xJf "$tarball" -C "$tmp/linux" --strip-components=1
cp "$fragment" "$tmp/debug.config"
t_extract=$(( $(date +%s) - start ))

cd "$tmp/linux"
log "configuring: tinyconfig + $(basename "$fragment")"
{ make -s tinyconfig &&
  scripts/kconfig/merge_config.sh -m .config "$tmp/debug.config" &&
  make -s olddefconfig; } >"$tmp/config.log" 2>&1 ||
	{ cat "$tmp/config.log" >&2; die "configuration failed"; }

# Kconfig drops options silently when a dependency is missing: check them all.
bad=0
while IFS= read -r line; do
	if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
		sym=${BASH_REMATCH[1]}
		if ! grep -qxF -- "$line" .config; then
			got=$(grep -E "^(# )?$sym[= ]" .config || echo "(absent)")
			log "option did not stick: want '$line', got '$got'"
			bad=1
		fi
	elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
		sym=${BASH_REMATCH[1]}
		if grep -qE "^$sym=" .config; then
			log "option did not stick: want '$line', got '$(grep -E "^$sym=" .config)'"
			bad=1
		fi
	fi
done < "$tmp/debug.config"
[ "$bad" = 0 ] || die "config fragment not fully applied (see above); fix $fragment"
log "all fragment options verified in .config"
t_config=$(( $(date +%s) - start - t_extract ))

log "building bzImage modules with -j$jobs (a few minutes)"
make -j"$jobs" bzImage modules >"$tmp/build.log" 2>&1 ||
	{ tail -n 40 "$tmp/build.log" >&2; die "kernel build failed, log: $tmp/build.log"; }
t_build=$(( $(date +%s) - start - t_extract - t_config ))

[ -f arch/x86/boot/bzImage ] && [ -f Module.symvers ] || die "build produced no bzImage/Module.symvers"
{ echo "fragment-hash $hash"; echo "tarball $tarball";
  echo "kernelrelease $(make -s kernelrelease)";
  echo "extract ${t_extract}s config ${t_config}s build ${t_build}s"; } > "$tmp/.done"
log "built in $(( $(date +%s) - start ))s (extract ${t_extract}s, config ${t_config}s, build ${t_build}s): $dir"
print_result
