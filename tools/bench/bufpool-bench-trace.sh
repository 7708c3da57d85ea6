#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bufpool-bench-trace.sh - the seed scenario under the bufpool trace
# events, inside the bench VM (busybox sh), as a plain program of a phase
# of tools/bench/vm-phases: bufpool.ko is loaded.
#
# For each configuration that the seed-scenario target judges (the session
# workload of tools/bufpool-bench, unconstrained and at 1/2 and 1/4 of the
# peak need, server-bound and CPU-bound, reserve 1 and 4, policies handoff
# and adaptive), one short run with the bufpool events of waiting on
# (all but bufpool_alloc and bufpool_release, which would double the
# trace and its cost and tell nothing of the waits), then a digest
# of the trace made here with awk (the raw trace is far too big for the
# serial console), printed as "@@TRACE key=value..." lines that
# tools/bench/trace-report.awk turns into a table:
#
#   @@TRACE cfg=C kind=bench <the run's own figures, from its JSON>
#   @@TRACE cfg=C kind=events secs=<first to last event> <event>=<count>...
#           lost=<events the ring buffer dropped>
#   @@TRACE cfg=C kind=<what> class=<0 critical, 1 normal, 2 low> n=<count>
#           bufs=<buffers> sum=<ns x buffers> max=<ns> h=<bucket>:<count>,...
#
# where <what> is "wait" (queued to granted: bufpool_grant's wait_ns),
# "collect" (granted to collected: bufpool_collect's since_grant_ns, the
# time a granted buffer sits unused while its waiter is woken and
# scheduled) and "park" (adaptive: a head's last bufpool_park to its
# grant, the time what came back was kept free for a barger).  The
# buckets are those of bufpool-bench's histogram: 16 per power of two
# of nanoseconds.
#
# Env (from the kernel command line, as vm-init passes it): BENCH_S,
# BENCH_M, BENCH_SERVICE_US, BENCH_CPU_SERVICE_US, BENCH_TRACE_SECS (1 s a
# run, after bufpool-bench's 0.5 s warm-up), BENCH_TRACE_KB (ring buffer
# per CPU, 16384 KiB), BENCH_TRACE_POLICIES (handoff adaptive),
# BENCH_TRACE_RESERVES (1 4).
set -u

B=/bin/bufpool-bench
SYS=/sys/class/misc/bufpool
S=${BENCH_S:-64}
M=${BENCH_M:-8}
SVC=${BENCH_SERVICE_US:-2000}
CSVC=${BENCH_CPU_SERVICE_US:-200}
D=${BENCH_TRACE_SECS:-1}
KB=${BENCH_TRACE_KB:-16384}
POLICIES=${BENCH_TRACE_POLICIES:-handoff adaptive}
RESERVES=${BENCH_TRACE_RESERVES:-1 4}
EVENTS='queue grant collect cancel barge park'
T=/sys/kernel/tracing
rc=0

# tracefs: where the VM's init mounted it, else mount it ourselves
if [ ! -d $T/events ]; then
	mount -t tracefs tracefs $T 2> /dev/null ||
		T=/sys/kernel/debug/tracing
fi
if [ ! -d $T/events/bufpool ]; then
	echo "# trace: no bufpool events under $T"
	exit 4
fi
for e in $EVENTS; do
	if [ ! -d "$T/events/bufpool/bufpool_$e" ]; then
		echo "# trace: this bufpool.ko has no bufpool_$e event"
		exit 1
	fi
done

tw()	# <value> <file>: write it to tracefs
{
	echo "$1" > "$T/$2" || { echo "# trace: cannot write '$1' to $T/$2"; rc=1; }
}

# The events are switched on once, before the first run, and off once,
# after the last: switching one patches the kernel's text (its static
# key), which under TCG once hit a vCPU in the middle of the patched
# instruction (an int3 Oops far from bufpool).  Between runs only
# tracing_on stops the recording, which patches nothing.  With
# options/record-cmd off, the first event on does not also hook
# sched_switch and sched_wakeup, so only bufpool's own text is patched,
# not the scheduler's that the other CPU runs (the digest needs no comm).
events()	# <0|1>
{
	for e in $EVENTS; do
		tw "$1" "events/bufpool/bufpool_$e/enable"
	done
}

# lost: what the ring buffers overwrote or could not take
lost()
{
	for c in "$T"/per_cpu/cpu*/stats; do
		cat "$c"
	done | awk '/^(overrun|dropped events):/ { n += $NF } END { print n + 0 }'
}

