#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# sweep-vm.sh - the kernel-peer sweep of BENCHMARKS.md's "No convoy"
# section, run inside the bench VM (busybox sh) as a phase program with
# bufpool.ko loaded: bufpool under handoff and adaptive against
# sbitmap_queue and mempool, reserve 1 and 4, limit unconstrained, 1/2 and
# 1/4 of the peak need, server-bound (2000 us) and CPU-bound (200 us), the
# whole sweep three times (rep=1..3), one "@@KB <key=value...>" line per
# run.  Pack it with tools/vm/mkinitramfs.sh -x (as sweep-vm, phase line
# "bufsize=4096 : =sweep-vm"), with /bin/bufpool-bench and the kbench
# module appended as tools/bench/bench.sh does.  Env: BENCH_KMS (measured
# ms per run, default 1500).
set -u
B=/bin/bufpool-bench
KO=/lib/modules/bufpool_kbench.ko
KRUN=/sys/kernel/debug/bufpool_kbench/run
S=64
M=8
KMS=${BENCH_KMS:-1500}
peak=$($B -q --peak-only -S "$S" -M "$M" -s 2000) || exit 1
echo "# percpu-kb: S=$S M=$M peak=$peak ms=$KMS"
insmod $KO || exit 1
unc=$((2 * S + 5))
half=$(((peak + 1) / 2))
quarter=$(((peak + 3) / 4))
for rep in 1 2 3; do
for svc in 2000 200; do
for r in 1 4; do
for lim in $unc $half $quarter; do
	for p in "bufpool policy=handoff" "bufpool policy=adaptive" sbitmap mempool; do
		# shellcheck disable=SC2086 # peer and policy are two words
		set -- $p
		if echo "peer=$1 ${2:-} sessions=$S maxconn=$M limit=$lim reserve=$r ms=$KMS warmup_ms=200 service_us=$svc" > $KRUN; then
			echo "@@KB rep=$rep peak=$peak $(cat $KRUN)"
		else
			echo "# kbench: peer=$p limit=$lim reserve=$r failed"
		fi
	done
done
done
done
done
rmmod bufpool_kbench
echo handoff > /sys/class/misc/bufpool/policy
exit 0
