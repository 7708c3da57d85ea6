#!/bin/bash
# tools/vm/check-all.sh: `make check`: lint, the core harness and the
# selftests on Debian's stock kernel (make check-stock), then the
# selftests on the PREEMPT_RT and debug kernels and the DKMS check, each
# stage timed; every stage runs even if an earlier one failed.  The
# summary lists the time and verdict of each, and the closing line adds
# up the tests of all stages ("N passed, N failed"); a stage without
# tests of its own (the debug kernel build, DKMS) counts as one.
# Env: MAKE (set by make), CHECK_ALL_STAGES (default
# "stock debug-kernel rt debug dkms") to run a subset.
set -euo pipefail

cd "$(dirname "$0")/../.."
make=${MAKE:-make}
stages=${CHECK_ALL_STAGES:-stock debug-kernel rt debug dkms}
summary=()
failed=0
tests_passed=0
tests_failed=0
t_all=$(date +%s)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_stage() {
	local name=$1 t0 rc=0 counts
	shift
	echo "##### check-all: $name: $*"
	t0=$(date +%s)
	"$@" 2>&1 | tee "$log" || rc=$?
	local dt=$(( $(date +%s) - t0 ))
	counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 ||
		 true)
	if [ -n "$counts" ]; then
		tests_passed=$((tests_passed + $(echo "$counts" | awk '{ print $1 }')))
		tests_failed=$((tests_failed + $(echo "$counts" | awk '{ print $3 }')))
		[ $rc -eq 0 ] || [ "$(echo "$counts" | awk '{ print $3 }')" != 0 ] ||
			tests_failed=$((tests_failed + 1))
	elif [ $rc -eq 0 ]; then
		tests_passed=$((tests_passed + 1))
	else
		tests_failed=$((tests_failed + 1))
	fi
	if [ $rc -eq 0 ]; then
		summary+=("$(printf '%-13s %5ss  ok' "$name" "$dt")")
	else
		summary+=("$(printf '%-13s %5ss  FAILED (status %s)' "$name" "$dt" "$rc")")
		failed=$((failed + 1))
	fi
	echo "##### check-all: $name: ${dt}s, status $rc"
}

for s in $stages; do
	case $s in
	stock)	run_stage stock "$make" --no-print-directory check-stock ;;
	debug-kernel)
		run_stage debug-kernel "$make" --no-print-directory debug-kernel ;;
	rt)	run_stage rt "$make" --no-print-directory check-rt ;;
	debug)	run_stage debug "$make" --no-print-directory check-debug ;;
	dkms)	run_stage dkms "$make" --no-print-directory dkms-check ;;
	*)	echo "check-all: unknown stage '$s'" >&2; exit 2 ;;
	esac
done

echo "##### check summary (total $(( $(date +%s) - t_all ))s)"
printf '  %s\n' "${summary[@]}"
if [ $failed -ne 0 ]; then
	echo "check: $failed stage(s) FAILED"
else
	echo "check: all stages passed"
fi
echo "$tests_passed passed, $tests_failed failed"
[ $failed -eq 0 ]
