#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs every step of the bufpool core harness (called by `make unit`),
# timing each one; ends with "harness: N passed, N failed".
# FUZZ_RUNS sets the bounded fuzzing run (default 300000).

cd "$(dirname "$0")" || exit 2
B=build
pass=0
fail=0
failed=()
t_all=$(date +%s%N)

secs() {
	awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'
}

step() {
	local name=$1 t0 t1 rc
	shift
	echo "=== $name: $*"
	t0=$(date +%s%N)
	"$@"
	rc=$?
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		echo "=== $name: ok ($(secs "$t0") s)"
	else
		fail=$((fail + 1))
		failed+=("$name")
		echo "=== $name: FAILED, exit $rc ($(secs "$t0") s)"
	fi
}

fuzz() {
	rm -rf $B/fuzz-corpus && mkdir -p $B/fuzz-corpus &&
	$B/fuzz -runs="${FUZZ_RUNS:-300000}" -max_len=256 -seed=1 \
		-print_final_stats=1 -artifact_prefix=$B/ \
		$B/fuzz-corpus corpus 2>&1 | grep -v -e '^#' -e '^INFO:' -e NEW_FUNC -e '# Uses:' -e '^###'
	return "${PIPESTATUS[0]}"
}

mc() {
	local args
	while read -r args; do
		$B/mc $args || return 1
	done <<-EOT
	-s seed -n 2 -l 2 -r 0
	-s seed -n 3 -l 3 -r 0 -t
	-s seed -n 2 -l 2 -r 1
	-s seed -n 3 -l 2 -r 1 -t -m
	-s seed -n 3 -l 3 -r 1 -t
	-s seed -n 4 -l 3 -r 1
	-s seed -n 4 -l 2 -r 1 -t
	-s ops -n 2 -l 1 -r 0 -d 12
	-s ops -n 2 -l 2 -r 1 -d 12 -m
	-s ops -n 3 -l 2 -r 0 -d 9
	-s ops -n 3 -l 3 -r 1 -d 8 -m
	-s ops -n 4 -l 2 -r 1 -d 6
	-s ops -n 3 -l 4 -r 1 -d 7 -q 4
	-s ops -n 4 -l 3 -r 0 -d 6 -q 2
	-s ops -n 2 -l 2 -r 1 -d 12 -m -x
	-s ops -n 3 -l 2 -r 0 -d 8 -x
	-s ops -n 2 -l 2 -r 1 -d 11 -p
	-s ops -n 3 -l 2 -r 0 -d 7 -p -m
	-s ops -n 2 -l 2 -r 0 -d 10 -x -p
	-s seed -n 3 -l 2 -r 1 -t -a
	-s seed -n 4 -l 3 -r 1 -a
	-s ops -n 2 -l 1 -r 0 -d 10 -a
	-s ops -n 3 -l 2 -r 0 -d 7 -a
	-s ops -n 2 -l 2 -r 1 -d 10 -m -a
	-s ops -n 3 -l 2 -r 1 -d 7 -q 2 -a
	-s ops -n 2 -l 2 -r 0 -d 10 -x -a
	-s ops -n 2 -l 2 -r 1 -d 9 -p -a
	-s seed -n 3 -l 3 -r 1 -t -k
	-s ops -n 3 -l 3 -r 1 -d 7 -m -k
	-s ops -n 2 -l 2 -r 0 -d 10 -p -k
	-s ops -n 3 -l 3 -r 0 -d 8 -p -q 2
	-s seed -n 3 -l 4 -r 1 -c
	-s ops -n 2 -l 4 -r 0 -d 9 -c
	-s ops -n 3 -l 4 -r 1 -d 6 -c -x
	-s ops -n 2 -l 4 -r 1 -d 8 -c -k -p
	EOT
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

step unit $B/unit
step unit-asan-ubsan $B/unit-asan
step stress-tsan $B/stress-tsan 3 4
step stress-tsan-adaptive $B/stress-tsan 3 4 adaptive
step stress-tsan-percpu $B/stress-tsan 3 4 percpu
step repro-adopt-uaf $B/repro-adopt-uaf
step repro-parked-growth $B/repro-parked-growth
step interleave $B/interleave
step fuzz fuzz
step model-check mc
step bench $B/bench 200000

echo "=== total $(secs "$t_all") s"
[ $fail -eq 0 ] || echo "=== failed: ${failed[*]}"
echo "harness: $pass passed, $fail failed"
[ $fail -eq 0 ]
