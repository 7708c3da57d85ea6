#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bufpool-profile-vm.sh - where the time of the syscall floor goes, in the
# VM (busybox sh), as a plain program of a phase: bufpool.ko is loaded.
# Runs the floor (bufpool-bench --floor), then traces a few hundred
# ALLOC+RELEASE and INFO pairs with ftrace's function_graph tracer from
# __x64_sys_ioctl down (only the functions of the path are traced), and
# prints the graph of one call of each ioctl ("@@RAW") and, per ioctl and
# per function called from it, the calls per ioctl and the mean time in ns
# ("@@PROFILE").  The tracer costs about 1 us a function under TCG: read
# the structure and the counts, not the times.  Not part of make bench;
# by hand (the BENCHMARKS.md section on the syscall floor says how perf
# was run the same way):
#
#   printf 'bufsize=4096 : =bufpool-profile-vm\n' > /tmp/ph
#   cp tools/bench/bufpool-profile-vm.sh build/bufpool-profile-vm
#   tools/vm/mkinitramfs.sh -o build/prof.cpio.gz -k bufpool.ko -p /tmp/ph \
#	-x build/tools/bufpool-bench -x build/bufpool-profile-vm
#   tools/vm/vm-run.sh -k /boot/vmlinuz-<version> -i build/prof.cpio.gz \
#	-l build/prof.log -t 300 -c 2 -m 512 -a ""
#
# Env: PROFILE_ITERS (pairs traced, 300).
set -u

B=/bin/bufpool-bench
T=/sys/kernel/tracing
N=${PROFILE_ITERS:-300}

[ -d $T/events ] || mount -t tracefs tracefs $T 2>/dev/null
if ! grep -qw function_graph $T/available_tracers 2>/dev/null; then
	echo "# profile: no function_graph tracer"
	exit 4
fi

$B --floor -n 200000 | sed 's/^/@@PROFILE floor /'

say()
{
	echo "# profile: $*" > /dev/console
}

# Only the functions of the path are patched: enabling the tracer for
# every function of the kernel takes minutes under TCG.
say "tracer on"
echo 0 > $T/tracing_on
echo > $T/set_ftrace_filter
for f in __x64_sys_ioctl __fdget security_file_ioctl \
	 _copy_from_user _copy_to_user __check_object_size check_zeroed_user \
	 _raw_spin_lock _raw_spin_unlock down_write up_write down_read up_read \
	 unmap_mapping_range memchr_inv ktime_get_ns __wake_up; do
	echo "$f" >> $T/set_ftrace_filter 2>/dev/null
done
echo '*:mod:bufpool' >> $T/set_ftrace_filter
echo __x64_sys_ioctl > $T/set_graph_function
echo function_graph > $T/current_tracer
echo funcgraph-proc > $T/trace_options 2>/dev/null
echo nofuncgraph-irqs > $T/trace_options 2>/dev/null
echo funcgraph-tail > $T/trace_options 2>/dev/null
echo 8192 > $T/buffer_size_kb
echo > $T/trace
echo 1 > $T/tracing_on
$B --floor -n "$N" > /dev/null
echo 0 > $T/tracing_on
say "traced $N pairs"

# The graph of one call of each ioctl, then sums by (ioctl handler, depth,
# function) over the calls (funcgraph-tail names the closing braces).
awk '
/\|/ {
	n = split($0, f, "|")
	body = f[n]
	dur = f[n - 1]
	gsub(/[^0-9.]/, "", dur)
	match(body, /^ */)
	depth = int((RLENGTH - 1) / 2)
	fn = body
	sub(/^ */, "", fn)
	gsub(/ \[bufpool\]/, "", fn)
	raw[++nr] = $0
	if (fn ~ /\(\) \{/) {
		sub(/\(\).*/, "", fn)
		if (fn == "__x64_sys_ioctl") {
			nb = 0
			top = ""
			nr = 1
			raw[1] = $0
		}
		if (fn ~ /^bufpool_ioctl_/ && top == "")
			top = fn
		next
	}
	if (fn ~ /^}/) {
		sub(/^} \/\* /, "", fn)
		sub(/ \*\/.*/, "", fn)
	} else {
		sub(/\(\).*/, "", fn)
	}
	if (dur == "")
		next
	nb++
	bk[nb] = depth " " fn
	bd[nb] = dur * 1000
	if (fn != "__x64_sys_ioctl")
		next
	if (top != "") {
		if (!(top in calls))
			for (i = 1; i <= nr; i++)
				print "@@RAW " top " " raw[i] > "/tmp/profile.raw"
		calls[top]++
		for (i = 1; i <= nb; i++) {
			tot[top " " bk[i]] += bd[i]
			cnt[top " " bk[i]]++
		}
	}
	nb = 0
	top = ""
}
END {
	for (k in tot) {
		split(k, p, " ")
		printf "@@PROFILE %s depth=%s %s calls/op=%.2f mean_ns=%.0f per_op_ns=%.0f\n", \
		       p[1], p[2], p[3], cnt[k] / calls[p[1]], tot[k] / cnt[k], tot[k] / calls[p[1]]
	}
}' $T/trace | sort
cat /tmp/profile.raw
echo nop > $T/current_tracer
echo > $T/set_graph_function
echo > $T/set_ftrace_filter
exit 0