# The digest of $T/trace for configuration $1 (see the top).
digest()
{
	awk -v cfg="$1" -v lost="$2" '
	# no log() nor ^: busybox awk may be built without math
	function bucket(v,   m, p) {
		v = int(v)
		if (v < 16)
			return v < 0 ? 0 : v
		for (m = 4, p = 16; p * 2 <= v; m++)
			p *= 2
		return (m - 3) * 16 + int(v * 16 / p) - 16
	}
	function add(what, class, v, bufs,   k) {
		k = what SUBSEP class
		n[k]++
		nb[k] += bufs
		sum[k] += v * bufs
		if (v > max[k])
			max[k] = v
		h[k, bucket(v)]++
		seen[k] = 1
	}
	# "comm-pid [cpu] flags ts: bufpool_x: k=v ..."
	{
		for (i = 1; i <= NF; i++)
			if ($i ~ /^bufpool_[a-z]+:$/)
				break
		if (i > NF || i < 2)
			next
		ev = substr($i, 9, length($i) - 9)
		ts = $(i - 1)
		sub(/:$/, "", ts)
		if (first == "")
			first = ts
		last = ts
		cnt[ev]++
		delete f
		for (j = i + 1; j <= NF; j++)
			if (split($j, kv, "=") == 2)
				f[kv[1]] = kv[2]
		if (ev == "grant") {
			add("wait", f["class"], f["wait_ns"], f["count"])
			if (f["entity"] in parked) {
				add("park", f["class"],
				    f["wait_ns"] - parked[f["entity"]], f["count"])
				delete parked[f["entity"]]
			}
		} else if (ev == "collect") {
			add("collect", f["class"], f["since_grant_ns"], f["count"])
		} else if (ev == "park") {
			parked[f["entity"]] = f["wait_ns"]
		} else if (ev == "cancel") {
			delete parked[f["entity"]]
		}
	}
	END {
		line = "@@TRACE cfg=" cfg " kind=events secs=" \
		       (first == "" ? 0 : last - first)
		split("queue grant collect cancel barge park", e)
		for (i = 1; i in e; i++)
			line = line " " e[i] "=" (cnt[e[i]] + 0)
		print line " lost=" lost
		for (k in seen) {
			split(k, w, SUBSEP)
			line = "@@TRACE cfg=" cfg " kind=" w[1] " class=" w[2] \
			       " n=" n[k] " bufs=" nb[k] " sum=" sum[k] \
			       " max=" max[k] " h="
			sep = ""
			for (b = 0; b < 1024; b++)
				if ((k, b) in h) {
					line = line sep b ":" h[k, b]
					sep = ","
				}
			print line
		}
	}' "$T/trace"
}

# The run's own figures, from bufpool-bench's JSON line, as key=value.
bench_kv()	# <cfg>
{
	awk -v cfg="$1" '{
		line = "@@TRACE cfg=" cfg " kind=bench"
		n = split("policy limit reserve peak sessions maxconn service_us secs completed rate calls_per_session attempts_per_session waited k_grants_waited k_wakeups k_spurious hoarded wait_p50_us wait_p99_us wait_max_us stalled", keys, " ")
		for (i = 1; i <= n; i++)
			if (match($0, "\"" keys[i] "\": *(\"[^\"]*\"|[-0-9.e+]+)")) {
				v = substr($0, RSTART, RLENGTH)
				sub(/^"[^"]*": */, "", v)
				gsub(/"/, "", v)
				line = line " " keys[i] "=" v
			}
		print line
	}'
}

run()	# <service us> <policy> <reserve> <limit fraction>
{
	cfg=$2/r$3/f$4/s$1
	tw '' trace
	tw 1 tracing_on
	out=$($B -q -j -p "$2" -r "$3" -f "$4" -P "$peak" -S "$S" -M "$M" \
		 -s "$1" -d "$D" --label "trace/$cfg")
	st=$?
	tw 0 tracing_on
	if [ $st -ne 0 ] || [ -z "$out" ]; then
		echo "# trace: $cfg: bufpool-bench failed ($st)"
		rc=1
		return
	fi
	echo "$out" | bench_kv "$cfg"
	digest "$cfg" "$(lost)"
}

# what to restore at the end
pol0=$(sed 's/.*\[\(.*\)\].*/\1/' $SYS/policy)
lim0=$(cat $SYS/limit)
res0=$(cat $SYS/reserve)
kb0=$(sed 's/.*expanded: *\([0-9]*\).*/\1/' $T/buffer_size_kb)
on0=$(cat $T/tracing_on)

peak=$($B -q --peak-only -S "$S" -M "$M" -s "$SVC") || exit 1
echo "# trace: S=$S M=$M service=${SVC}us and ${CSVC}us, peak need $peak buffers, ${D}s a run, ${KB} KiB of trace per CPU"
echo "@@TRACE kind=setup sessions=$S maxconn=$M peak=$peak secs=$D kb=$KB nproc=$(nproc)"

tw 0 tracing_on
tw "$KB" buffer_size_kb
record_cmd=$(cat "$T/options/record-cmd" 2> /dev/null || echo 1)
tw 0 options/record-cmd
events 1

for svc in $SVC $CSVC; do
	for pol in $POLICIES; do
		for r in $RESERVES; do
			for f in 0 0.5 0.25; do
				run "$svc" "$pol" "$r" "$f"
			done
		done
	done
done

# Leave the pool and tracefs as the phase found them.
tw 0 tracing_on
events 0
tw "$record_cmd" options/record-cmd
tw '' trace
tw "$kb0" buffer_size_kb
tw "$on0" tracing_on
echo "$pol0" > $SYS/policy
echo 0 > $SYS/reserve
echo "$lim0" > $SYS/limit
echo "$res0" > $SYS/reserve
exit $rc
