#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# deps.sh - apt-get install what building and testing bufpool needs.
#
#   deps.sh [--kernels] [PACKAGE...]
#
# --kernels adds the kernel matrix of `make check`: Debian's default
# kernel (linux-image-<arch>) and every newer series apt offers
# (linux-image-<series>-<arch> meta packages, e.g. 6.12 on bookworm),
# each stock and PREEMPT_RT, with headers.  Series and versions come from
# apt-cache, never from this script.  The newest linux-source-<series>
# (kselftest headers, checkpatch, the debug kernel) is always installed.
#
# Idempotent: installs only the packages that are missing, and runs
# "apt-get update" once, only when something is missing (or apt knows no
# package lists yet).  Needs root (or sudo) only then.
set -euo pipefail

kernels=
if [ "${1:-}" = --kernels ]; then
	kernels=1
	shift
fi

arch=$(dpkg --print-architecture)
pkgs=(
	build-essential		# gcc, make, libc6-dev (static libc)
	g++			# the uapi header's C++ checks and test
	perl			# checkpatch.pl
	"linux-image-$arch"	# the kernel booted in the VM
	"linux-headers-$arch"	# its kbuild dir for M= builds
	dwarves			# pahole: 6.12's kbuild deletes a .ko without it
	qemu-system-x86		# the VM
	busybox-static		# the VM's userland
	cpio			# initramfs
	sparse			# make C=2
	xz-utils		# to unpack the linux-source tarball
	kmod			# modinfo on the host
	clang			# the core harness: sanitizers, libFuzzer
	libclang-rt-14-dev	# their runtimes (only recommended by clang)
	liburing-dev		# the io_uring selftest, linked statically
	"$@"
)

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	sudo=(sudo)
fi
updated=
apt_update()
{
	[ -z "$updated" ] || return 0
	if [ ${#sudo[@]} -gt 0 ] && ! command -v sudo >/dev/null; then
		echo "deps: need root (or sudo) to run apt-get" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -q
	updated=1
}

# Package names apt offers that match an extended regex, version-sorted
# (apt-cache runs once: it takes seconds on a loaded machine).
names=$(apt-cache pkgnames linux- 2>/dev/null || true)
offered()
{
	grep -E "^$1\$" <<< "$names" | sort -V || true
}

# A fresh machine may have no package lists: apt-cache then knows nothing.
if [ -z "$(offered 'linux-source-[0-9]+\.[0-9]+')" ]; then
	apt_update
	names=$(apt-cache pkgnames linux- 2>/dev/null || true)
fi

src=$(offered 'linux-source-[0-9]+\.[0-9]+' | tail -n 1)
[ -n "$src" ] || { echo "deps: apt offers no linux-source-<series>" >&2; exit 1; }
pkgs+=("$src")

if [ -n "$kernels" ]; then
	pkgs+=("linux-image-rt-$arch" "linux-headers-rt-$arch")
	for img in $(offered "linux-image-[0-9]+\\.[0-9]+-$arch"); do
		series=${img#linux-image-}
		series=${series%-"$arch"}
		pkgs+=("$img")
		for p in "linux-headers-$series-$arch" "linux-image-$series-rt-$arch" \
			 "linux-headers-$series-rt-$arch"; do
			[ -z "$(offered "$p")" ] || pkgs+=("$p")
		done
	done
fi

declare -A installed=()
while read -r p st; do
	[ "$st" != installed ] || installed[$p]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${pkgs[@]}" \
	 2>/dev/null || true)
missing=()
for p in "${pkgs[@]}"; do
	[ -n "${installed[$p]:-}" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all installed"
	exit 0
fi

echo "deps: installing ${missing[*]}"
apt_update
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
