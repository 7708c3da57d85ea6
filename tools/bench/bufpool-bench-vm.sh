#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bufpool-bench-vm.sh - what `make bench` runs inside the VM (busybox sh),
# as a plain program of a phase of tools/bench/vm-phases: bufpool.ko is
# loaded.  Prints one "@@BENCH <json>" line per userspace run and one
# "@@KBENCH <key=value...>" line per in-kernel run, for tools/bench/bench.sh.
#
# Installed twice: as bufpool-bench-vm (the sweep: every policy at limit
# unconstrained, 1/2 and 1/4 of the peak need, reserve 0, 1, 4; the
# syscall floor; the kernel peers) and as bufpool-bench-floor (only the
# syscall floor, for a phase with another bufsize).
#
# Two service times: BENCH_SERVICE_US (2000 us: the server, M slots, is
# the bottleneck, as a proxy in front of slow servers) for the whole
# sweep, and BENCH_CPU_SERVICE_US (200 us: the two vCPUs are the
# bottleneck, so every extra system call or wake-up costs throughput) for
# reserve 4.
#
# Everything runs BENCH_REPS times (3) in this boot, one whole round
# after the other, so that a slow spell of the host hits one repetition
# of many configurations rather than every repetition of one; the report
# takes the median and the spread (tools/bench/bench-report.awk).  To add
# rows: a function below printing "@@BENCH {json}" lines, called from
# bench_round (it runs once per repetition), and a table in the awk.
#
# Status page rows: handoff, reserve 1 and 4, both service times, read
# their grants from the status page (bufpool-bench --status).
#
# Env (from the kernel command line, as vm-init passes it): BENCH_S,
# BENCH_M, BENCH_SECS, BENCH_KMS, BENCH_SERVICE_US, BENCH_CPU_SERVICE_US,
# BENCH_REPS.
set -u

B=/bin/bufpool-bench
KO=/lib/modules/bufpool_kbench.ko
KRUN=/sys/kernel/debug/bufpool_kbench/run
S=${BENCH_S:-64}
M=${BENCH_M:-8}
D=${BENCH_SECS:-5}
KMS=${BENCH_KMS:-2000}
SVC=${BENCH_SERVICE_US:-2000}
CSVC=${BENCH_CPU_SERVICE_US:-200}
REPS=${BENCH_REPS:-3}
rc=0

floor()
{
	$B --floor --json -n 200000 --label "floor/$1" | sed 's/^/@@BENCH /'
}

case "$(basename "$0")" in
bufpool-bench-floor)
	for rep in $(seq 1 "$REPS"); do
		floor "bufsize=$(cat /sys/class/misc/bufpool/bufsize)/rep$rep"
	done
	exit 0
	;;
esac

peak=$($B -q --peak-only -S "$S" -M "$M" -s "$SVC") || exit 1
echo "# bench: S=$S M=$M service=${SVC}us and ${CSVC}us, peak need $peak buffers, ${D}s a run, $REPS repetitions"

sweep()	# <service us> <reserves> <rep> [policies [bufpool-bench options]]
{
	for pol in ${4:-handoff adaptive offer all}; do
		for r in $2; do
			for f in 0 0.5 0.25; do
				# shellcheck disable=SC2086 # options are words
				$B -q -j -p "$pol" -r "$r" -f "$f" -P "$peak" \
				   -S "$S" -M "$M" -s "$1" -d "$D" ${5:-} \
				   --label "$pol${5:+$5}/r$r/f$f/s$1/rep$3" |
					sed 's/^/@@BENCH /'
			done
		done
	done
}

kpeers()
{
	unc=$((2 * S + 5))
	half=$(((peak + 1) / 2))
	quarter=$(((peak + 3) / 4))
	for svc in $SVC $CSVC; do
	for lim in $unc $half $quarter; do
		for p in "bufpool policy=handoff" "bufpool policy=adaptive" \
			 "bufpool policy=offer" "bufpool policy=all" mempool \
			 sbitmap; do
			# shellcheck disable=SC2086 # peer and policy are two words
			set -- $p
			if echo "peer=$1 ${2:-} sessions=$S maxconn=$M limit=$lim reserve=4 ms=$KMS service_us=$svc" > $KRUN; then
				echo "@@KBENCH peak=$peak $(cat $KRUN)"
			else
				echo "# kbench: peer=$p limit=$lim failed"
				rc=1
			fi
		done
	done
	done
}

bench_round()	# <rep>
{
	echo "# bench: repetition $1 of $REPS"
	sweep "$SVC" "0 1 4" "$1"
	sweep "$CSVC" "4" "$1"
	sweep "$SVC" "1 4" "$1" handoff --status
	sweep "$CSVC" "4" "$1" handoff --status
	echo handoff > /sys/class/misc/bufpool/policy
	floor "bufsize=$(cat /sys/class/misc/bufpool/bufsize)/rep$1"
	# The kernel peers, reserve 4, same sessions, server and limits.
	if insmod $KO; then
		kpeers
		rmmod bufpool_kbench || rc=1
	else
		echo "# kbench: cannot load $KO"
		rc=1
	fi
}

for rep in $(seq 1 "$REPS"); do
	bench_round "$rep"
done

# Leave the pool as the phase loaded it.
echo handoff > /sys/class/misc/bufpool/policy
echo 0 > /sys/class/misc/bufpool/reserve
echo 256 > /sys/class/misc/bufpool/limit
echo 4 > /sys/class/misc/bufpool/reserve
exit $rc
