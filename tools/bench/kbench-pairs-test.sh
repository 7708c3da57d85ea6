#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kbench-pairs-test.sh - tools/bench/kbench-pairs.awk on made-up
# "@@KPAIR" lines whose table is known: the pairing within an
# alternation, the interval of the median, the verdicts, and lines with
# key=value words the awk does not know.  On the host, no VM:
#
#   tools/bench/kbench-pairs-test.sh     (make bench-test)
set -euo pipefail

awkf=$(dirname "$0")/kbench-pairs.awk
fail=0

# line <side> <alt> <policy> <service us> <limit> <peer> <rate>
#      [waited wakeups] [more words]
line()
{
	local pol=$3

	[ "$6" = sbitmap ] && pol=-
	echo "@@KPAIR side=$1 alt=$2 pos=1 cfg_policy=$3 run_ms=1000 peak=66 t=1.0 peer=$6 policy=$pol sessions=64 maxconn=8 limit=$5 reserve=4 service_us=$4 ms=1003 completed=1 rate=$7 waited=${8:-0} wakeups=${9:-0} spurious=0 pool_wakeups=${9:-0} pool_grants=${8:-0} ${10:-}"
}

# row <service us> <limit> <policy>: that configuration's table row
row()
{
	grep "^| $1 | $2 | $3[ |]" "$tmp/table" || true
}

expect()	# <what> <row> <pattern>
{
	if grep -qF -- "$3" <<< "$2"; then
		echo "ok - $1"
	else
		echo "not ok - $1: wanted '$3' in: $2"
		fail=1
	fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
	echo "@@KPAIRINFO side=new default_policy=handoff"
	echo "@@KPAIRINFO side=base default_policy=handoff"
	# The host's speed doubles from one alternation to the next, and
	# the ratios within an alternation are 1.05, 1.10, ... 1.30, and
	# 0.90 in alternation 7: sorted 0.90 1.05 1.10 1.15 1.20 1.25 1.30,
	# median 1.15, interval [1.05, 1.25]; the base runs at half the
	# sbitmap rate.
	r=1000
	for a in 1 2 3 4 5 6 7; do
		x=$(awk "BEGIN { print $a == 7 ? 0.90 : 1 + 0.05 * $a }")
		line new $a handoff 2000 33 bufpool "$(awk "BEGIN { print int($r * $x) }")" 100 100 drains=3
		line new $a handoff 2000 33 sbitmap $r 100 130
		line base $a handoff 2000 33 bufpool $((r / 2))
		r=$((r * 2))
	done
	# below: ratios 0.90-0.96, interval ends under 1.000
	for a in 1 2 3 4 5 6 7; do
		line new $a handoff 200 17 bufpool $((900 + 10 * a)) 50 50
		line new $a handoff 200 17 sbitmap 1000
	done
	# a tie: median 0.99, interval [0.97, 1.02]
	for a in 1 2 3 4 5 6 7; do
		v=$(echo "960 970 980 990 1000 1020 1040" | cut -d' ' -f$a)
		line new $a handoff 200 133 bufpool "$v"
		line new $a handoff 200 133 sbitmap 1000
	done
	# faster, but more wake-ups than waits
	for a in 1 2 3 4 5 6 7; do
		line new $a adaptive 200 17 bufpool 1100 50 52
		line new $a adaptive 200 17 sbitmap 1000
	done
	# faster in the median, but the interval reaches 0.85
	for a in 1 2 3 4 5 6 7; do
		v=$(echo "800 850 1000 1010 1020 1100 1200" | cut -d' ' -f$a)
		line new $a adaptive 2000 133 bufpool "$v"
		line new $a adaptive 2000 133 sbitmap 1000
	done
	# an alternation whose sbitmap run is missing pairs nothing
	for a in 1 2 3; do
		line new $a adaptive 2000 17 bufpool 1100
		[ $a = 2 ] || line new $a adaptive 2000 17 sbitmap 1000
	done
} > "$tmp/log"
awk -f "$awkf" "$tmp/log" > "$tmp/table"

r=$(row 2000 33 handoff)
expect "ratios paired within an alternation" "$r" "| 7 | 1.150 | 0.900 | 1.300 | [1.050, 1.250] (87.5 %) |"
expect "rates: medians over the alternations" "$r" "| 9600 | 8000 |"
expect "wake-ups per wait" "$r" "| 1.000 (0; 700/700) |"
expect "after/before paired" "$r" "| 2.300 [2.100, 2.500] |"
expect "met" "$r" "| **met** |"
r=$(row 200 17 handoff)
expect "not met: interval below 1.000" "$r" "| **not met** |"
r=$(row 200 133 handoff)
expect "tie within noise" "$r" "| 0.990 | 0.960 | 1.040 | [0.970, 1.020] (87.5 %) |"
expect "tie verdict" "$r" "| tie within noise (not met) |"
r=$(row 200 17 adaptive)
expect "wake-ups/wait 1.040 is not met" "$r" "| 1.040 (0; 364/350) | - | - | **not met** |"
r=$(row 2000 133 adaptive)
expect "median >= 1 with the interval below 0.95 is noisy" "$r" "| [0.850, 1.100] (87.5 %) |"
expect "noisy verdict" "$r" "| noisy (not met) |"
r=$(row 2000 17 adaptive)
expect "an unpaired alternation is left out; n = 2: min..max" "$r" "| 2 | 1.100 | 1.100 | 1.100 | [1.100, 1.100] (50.0 %) |"
expect "default policy count" "$(cat "$tmp/table")" \
	"Item 3 on the default policy (handoff): met in 1 of 3 configurations, noisy in 0, not met in 1, a tie within noise in 1."
if [ $fail -eq 0 ]; then
	echo "kbench-pairs-test: ok"
else
	cat "$tmp/table"
	echo "kbench-pairs-test: FAILED"
fi
exit $fail
