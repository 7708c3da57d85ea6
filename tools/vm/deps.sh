#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# deps.sh - apt-get install what building and testing bufpool needs.
#
# Idempotent: installs only the packages that are missing, and runs
# "apt-get update" once, only when something is missing.  Needs root (or
# sudo) only in that case.  Extra packages may be given as arguments.
set -euo pipefail

pkgs=(
	build-essential		# gcc, make, libc6-dev (static libc)
	perl			# checkpatch.pl
	linux-image-amd64	# the kernel booted in the VM
	linux-headers-amd64	# its kbuild dir for M= builds
	qemu-system-x86		# the VM
	busybox-static		# the VM's userland
	cpio			# initramfs
	linux-source-6.1	# kselftest headers and checkpatch.pl
	sparse			# make C=2
	xz-utils		# to unpack the linux-source tarball
	kmod			# modinfo on the host
	clang			# the core harness: sanitizers, libFuzzer
	libclang-rt-14-dev	# their runtimes (only recommended by clang)
	"$@"
)

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null |
	     grep -qx installed; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all installed"
	exit 0
fi

echo "deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || {
		echo "deps: need root (or sudo) to install ${missing[*]}" >&2
		exit 1
	}
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
