#!/bin/bash
# tools/vm/check-all.sh: `make check`, each stage timed, every stage run
# even if an earlier one failed:
#   deps          apt-get what is missing, the kernel matrix included
#   debug-kernel  build the debug kernel (cached by hash): started in the
#                 background, niced, right after deps; joined before the
#                 debug lane
#   lint          checkpatch, userspace -Werror, uapi C/C++ compile tests,
#                 version tests only in the compat header, dkms.conf
#                 (the W=1/sparse build runs in every lane instead)
#   unit          the core harness (tools/testing/bufpool)
#   lanes         one stage per kernel of tools/vm/kver.sh lanes (6.1,
#                 6.1-rt, 6.12, 6.12-rt on bookworm): W=1/sparse build
#                 and the selftests VM on that kernel (make check-lane)
#   debug         the same on the debug kernel
#   dkms          dkms add, autoinstall for each series, remove
# The summary lists each stage's time, verdict and, for a VM lane, the
# kernel release the VM reported; the closing line adds up the tests of
# all stages ("N passed, N failed"); a stage without tests of its own
# counts as one.
# Env: MAKE (set by make), CHECK_ALL_STAGES (default
# "deps debug-kernel lint unit lanes debug dkms"; a lane name such as
# 6.12-rt is a stage too) to run a subset.
set -euo pipefail

cd "$(dirname "$0")/../.."
make=${MAKE:-make}
stages=${CHECK_ALL_STAGES:-deps debug-kernel lint unit lanes debug dkms}
summary=()
failed=0
tests_passed=0
tests_failed=0
t_all=$(date +%s)
tmp=$(mktemp -d)
log=$tmp/stage.log
bg_pid=
trap '[ -z "$bg_pid" ] || kill "$bg_pid" 2>/dev/null; rm -rf "$tmp"' EXIT

# record <name> <status> <seconds> <log>: count and summarize a stage
record() {
	local name=$1 rc=$2 dt=$3 slog=$4 counts kernel
	counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$slog" | tail -n 1 ||
		 true)
	if [ -n "$counts" ]; then
		tests_passed=$((tests_passed + $(echo "$counts" | awk '{ print $1 }')))
		tests_failed=$((tests_failed + $(echo "$counts" | awk '{ print $3 }')))
		[ "$rc" -eq 0 ] || [ "$(echo "$counts" | awk '{ print $3 }')" != 0 ] ||
			tests_failed=$((tests_failed + 1))
	elif [ "$rc" -eq 0 ]; then
		tests_passed=$((tests_passed + 1))
	else
		tests_failed=$((tests_failed + 1))
	fi
	# the release the VM booted ("vm: uptime=... kernel=<release>")
	kernel=$(sed -n 's/^vm: .*kernel=\([^ ]*\).*/\1/p' "$slog" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		summary+=("$(printf '%-13s %5ss  ok%s' "$name" "$dt" \
			"${kernel:+  on $kernel}")")
	else
		summary+=("$(printf '%-13s %5ss  FAILED (status %s)%s' "$name" \
			"$dt" "$rc" "${kernel:+  on $kernel}")")
		failed=$((failed + 1))
	fi
	echo "##### check-all: $name: ${dt}s, status $rc${kernel:+, kernel $kernel}"
}

run_stage() {
	local name=$1 t0 rc=0
	shift
	echo "##### check-all: $name: $*"
	t0=$(date +%s)
	"$@" 2>&1 | tee "$log" || rc=$?
	record "$name" "$rc" $(( $(date +%s) - t0 )) "$log"
}

# The debug kernel builds while the other stages run (nice: they come
# first).  build-debug-kernel.sh holds a lock, so a debug lane started
# before it ends would only wait.
bg_start() {
	echo "##### check-all: debug-kernel: started in the background"
	bg_t0=$(date +%s)
	( rc=0; nice -n 10 tools/vm/build-debug-kernel.sh >"$tmp/bg.log" 2>&1 ||
		rc=$?; date +%s >"$tmp/bg.end"; echo "$rc" >"$tmp/bg.rc" ) &
	bg_pid=$!
}

bg_join() {
	[ -n "$bg_pid" ] || return 0
	echo "##### check-all: debug-kernel: waiting for the background build"
	wait "$bg_pid" || true
	bg_pid=
	cat "$tmp/bg.log"
	# its own time, not the time until it was joined
	record debug-kernel "$(cat "$tmp/bg.rc" 2>/dev/null || echo 1)" \
		$(( $(cat "$tmp/bg.end" 2>/dev/null || date +%s) - bg_t0 )) \
		"$tmp/bg.log"
}

lane() {
	run_stage "$1" "$make" --no-print-directory check-lane LANE="$1"
}

for s in $stages; do
	case $s in
	deps)	run_stage deps "$make" --no-print-directory deps-kernels ;;
	debug-kernel) bg_start ;;
	lint)	run_stage lint "$make" --no-print-directory lint-src ;;
	unit)	run_stage unit "$make" --no-print-directory unit ;;
	lanes)
		lanes=$(tools/vm/kver.sh lanes | cut -d' ' -f1) ||
			{ record lanes 1 0 /dev/null; continue; }
		for l in $lanes; do
			lane "$l"
		done ;;
	debug)	bg_join; lane debug ;;
	dkms)	run_stage dkms "$make" --no-print-directory dkms-check ;;
	*)	if tools/vm/kver.sh lanes | cut -d' ' -f1 | grep -qxF -- "$s"; then
			lane "$s"
		else
			echo "check-all: unknown stage '$s'" >&2; exit 2
		fi ;;
	esac
done
bg_join

echo "##### check summary (total $(( $(date +%s) - t_all ))s)"
printf '  %s\n' "${summary[@]}"
if [ $failed -ne 0 ]; then
	echo "check: $failed stage(s) FAILED"
else
	echo "check: all stages passed"
fi
echo "$tests_passed passed, $tests_failed failed"
[ $failed -eq 0 ]
