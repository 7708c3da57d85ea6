#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# vm-init.sh - /init of the bufpool test VM (busybox sh, not bash).
#
# Runs the phases of /etc/bufpool-phases (selftests/vm-phases, syntax
# documented there): per phase insmod bufpool.ko with its parameters, run
# its programs (/tests/<name>, else /bin/<name>), rmmod bufpool, then scan the phase's dmesg.
# Its own checks (insmod, rmmod, plain programs, dmesg, taint) form a TAP
# stream of their own on the console, with the plan printed at the end.
#
# Console markers the host parser (tools/vm/vm-parse.awk) keys on, each
# alone on a line:
#   @@BUFPOOL boot uptime=<s> nproc=<n> kernel=<release>
#   @@BUFPOOL phase <n> <insmod params>
#   @@BUFPOOL test-begin <phase> <name> <kselftest|plain>
#   @@BUFPOOL test-end <phase> <name> rc=<exit status>
#   @@BUFPOOL summary phases=<n> programs=<n> vm_failures=<n>
#   @@BUFPOOL done
# A program's stdout+stderr go to a file while it runs and are copied to
# the console after it ends, so kernel messages cannot split its lines.
#
# No "set -e": a failing step is reported and the run goes on.
# shellcheck shell=dash disable=SC3043 # busybox ash has "local"
set -u
set -f	# no globbing: "*" in the phase file is ours

PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH
M='@@BUFPOOL'
KO=/lib/modules/bufpool.ko
PHASES=/etc/bufpool-phases
DMESG_RE='BUG:|WARNING:|Oops|general protection|possible .* locking|circular locking|KASAN|UBSAN|kmemleak|RCU|rcu_.* stall|rcu: INFO|scheduling while atomic|Call Trace|blocked for more than|soft lockup|hard LOCKUP|Kernel panic'
# Taint flags that mean trouble: B bad page (32), D died (128),
# W warning (512), L soft lockup (16384).  O and E (out-of-tree,
# unsigned module) are expected.
TAINT_BAD=$((32 | 128 | 512 | 16384))

/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp /run
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
[ -d /sys/kernel/tracing ] &&
	mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
# Booted with "quiet"; from here on, show every kernel message on the
# console too (the log then holds a WARN even if the VM hangs after it).
echo 8 > /proc/sys/kernel/printk

n=0		# the init's own TAP test number
fails=0
phase=0
programs=0
tmo=300		# per-program timeout, seconds (@timeout in the phase file)

tap_ok()
{
	n=$((n + 1))
	echo "ok $n $*"
}

tap_fail()
{
	n=$((n + 1))
	fails=$((fails + 1))
	echo "not ok $n $*"
}

# scan_dmesg <where>: read and clear the kernel log; each line that matches
# DMESG_RE is a failure.
scan_dmesg()
{
	dmesg -c > /tmp/dmesg.part
	cat /tmp/dmesg.part >> /tmp/dmesg.all
	grep -E "$DMESG_RE" /tmp/dmesg.part > /tmp/dmesg.hits
	while IFS= read -r line; do
		tap_fail "$1: dmesg: $line"
	done < /tmp/dmesg.hits
}

module_loaded()
{
	grep -q '^bufpool ' /proc/modules
}

# run_program <name>: run /tests/<name>; a "=name" is a plain program
# whose exit status becomes a result of the init's TAP stream.
run_program()
{
	local name=$1 kind=kselftest rc path

	case "$name" in
	=*)
		name=${name#=}
		kind=plain
		;;
	esac
	programs=$((programs + 1))
	echo "$M test-begin $phase $name $kind"
	path=/tests/$name
	[ -x "$path" ] || path=/bin/$name
	(cd /tmp && timeout -s KILL "$tmo" "$path") > /tmp/out 2>&1
	rc=$?
	cat /tmp/out
	echo "$M test-end $phase $name rc=$rc"
	if [ "$kind" = plain ]; then
		if [ "$rc" -eq 0 ]; then
			tap_ok "phase $phase: $name"
		else
			tap_fail "phase $phase: $name exited with $rc"
		fi
	fi
}

expand_programs()
{
	local p

	for p in "$@"; do
		if [ "$p" = '*' ]; then
			cat /etc/bufpool-kselftests
		else
			echo "$p"
		fi
	done
}

