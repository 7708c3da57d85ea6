#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bufpool-perf-vm.sh - perf cpu-clock profile of the syscall floor
# (bufpool-bench --floor) in the VM (busybox sh), as a plain program of a
# phase, for one or more builds of bufpool.ko packed as /opt/ko/<name>.ko
# (loaded in turn, with the phase's bufsize).  TCG has no PMU: software
# clock sampling, with call chains.  Prints, per build, the floor's own
# figures ("@@PF"), the samples under each call of ours ("@@GRP": the
# core's ALLOC or RELEASE call, the rest of ALLOC's, RELEASE's or INFO's
# handler, other), the biggest leaves of each group ("@@LEAF") and, for
# the core's samples, their leaf under the nearest bufpool_* function on
# the chain ("@@NL").  Not part of make bench; by hand, with the host's
# perf and the libraries ldd lists for it:
#
#   printf 'bufsize=4096 : =bufpool-perf-vm\n' > /tmp/ph
#   cp tools/bench/bufpool-perf-vm.sh build/bufpool-perf-vm
#   d=''; for l in $(ldd /usr/bin/perf | grep -o '/[^ ]*') /usr/bin/perf; do
#	d="$d -d $l:/opt/perf/${l##*/}"; done
#   tools/vm/mkinitramfs.sh -o build/perf.cpio.gz -k bufpool.ko -p /tmp/ph \
#	-x build/tools/bufpool-bench -x build/bufpool-perf-vm $d \
#	-d bufpool.ko:/opt/ko/this.ko -d <other build>.ko:/opt/ko/base.ko
#   tools/vm/vm-run.sh -k /boot/vmlinuz-<version> -i build/perf.cpio.gz \
#	-l build/perf.log -t 600 -c 2 -m 1024 -a "PF_MODS=base,this"
#
# Env (from the kernel command line): PF_MODS (names, "this"), FLOOR_N
# (pairs, 100000).
# shellcheck shell=dash
L=/opt/perf
chmod 755 $L/ld-linux-x86-64.so.2 $L/perf
P="$L/ld-linux-x86-64.so.2 --library-path $L $L/perf"
N=${FLOOR_N:-100000}
BS=$(cat /sys/class/misc/bufpool/bufsize)
for m in $(echo "${PF_MODS:-this}" | tr , " "); do
	rmmod bufpool
	insmod "/opt/ko/$m.ko" bufsize="$BS" || exit 1
	$P record -q -g -e cpu-clock -c 20000 -o /tmp/perf.data -- \
		/bin/bufpool-bench --floor -n "$N" | sed "s/^/@@PF $m /"
	$P script -i /tmp/perf.data -F ip,sym 2>/dev/null | awk -v m="$m" '
	function flush(   i, w, near) {
		if (!nf)
			return
		tot++
		w = "other"
		for (i = 1; i <= nf; i++) {
			if (s[i] == "bufpool_alloc_until_ids") { w = "core-alloc"; break }
			if (s[i] == "bufpool_release_detach") { w = "core-release"; break }
			if (s[i] == "bufpool_ioctl_alloc") { w = "dev-alloc"; break }
			if (s[i] == "bufpool_ioctl_release") { w = "dev-release"; break }
			if (s[i] == "bufpool_ioctl_info") { w = "dev-info"; break }
		}
		grp[w]++
		leaf[w " " s[1]]++
		if (w ~ /^core/) {
			near = "-"
			for (i = 1; i <= nf; i++)
				if (s[i] ~ /^bufpool_/) { near = s[i]; break }
			nl[w " " near " " s[1]]++
		}
		nf = 0
	}
	/^$/ { flush(); next }
	{
		s[++nf] = $NF
		sub(/\+0x.*/, "", s[nf])
		sub(/\.(part|constprop|isra)\..*/, "", s[nf])
	}
	END {
		flush()
		for (k in grp)
			printf "@@GRP %s %s %d %.2f%%\n", m, k, grp[k], 100 * grp[k] / tot
		for (k in leaf)
			if (leaf[k] * 1000 >= tot * 2)
				printf "@@LEAF %s %s %d %.2f%%\n", m, k, leaf[k], 100 * leaf[k] / tot
		for (k in nl)
			if (nl[k] * 1000 >= tot)
				printf "@@NL %s %s %d %.2f%%\n", m, k, nl[k], 100 * nl[k] / tot
		printf "@@TOTAL %s %d\n", m, tot
	}'
done
rmmod bufpool
insmod /lib/modules/bufpool.ko bufsize="$BS"
exit 0
