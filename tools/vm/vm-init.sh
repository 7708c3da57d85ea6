#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# vm-init.sh - /init of the bufpool test VM (busybox sh, not bash).
#
# Runs the phases of /etc/bufpool-phases (selftests/vm-phases, syntax
# documented there): per phase insmod bufpool.ko with its parameters, run
# its programs (/tests/<name>, else /bin/<name>), rmmod bufpool, scan the
# phase's dmesg.  A program's exit status is its verdict (kselftest: 0
# pass, 4 skip, anything else fail); its TAP "ok"/"not ok" lines are
# counted as its tests, and must agree with the status.  Console markers
# for tools/vm/vm-parse.awk, each alone on a line:
#   @@BUFPOOL boot uptime=<s> nproc=<n> kernel=<release>
#   @@BUFPOOL run <phase> <name>
#   @@BUFPOOL result <phase> <name> rc=<status> pass=<n> fail=<n> skip=<n>
#                    secs=<run time>
#   @@BUFPOOL check ok|FAIL <what>     the init's own checks
#   @@BUFPOOL done
# A program's output goes to a file while it runs and is copied to the
# console after it ends, so kernel messages cannot split its lines.
# shellcheck shell=dash disable=SC3043 # busybox ash has "local"
set -u
set -f	# no globbing: "*" in the phase file is ours

PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH
M='@@BUFPOOL'
KO=/lib/modules/bufpool.ko
DMESG_RE='BUG:|WARNING:|Oops|general protection|possible .* locking|circular locking|KASAN|UBSAN|kmemleak|RCU|rcu_.* stall|rcu: INFO|scheduling while atomic|Call Trace|blocked for more than|soft lockup|hard LOCKUP|Kernel panic'
# Taint flags that mean trouble: B bad page (32), D died (128),
# W warning (512), L soft lockup (16384).  O and E are expected.
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
# Booted "quiet": from here on every kernel message reaches the console
# too (the log then holds a WARN even if the VM hangs after it).
echo 8 > /proc/sys/kernel/printk
[ -d /sys/kernel/config ] &&
	mount -t configfs configfs /sys/kernel/config 2>/dev/null

phase=0
tmo=300		# per-program timeout, seconds (@timeout in the phase file)

# check <status> <what>: one of the init's own checks, 0 passes
check()
{
	if [ "$1" -eq 0 ]; then
		echo "$M check ok $2"
	else
		echo "$M check FAIL $2"
	fi
}

# scan_dmesg <where>: read and clear the kernel log; each match is a failure
scan_dmesg()
{
	dmesg -c > /tmp/dmesg.part
	grep -E "$DMESG_RE" /tmp/dmesg.part | while IFS= read -r line; do
		check 1 "$1: dmesg: $line"
	done
}

# kill_session <sid>: SIGKILL every live process of session <sid> (the
# harness puts each test in a process group of its own, so a group kill
# would miss them); 1 if none was left
kill_session()
{
	local sid=$1 p st found=1

	# no glob: this script runs with globbing off
	for p in $(ls /proc); do
		case $p in *[!0-9]*) continue ;; esac
		# it may be gone meanwhile: say nothing then
		{ read -r st < "/proc/$p/stat"; } 2> /dev/null || continue
		# the fields after "pid (comm) ": state ppid pgrp session ...
		# shellcheck disable=SC2086 # split on purpose
		set -- ${st##*) }
		[ "$4" = "$sid" ] && [ "$1" != Z ] || continue
		kill -s KILL "$p" 2> /dev/null && found=0
	done
	return $found
}

run_program()
{
	local name=${1#=} path pass fail skip rc t0 t1 pid dog n

	path=/tests/$name
	[ -x "$path" ] || path=/bin/$name
	if [ ! -x "$path" ]; then
		check 1 "phase $phase: $name: no such program"
		return
	fi
	echo "$M run $phase $name"
	read -r t0 _ < /proc/uptime
	# Its own session, so that a timeout, or the end of the test, kills
	# every process it left behind: a child still holding buffers would
	# fail the tests after it.
	(cd /tmp && exec setsid "$path") < /dev/null > /tmp/out 2>&1 &
	pid=$!
	(sleep "$tmo"; kill_session "$pid") 2> /dev/null &
	dog=$!
	wait "$pid"
	rc=$?
	kill "$dog" 2> /dev/null
	# what is left dies, and closes its files, before the next step
	n=0
	while kill_session "$pid" && [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	read -r t1 _ < /proc/uptime
	cat /tmp/out
	skip=$(grep -cE '^ok .*# *SKIP' /tmp/out)
	pass=$(($(grep -c '^ok ' /tmp/out) - skip))
	fail=$(grep -c '^not ok ' /tmp/out)
	case $rc in
	0|4)
		if [ "$fail" -gt 0 ]; then
			echo "# $name: exit status $rc after $fail failed tests"
			fail=$((fail + 1))
		elif [ $((pass + skip)) -eq 0 ]; then
			# no TAP: the status is the one result
			[ "$rc" -eq 0 ] && pass=1 || skip=1
		fi
		;;
	137)
		echo "# $name: killed after ${tmo}s"
		fail=$((fail + 1))
		;;
	*)
		[ "$fail" -eq 0 ] && fail=1
		;;
	esac
	echo "$M result $phase $name rc=$rc pass=$pass fail=$fail skip=$skip secs=$(awk "BEGIN { print $t1 - $t0 }")"
}

