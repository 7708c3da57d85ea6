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
# reserve 4 (every policy) and reserve 1 (handoff and adaptive).
#
# Everything runs BENCH_REPS times (3) in this boot, one whole round
# after the other, so that a slow spell of the host hits one repetition
# of many configurations rather than every repetition of one; the report
# takes the median and the spread (tools/bench/bench-report.awk).  To add
# rows: a function below printing "@@BENCH {json}" lines, called from
# bench_round (it runs once per repetition), and a table in the awk.
#
# Status page rows: handoff, reserve 1 and 4 server-bound, reserve 4
# CPU-bound, read their grants from the status page (bufpool-bench
# --status).
#
# Before and after: when the initramfs also holds a base revision's
# module, kbench module and bench tool (/lib/modules/base/bufpool.ko,
# /lib/modules/base/bufpool_kbench.ko, /bin/base/bufpool-bench: bench.sh
# with BENCH_BASE), the configurations of the base set (the syscall
# floor; kbench's bufpool rows and the userspace rows at reserve 1 and 4
# of the policies in BENCH_BASE_POLICIES, "default": the base module's
# default policy; the status page rows) run twice
# in a row, once under each module, bufpool.ko reloaded before each run
# with the phase's bufsize (and contig) parameters; the side that goes
# first alternates from one repetition to the next.  The base's lines
# read "@@BENCH side=base {json}" and "@@KBENCH side=base ...".  The
# other rows run once, under this tree's module.
#
# Env (from the kernel command line, as vm-init passes it): BENCH_S,
# BENCH_M, BENCH_SECS, BENCH_KMS, BENCH_FLOOR_N, BENCH_SERVICE_US,
# BENCH_CPU_SERVICE_US, BENCH_REPS, BENCH_BASE_POLICIES ("default";
# commas between words).
# shellcheck shell=dash disable=SC3043,SC2317 # busybox ash has "local"; timed() runs functions
set -u

NEW_B=/bin/bufpool-bench
NEW_KO=/lib/modules/bufpool.ko
NEW_KB=/lib/modules/bufpool_kbench.ko
BASE_B=/bin/base/bufpool-bench
BASE_KO=/lib/modules/base/bufpool.ko
BASE_KB=/lib/modules/base/bufpool_kbench.ko
KRUN=/sys/kernel/debug/bufpool_kbench/run
SYS=/sys/class/misc/bufpool
S=${BENCH_S:-64}
M=${BENCH_M:-8}
D=${BENCH_SECS:-5}
KMS=${BENCH_KMS:-4000}
FLOOR_N=${BENCH_FLOOR_N:-600000}
SVC=${BENCH_SERVICE_US:-2000}
CSVC=${BENCH_CPU_SERVICE_US:-200}
REPS=${BENCH_REPS:-3}
# commas on the kernel command line
BASE_POLICIES=$(echo "${BENCH_BASE_POLICIES:-default}" | tr , ' ')
rc=0

have_base=0
[ -f $BASE_KO ] && [ -x $BASE_B ] && have_base=1
# The module as the phase loaded it, to load it again the same way.
PARAMS="bufsize=$(cat $SYS/bufsize)"
[ "$(cat /sys/module/bufpool/parameters/contig 2>/dev/null)" = Y ] &&
	PARAMS="$PARAMS contig=1"
side=new	# the module loaded now
kb=0		# and whether the kbench module is loaded on top
B=$NEW_B

# info: the default policy of the module just loaded, once a side
info()
{
	case " $infos " in *" $side "*) return ;; esac
	infos="$infos $side"
	defpol=$(sed -n 's/.*\[\([a-z]*\)\].*/\1/p' $SYS/policy)
	[ "$side" = base ] && base_default=${defpol:-handoff}
	echo "@@BENCHINFO side=$side default_policy=$defpol"
}
infos=

# use <new|base> [kbench]: that side's bufpool.ko loaded (and its kbench
# module with "kbench"), B its bench tool.
use()
{
	want_kb=0
	[ "${2:-}" = kbench ] && want_kb=1
	if [ "$1" != "$side" ]; then
		if [ "$kb" -eq 1 ]; then
			rmmod bufpool_kbench || rc=1
			kb=0
		fi
		n=0
		until rmmod bufpool; do
			n=$((n + 1))
			[ $n -lt 20 ] || { echo "# bench: cannot unload bufpool"; exit 1; }
			sleep 0.5
		done
		ko=$NEW_KO
		[ "$1" = base ] && ko=$BASE_KO
		# shellcheck disable=SC2086 # parameters are words
		insmod $ko $PARAMS || { echo "# bench: insmod $ko $PARAMS failed"; exit 1; }
		side=$1
		info
	fi
	if [ $want_kb -eq 1 ] && [ $kb -eq 0 ]; then
		k=$NEW_KB
		[ "$side" = base ] && k=$BASE_KB
		if insmod $k; then
			kb=1
		else
			echo "# kbench: cannot load $k"
			rc=1
		fi
	fi
	B=$NEW_B
	[ "$side" = base ] && B=$BASE_B
}

# tag: the prefix of this side's result lines
tag()
{
	if [ "$side" = base ]; then
		sed "s/^/$1 side=base /"
	else
		sed "s/^/$1 /"
	fi
}

