#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kbench-pairs-vm.sh - kbench's bufpool peer next to sbitmap_queue, run
# after run, inside the bench VM (busybox sh), as a plain program of a
# phase of tools/bench/vm-phases: bufpool.ko is loaded.
#
# A ratio of medians of runs tens of seconds apart carries the host's
# drift over those seconds (QEMU TCG); here the runs to be compared are
# adjacent.  For each configuration (service BENCH_SERVICE_US and
# BENCH_CPU_SERVICE_US; limit unconstrained 2S + 5, 1/2 and 1/4 of the
# peak need of bufpool-bench --peak-only; reserve 4; S sessions, maxconn
# M; the new module's default policy, and adaptive; and the fast path
# alone: service 0, unconstrained, the default policy) it runs BENCH_PAIRS
# alternations (7) of: bufpool under this tree's module, sbitmap_queue
# (under this tree's kbench module) and, when the initramfs holds a base
# revision's modules (bench.sh BENCH_BASE: /lib/modules/base/), bufpool
# under the base module.  The order rotates by one peer each
# alternation, so that each peer goes first, second and last equally
# often; each run is BENCH_PAIR_MS (1000) ms after a 200 ms warm-up.
#
# A change of side is rmmod bufpool_kbench, rmmod bufpool, insmod of
# the other bufpool.ko (with the phase's parameters) and its kbench
# module; its time is printed as "# kpairs: switch ..." (0.13-0.32 s
# under TCG, against ~0.8 s that a run spends beyond its nominal time
# starting and stopping its threads) and lies between two runs of one
# alternation, not inside one, so the side changes as the order asks.
#
# One line per run, for tools/bench/kbench-pairs.awk:
#
#   @@KPAIR side=<new|base> alt=<i> pos=<1..3> cfg_policy=<policy>
#           run_ms=<BENCH_PAIR_MS> peak=<peak need>
#           t=<uptime s at its start> <kbench's result line>
#
# cfg_policy is the bufpool policy of the configuration the run belongs
# to (sbitmap's own line says policy=-).  "@@KPAIRINFO side=<side>
# default_policy=<policy>" names each module's default policy.
#
# Env (from the kernel command line, as vm-init passes it): BENCH_S,
# BENCH_M, BENCH_SERVICE_US, BENCH_CPU_SERVICE_US, BENCH_PAIRS,
# BENCH_PAIR_MS.
# shellcheck shell=dash disable=SC3043 # busybox ash has "local"
set -u

NEW_B=/bin/bufpool-bench
NEW_KO=/lib/modules/bufpool.ko
NEW_KB=/lib/modules/bufpool_kbench.ko
BASE_KO=/lib/modules/base/bufpool.ko
BASE_KB=/lib/modules/base/bufpool_kbench.ko
KRUN=/sys/kernel/debug/bufpool_kbench/run
SYS=/sys/class/misc/bufpool
S=${BENCH_S:-64}
M=${BENCH_M:-8}
SVC=${BENCH_SERVICE_US:-2000}
CSVC=${BENCH_CPU_SERVICE_US:-200}
K=${BENCH_PAIRS:-7}
PMS=${BENCH_PAIR_MS:-1000}
WARM=200
RESERVE=4
rc=0

have_base=0
[ -f $BASE_KO ] && [ -f $BASE_KB ] && have_base=1
# The module as the phase loaded it, to load it again the same way.
PARAMS="bufsize=$(cat $SYS/bufsize)"
[ "$(cat /sys/module/bufpool/parameters/contig 2>/dev/null)" = Y ] &&
	PARAMS="$PARAMS contig=1"
side=new	# the bufpool.ko loaded now
kb=0		# and whether its kbench module is loaded on top

uptime_s()
{
	cut -d' ' -f1 /proc/uptime
}

defpolicy()
{
	sed -n 's/.*\[\([a-z]*\)\].*/\1/p' $SYS/policy
}

# kb_load: the kbench module of the side loaded now
kb_load()
{
	local k=$NEW_KB

	[ "$side" = base ] && k=$BASE_KB
	if insmod $k; then
		kb=1
	else
		echo "# kpairs: cannot load $k"
		rc=1
	fi
}

kb_unload()
{
	[ "$kb" -eq 1 ] || return 0
	rmmod bufpool_kbench || rc=1
	kb=0
}

