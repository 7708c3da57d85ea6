#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vm-run.sh - boot the bufpool test VM under QEMU, capture its serial
# console in a log file, and judge the log (tools/vm/vm-parse.awk).
#
#   vm-run.sh -k KERNEL -i INITRAMFS [-l LOG] [-t TIMEOUT_S] [-c CPUS]
#             [-m MEM_MB] [-a "EXTRA CMDLINE"]
#   vm-run.sh -P LOG        judge an existing log only
#
# Defaults: log build/vm.log, timeout 900 s (whole VM run), 2 CPUs,
# 512 MB.  Env: QEMU (qemu-system-x86_64), QEMU_ACCEL (tcg,thread=multi;
# KVM is broken on the CI machines), BUFPOOL_TIMINGS (earlier stages'
# timings, printed with the summary), BUFPOOL_FAILED_STAGES (earlier
# stages that failed, e.g. "lint": one failure each).  Exit status 0 only if all passed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
kernel='' initrd='' log=build/vm.log tmo=900 smp=2 mem=512 extra='' parse_only=''

while getopts "k:i:l:t:c:m:a:P:" opt; do
	case $opt in
	k) kernel=$OPTARG ;;
	i) initrd=$OPTARG ;;
	l) log=$OPTARG ;;
	t) tmo=$OPTARG ;;
	c) smp=$OPTARG ;;
	m) mem=$OPTARG ;;
	a) extra=$OPTARG ;;
	P) parse_only=$OPTARG ;;
	*) sed -n '/^#   vm-run/,/^#   vm-run.sh -P/s/^# \{0,1\}//p' "$0" >&2
	   exit 2 ;;
	esac
done

# boot_once: run QEMU until the guest is done; sets rc and timedout
boot_once()
{
	: > "$log"
	timeout -k 10 "$tmo" "${qemu[@]}" < /dev/null > "$log" 2>&1 &
	qpid=$!
	tail -n +1 -f --pid=$qpid "$log" &
	tpid=$!
	# Once the init printed its last marker, give the guest 20 s to power
	# off, then stop QEMU (a guest that only halts would sit there).
	while kill -0 $qpid 2>/dev/null; do
		if grep -q '@@BUFPOOL done' "$log"; then
			for _ in $(seq 40); do
				kill -0 $qpid 2>/dev/null || break
				sleep 0.5
			done
			kill $qpid 2>/dev/null && echo "vm: stopped QEMU: no power-off 20 s after the last marker"
			break
		fi
		sleep 0.5
	done
	rc=0
	wait $qpid || rc=$?
	wait $tpid || true
	case $rc in
	0) ;;
	124|137) timedout=1; echo "vm: timed out after ${tmo}s" ;;
	143) ;;	# stopped above, after the last marker
	*) echo "vm: qemu exited with status $rc" ;;
	esac
}

timings=${BUFPOOL_TIMINGS:-}
timedout=0

if [ -n "$parse_only" ]; then
	log=$parse_only
else
	[ -r "$kernel" ] || { echo "vm-run: no kernel '$kernel'" >&2; exit 2; }
	[ -r "$initrd" ] || { echo "vm-run: no initramfs '$initrd'" >&2; exit 2; }
	mkdir -p "$(dirname "$log")"
	# no_timer_check: on a loaded host a TCG guest can miss the
	# IO-APIC timer check and panic ("IO-APIC + timer doesn't work").
	qemu=(
		"${QEMU:-qemu-system-x86_64}"
		-accel "${QEMU_ACCEL:-tcg,thread=multi}"
		-smp "$smp" -m "$mem"
		-nographic -no-reboot -nic none
		-kernel "$kernel" -initrd "$initrd"
		-append "console=ttyS0 panic=-1 quiet no_timer_check $extra"
	)
	echo "vm: ${qemu[*]}"
	echo "vm: console log: $log (timeout ${tmo}s)"
	t0=$(date +%s.%N)
	for attempt in 1 2; do
		boot_once
		# A kernel that died before our /init printed anything never
		# saw the module: a TCG boot flake (seen once with 6.12-rt,
		# an int3 Oops in early boot), not a test result.  Boot once
		# more, keeping the failed console log beside the new one.
		if [ $attempt -eq 1 ] && ! grep -q '@@BUFPOOL boot' "$log" &&
		   grep -qE 'Kernel panic|Oops' "$log"; then
			mv "$log" "$log.boot-failed"
			echo "vm: the kernel died before /init ran (log: $log.boot-failed): booting again"
			continue
		fi
		break
	done
	t1=$(date +%s.%N)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	timings="${timings:+$timings, }boot+tests ${secs}s"
	echo
fi

exec awk -v smp="$smp" -v timings="$timings" -v timedout="$timedout" \
	 -v failed_stages="${BUFPOOL_FAILED_STAGES:-}" \
	 -f "$here/vm-parse.awk" "$log"