# sides <rep>: the order of the two sides in this repetition
sides()
{
	if [ $have_base -eq 0 ]; then
		echo new
	elif [ $(($1 % 2)) -eq 1 ]; then
		echo base new
	else
		echo new base
	fi
}

in_list()	# <word> <list>
{
	case " $2 " in *" $1 "*) return 0 ;; esac
	return 1
}

floor()	# <rep>
{
	for sd in $(sides "$1"); do
		use "$sd"
		$B --floor --json -n "$FLOOR_N" \
		   --label "floor/bufsize=$(cat $SYS/bufsize)/rep$1" | tag @@BENCH
	done
}

info

case "$(basename "$0")" in
bufpool-bench-floor)
	for rep in $(seq 1 "$REPS"); do
		floor "$rep"
	done
	use new
	exit $rc
	;;
esac

peak=$($B -q --peak-only -S "$S" -M "$M" -s "$SVC") || exit 1
echo "# bench: S=$S M=$M service=${SVC}us and ${CSVC}us, peak need $peak buffers, ${D}s a run, $REPS repetitions"
if [ $have_base -eq 1 ]; then
	# "default" in BENCH_BASE_POLICIES: the base module's default policy
	use base
	use new
	BASE_POLICIES=$(echo " $BASE_POLICIES " | sed "s/ default / $base_default /")
	echo "# bench: base module and tools present: before/after for the floor, kbench's bufpool rows under policies$BASE_POLICIES, the userspace rows of those policies at reserve 1 and 4, the status rows"
fi

# one_run <svc> <policy> <reserve> <frac> <rep> [bufpool-bench options]
one_run()
{
	# shellcheck disable=SC2086 # options are words
	$B -q -j -p "$2" -r "$3" -f "$4" -P "$peak" -S "$S" -M "$M" -s "$1" \
	   -d "$D" ${6:-} --label "$2${6:-}/r$3/f$4/s$1/rep$5" | tag @@BENCH
}

sweep()	# <service us> <reserves> <rep> [policies [bufpool-bench options]]
{
	for pol in ${4:-handoff adaptive offer all}; do
		for r in $2; do
			for f in 0 0.5 0.25; do
				if [ "$r" != 0 ] && { [ -n "${5:-}" ] ||
				   in_list "$pol" "$BASE_POLICIES"; }; then
					for sd in $(sides "$3"); do
						use "$sd"
						one_run "$1" "$pol" "$r" "$f" "$3" "${5:-}"
					done
				else
					use new
					one_run "$1" "$pol" "$r" "$f" "$3" "${5:-}"
				fi
			done
		done
	done
}

# kpeer <rep> <limit> <service us> <peer> [policy=...]
kpeer()
{
	if echo "peer=$4 ${5:-} sessions=$S maxconn=$M limit=$2 reserve=4 ms=$KMS service_us=$3" > "$KRUN"; then
		echo "peak=$peak rep=$1 $(cat "$KRUN")" | tag @@KBENCH
	else
		echo "# kbench: $side peer=$4 ${5:-} limit=$2 failed"
		rc=1
	fi
}

kpeers()	# <rep>
{
	unc=$((2 * S + 5))
	half=$(((peak + 1) / 2))
	quarter=$(((peak + 3) / 4))
	for svc in $SVC $CSVC; do
	for lim in $unc $half $quarter; do
		for pol in handoff adaptive offer all; do
			for sd in $(sides "$1"); do
				[ "$sd" = new ] || in_list "$pol" "$BASE_POLICIES" ||
					continue
				use "$sd" kbench
				[ "$kb" -eq 1 ] && kpeer "$1" "$lim" "$svc" bufpool "policy=$pol"
			done
		done
		use new kbench
		for p in mempool sbitmap; do
			[ "$kb" -eq 1 ] && kpeer "$1" "$lim" "$svc" "$p"
		done
	done
	done
}

# timed <what> <command...>: run it, then say how long it took
timed()
{
	local what=$1 t0

	shift
	t0=$(cut -d' ' -f1 /proc/uptime)
	"$@"
	echo "# bench: $what took $(awk "BEGIN { print $(cut -d' ' -f1 /proc/uptime) - $t0 }") s"
}

bench_round()	# <rep>
{
	echo "# bench: repetition $1 of $REPS"
	timed "rep $1 sweep ${SVC}us" sweep "$SVC" "0 1 4" "$1"
	timed "rep $1 sweep ${CSVC}us" sweep "$CSVC" "4" "$1"
	timed "rep $1 sweep ${CSVC}us r1" sweep "$CSVC" "1" "$1" "handoff adaptive"
	timed "rep $1 status ${SVC}us" sweep "$SVC" "1 4" "$1" handoff --status
	timed "rep $1 status ${CSVC}us" sweep "$CSVC" "4" "$1" handoff --status
	timed "rep $1 floor" floor "$1"
	# The kernel peers, reserve 4, same sessions, server and limits.
	timed "rep $1 kbench" kpeers "$1"
	use new
	if [ "$kb" -eq 1 ]; then
		rmmod bufpool_kbench || rc=1
		kb=0
	fi
}

for rep in $(seq 1 "$REPS"); do
	timed "repetition $rep" bench_round "$rep"
done

# Leave the pool as the phase loaded it.
use new
echo handoff > $SYS/policy
echo 0 > $SYS/reserve
echo 256 > $SYS/limit
echo 4 > $SYS/reserve
exit $rc