# use <new|base>: that side's bufpool.ko and kbench module loaded
use()
{
	local n=0 ko=$NEW_KO t0

	if [ "$1" != "$side" ]; then
		t0=$(uptime_s)
		kb_unload
		until rmmod bufpool; do
			n=$((n + 1))
			[ $n -lt 20 ] || { echo "# kpairs: cannot unload bufpool"; exit 1; }
			sleep 0.5
		done
		[ "$1" = base ] && ko=$BASE_KO
		# shellcheck disable=SC2086 # parameters are words
		insmod $ko $PARAMS || { echo "# kpairs: insmod $ko $PARAMS failed"; exit 1; }
		side=$1
		kb_load
		echo "# kpairs: switch to $side took $(awk "BEGIN { print $(uptime_s) - $t0 }") s"
	elif [ "$kb" -eq 0 ]; then
		kb_load
	fi
}

# one <peer: new|sbitmap|base> <alt> <pos> <service us> <limit> <policy>
one()
{
	local sd=new peer=bufpool pol="policy=$6" t

	case $1 in
	base) sd=base ;;
	sbitmap) peer=sbitmap; pol= ;;
	esac
	use $sd
	[ "$kb" -eq 1 ] || return 0
	t=$(uptime_s)
	if echo "peer=$peer $pol sessions=$S maxconn=$M limit=$5 reserve=$RESERVE ms=$PMS warmup_ms=$WARM service_us=$4" > $KRUN; then
		echo "@@KPAIR side=$sd alt=$2 pos=$3 cfg_policy=$6 run_ms=$PMS peak=$peak t=$t $(cat $KRUN)"
	else
		echo "# kpairs: $sd peer=$peer $pol limit=$5 service_us=$4 failed"
		[ "$sd" = base ] || rc=1
	fi
}

# rotate <n> <words...>: the words, the first n moved to the end
rotate()
{
	local n=$1

	shift
	while [ "$n" -gt 0 ]; do
		set -- "$@" "$1"
		shift
		n=$((n - 1))
	done
	echo "$@"
}

newdef=$(defpolicy)
echo "@@KPAIRINFO side=new default_policy=$newdef"
if [ $have_base -eq 1 ]; then
	use base
	echo "@@KPAIRINFO side=base default_policy=$(defpolicy)"
	use new
fi
kb_unload
peak=$($NEW_B -q --peak-only -S "$S" -M "$M" -s "$SVC") || exit 1
policies=$newdef
[ "$newdef" = adaptive ] || policies="$policies adaptive"
peers="new sbitmap"
[ $have_base -eq 0 ] || peers="new sbitmap base"
npeers=$(echo "$peers" | wc -w)
unc=$((2 * S + 5))
half=$(((peak + 1) / 2))
quarter=$(((peak + 3) / 4))
echo "# kpairs: S=$S M=$M reserve $RESERVE, service ${SVC}us and ${CSVC}us, peak need $peak, policies $policies, $K alternations of: $peers; ${PMS} ms a run after ${WARM} ms"

# cfg <service us> <limit> <policy>: the K alternations of one configuration
cfg()
{
	local t_cfg alt=1 pos p

	t_cfg=$(uptime_s)
	while [ $alt -le "$K" ]; do
		pos=1
		# shellcheck disable=SC2086 # peers are words
		for p in $(rotate $(((alt - 1) % npeers)) $peers); do
			one "$p" $alt $pos "$1" "$2" "$3"
			pos=$((pos + 1))
		done
		alt=$((alt + 1))
	done
	echo "# kpairs: service ${1}us limit $2 $3 took $(awk "BEGIN { print $(uptime_s) - $t_cfg }") s"
}

t_all=$(uptime_s)
for svc in $SVC $CSVC; do
	for lim in $unc $half $quarter; do
		for pol in $policies; do
			cfg "$svc" "$lim" "$pol"
		done
	done
done
# The fast path alone: no service time, nobody waits, every policy the same.
cfg 0 $unc "$newdef"
echo "# kpairs: all configurations took $(awk "BEGIN { print $(uptime_s) - $t_all }") s"

# Leave the pool as the phase loaded it, without kbench on top.
[ "$side" = new ] || use new
kb_unload
exit $rc