run_phase()
{
	local params=$1 progs=$2 refuse=0 p rc

	phase=$((phase + 1))
	case "$params" in
	!*) refuse=1; params=${params#!} ;;
	esac
	# shellcheck disable=SC2086 # params are words by design
	set -- $params
	[ "$*" = - ] && set --
	params="insmod bufpool${*:+ $*}"
	echo "# phase $phase: $params:$progs"
	insmod "$KO" "$@" > /tmp/insmod.out 2>&1
	rc=$?
	cat /tmp/insmod.out
	if [ $refuse -eq 1 ]; then
		check $((rc == 0)) "phase $phase: $params refused"
		if [ $rc -eq 0 ]; then
			rmmod bufpool
		else
			dmesg | grep -q 'bufpool: refusing to load: '
			check $? "phase $phase: the kernel log says why"
		fi
	else
		check $rc "phase $phase: $params"
	fi
	if [ $refuse -eq 0 ] && [ $rc -eq 0 ]; then
		for p in $progs; do
			if [ "$p" = '*' ]; then
				while read -r p; do
					run_program "$p"
				done < /etc/bufpool-kselftests
			else
				run_program "$p"
			fi
		done
		rmmod bufpool
		rc=$?
		check $rc "phase $phase: rmmod bufpool"
		# try again, so that the next phase can load it
		[ $rc -eq 0 ] || { sleep 2; rmmod bufpool; }
	fi
	scan_dmesg "phase $phase"
}

# The kernel modules the tests need (mkinitramfs.sh -m; none when the
# kernel has them built in), and the loopback interface for TCP: part
# of the boot, before its messages are set aside.
while read -r mod params; do
	# shellcheck disable=SC2086 # params are words by design
	modprobe "$mod" $params
	check $? "modprobe $mod${params:+ $params}"
done < /etc/bufpool-kmods
# configfs may have come as a module just now
[ -d /sys/kernel/config ] && ! grep -q ' /sys/kernel/config ' /proc/mounts &&
	mount -t configfs configfs /sys/kernel/config
if [ -d /sys/class/net/lo ]; then
	ip link set lo up
	check $? "ip link set lo up"
fi

# Boot messages are not ours: keep them, but do not scan them.
dmesg -c > /tmp/dmesg.boot
read -r up _ < /proc/uptime
echo "$M boot uptime=$up nproc=$(nproc) kernel=$(uname -r)"
echo "# bufpool VM: $(nproc) CPUs, $(uname -r), cmdline: $(cat /proc/cmdline)"

kmemleak=/sys/kernel/debug/kmemleak
if [ -w $kmemleak ]; then
	echo clear > $kmemleak
else
	kmemleak=
fi

while IFS= read -r line || [ -n "$line" ]; do
	# shellcheck disable=SC2086 # trim
	set -- ${line%%#*}
	line="$*"
	case "$line" in
	'')		;;
	@timeout\ *)	tmo=${line#@timeout } ;;
	*:*)		run_phase "${line%%:*}" "${line#*:}" ;;
	*)		check 1 "phase file: bad line: $line" ;;
	esac
done < /etc/bufpool-phases

if [ -n "$kmemleak" ]; then
	# kmemleak reports an object only once it is 5 s old, after two scans.
	sleep 5
	echo scan > $kmemleak
	echo scan > $kmemleak
	cat $kmemleak > /tmp/kmemleak
	cat /tmp/kmemleak
	[ ! -s /tmp/kmemleak ]
	check $? "kmemleak: $(grep -c 'unreferenced object' /tmp/kmemleak) unreferenced objects"
fi

scan_dmesg "end"
taint=$(cat /proc/sys/kernel/tainted)
check $((taint & TAINT_BAD)) "kernel taint $taint (B/D/W/L are failures)"
echo "$M done"
sync
# Without CONFIG_PM (a tinyconfig debug kernel) "poweroff -f" only halts
# and QEMU would hang: reboot instead, QEMU runs with -no-reboot.
[ -e /sys/power/state ] && poweroff -f
reboot -f
