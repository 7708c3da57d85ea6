#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh - the stages of `make check` and `make run`, timed.
#
#   check.sh check   deps, lint, build, unit (the core harness under
#                    tools/testing/bufpool), initramfs, VM run of the
#                    selftests
#   check.sh run     deps, build, initramfs-run, VM run of bufpool-demo
#
# Run from the top-level Makefile (it uses $MAKE).  A lint or core failure
# does not stop the run: the VM still runs and each counts as one failure
# in the closing "N passed, N failed" line.  A build failure stops it.
set -euo pipefail

cd "$(dirname "$0")/../.."
mode=${1:-check}
make=${MAKE:-make}
timings=
failed_stages=

now()
{
	date +%s.%N
}

# stage <name> <command...>: run it, note its time; 1 if it failed
stage()
{
	local name=$1 t0 t1 rc=0

	shift
	echo "=== $name: $*"
	t0=$(now)
	"$@" || rc=$?
	t1=$(now)
	timings="${timings:+$timings, }$name $(awk -v a="$t0" -v b="$t1" \
		'BEGIN { printf "%.1f", b - a }')s"
	if [ $rc -ne 0 ]; then
		echo "=== $name: FAILED (status $rc)"
		failed_stages="$failed_stages $name"
		return 1
	fi
	return 0
}

give_up()
{
	for s in $failed_stages; do
		echo "FAIL: $s"
	done
	echo "timings: $timings"
	echo "0 passed, $(echo "$failed_stages" | wc -w) failed"
	exit 1
}

stage deps tools/vm/deps.sh || give_up
case $mode in
check)
	stage lint "$make" --no-print-directory lint || true
	stage build "$make" --no-print-directory modules selftests tools ||
		give_up
	# The core compiled in userspace (tools/testing/bufpool): unit
	# tests, sanitizers, fuzzing, model check; a failure does not stop us.
	stage unit "$make" --no-print-directory unit || true
	stage initramfs "$make" --no-print-directory initramfs || give_up
	initrd=initramfs.cpio.gz
	log=vm.log
	;;
run)
	stage build "$make" --no-print-directory modules tools || give_up
	stage initramfs "$make" --no-print-directory initramfs-run || give_up
	initrd=initramfs-run.cpio.gz
	log=vm-run.log
	;;
*)
	echo "usage: $0 check|run" >&2
	exit 2
	;;
esac

# The same variables the Makefile would use (command line or defaults).
vars=$("$make" --no-print-directory -s -f Makefile -f - print-vars <<'EOM'
print-vars:
	@echo "$(KERNEL)|$(BUILD)|$(VM_TIMEOUT)|$(VM_CPUS)|$(VM_MEM)|$(VM_APPEND)"
EOM
)
IFS='|' read -r kernel build tmo cpus mem append <<< "$vars"

BUFPOOL_TIMINGS=$timings BUFPOOL_FAILED_STAGES=$failed_stages \
	exec tools/vm/vm-run.sh -k "$kernel" -i "$build/$initrd" \
		-l "$build/$log" -t "$tmo" -c "$cpus" -m "$mem" -a "$append"