run_phase()
{
	local params=$1 progs=$2 expect_fail=0 p

	phase=$((phase + 1))
	case "$params" in
	!*)
		expect_fail=1
		params=${params#!}
		;;
	esac
	# shellcheck disable=SC2086 # params are words by design
	set -- $params
	[ "$*" = - ] && set --
	params="$*"
	echo "$M phase $phase ${params:--}"

	if insmod "$KO" "$@" > /tmp/insmod.out 2>&1; then
		if [ $expect_fail -eq 1 ]; then
			tap_fail "phase $phase: insmod bufpool${params:+ $params} succeeded, expected to fail"
			progs=
		else
			tap_ok "phase $phase: insmod bufpool${params:+ $params}"
		fi
	else
		cat /tmp/insmod.out
		if [ $expect_fail -eq 1 ]; then
			tap_ok "phase $phase: insmod bufpool${params:+ $params} refused as expected"
			# ... with the reason in the kernel log
			if dmesg | grep -q 'bufpool: refusing to load: '; then
				tap_ok "phase $phase: the kernel log says why"
			else
				tap_fail "phase $phase: no 'refusing to load' reason in the kernel log"
			fi
		else
			tap_fail "phase $phase: insmod bufpool${params:+ $params}"
		fi
		scan_dmesg "phase $phase"
		return
	fi

	[ -c /dev/bufpool ] || echo "# phase $phase: no /dev/bufpool"
	for p in $(expand_programs $progs); do
		run_program "$p"
	done

	if rmmod bufpool > /tmp/rmmod.out 2>&1; then
		tap_ok "phase $phase: rmmod bufpool"
	else
		cat /tmp/rmmod.out
		tap_fail "phase $phase: rmmod bufpool"
		# Try again so that the next phase can load it.
		sleep 2
		rmmod bufpool 2>/dev/null
		if module_loaded; then
			echo "# phase $phase: bufpool still loaded"
			cat /proc/modules
		fi
	fi
	scan_dmesg "phase $phase"
}

# Boot messages are not ours: keep them, but do not scan them.
dmesg -c > /tmp/dmesg.boot
read -r up _ < /proc/uptime
echo "$M boot uptime=$up nproc=$(nproc) kernel=$(uname -r)"
echo "TAP version 13"
echo "# bufpool VM: $(nproc) CPUs, $(uname -r), cmdline: $(cat /proc/cmdline)"

kmemleak=/sys/kernel/debug/kmemleak
if [ -w $kmemleak ]; then
	echo clear > $kmemleak
else
	kmemleak=
fi

while IFS= read -r line || [ -n "$line" ]; do
	line=${line%%#*}
	# trim
	set -- $line
	line="$*"
	[ -z "$line" ] && continue
	case "$line" in
	@timeout\ *)
		tmo=${line#@timeout }
		continue
		;;
	*:*)
		run_phase "${line%%:*}" "${line#*:}"
		;;
	*)
		tap_fail "phase file: bad line: $line"
		;;
	esac
done < $PHASES

if [ -n "$kmemleak" ]; then
	# kmemleak reports an object only once it is 5 s old, after two scans.
	sleep 5
	echo scan > $kmemleak
	echo scan > $kmemleak
	cat $kmemleak > /tmp/kmemleak
	if [ -s /tmp/kmemleak ]; then
		cat /tmp/kmemleak
		tap_fail "kmemleak: $(grep -c 'unreferenced object' /tmp/kmemleak) unreferenced objects"
	else
		tap_ok "kmemleak: no leaks"
	fi
fi

scan_dmesg "end"
taint=$(cat /proc/sys/kernel/tainted)
if [ $((taint & TAINT_BAD)) -ne 0 ]; then
	tap_fail "kernel taint $taint"
else
	tap_ok "kernel taint $taint (no B/D/W/L)"
fi

echo "1..$n"
echo "$M summary phases=$phase programs=$programs vm_failures=$fails"
echo "$M done"
sync
# Without CONFIG_PM (a tinyconfig debug kernel) "poweroff -f" only halts
# and QEMU would hang: reboot instead, QEMU runs with -no-reboot.
[ -e /sys/power/state ] && poweroff -f
reboot -f
