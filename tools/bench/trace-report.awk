# SPDX-License-Identifier: GPL-2.0
#
# trace-report.awk - the "@@TRACE" lines of tools/bench/bufpool-bench-trace.sh
# (a bench VM's console log) as markdown tables: per configuration, the
# waits, how long a granted buffer sat unused before its waiter collected
# it, and what share of the budget's buffer-time that was.
#
#   tr -d '\r' < build/bench/vm.log | awk -f tools/bench/trace-report.awk
#
# Columns:
#   waits            bufpool_grant events (requests granted after queueing)
#   wait             queued -> granted (bufpool_grant's wait_ns)
#   grant->collect   granted -> collected (bufpool_collect's since_grant_ns):
#                    the waiter's wake-up and scheduling, and its next ALLOC
#   uncollected      sum of grant->collect x buffers / (traced time x limit):
#                    the share of the budget granted but not in use, which
#                    is what the hand-off costs in buffers
#   park->grant      adaptive: a head's last bufpool_park to its grant (the
#                    window what came back was kept free for a barger)
#   parked           sum of park->grant x buffers / (traced time x limit)
#   slot held        CRITICAL (the response buffer, asked for while the
#                    session holds a server slot): sum of wait +
#                    grant->collect / (traced time x maxconn), the share of
#                    the server's capacity spent waiting for the buffer
#   lost             events the ring buffer dropped (its numbers are then
#                    lower bounds)
# Percentiles come from histograms of 16 buckets per power of two (the
# upper bound of the bucket, at most the exact max): within 6 %.

function bval(i,   m) {
	if (i < 16)
		return i
	m = int(i / 16) + 3
	return 2 ^ m + (i % 16 + 1) * 2 ^ (m - 4)
}

# percentile @p of the histogram of @key (several merged, see merge())
function pct(key, p,   total, want, acc, i, v) {
	total = hn[key]
	if (!total)
		return 0
	want = int(total * p / 100)
	if (want < total * p / 100)
		want++
	acc = 0
	for (i = 0; i <= hmax[key]; i++) {
		acc += hb[key, i]
		if (acc >= want) {
			v = bval(i)
			return v > mx[key] ? mx[key] : v
		}
	}
	return mx[key]
}

function us(ns) {
	return sprintf("%.0f", ns / 1000)
}

# the histogram "b:n,b:n" @h into the merged key @key
function merge(key, h, max,   parts, i, bn) {
	split(h, parts, ",")
	for (i = 1; i in parts; i++) {
		if (split(parts[i], bn, ":") != 2)
			continue
		hb[key, bn[1] + 0] += bn[2]
		hn[key] += bn[2]
		if (bn[1] + 0 > hmax[key])
			hmax[key] = bn[1] + 0
	}
	if (max + 0 > mx[key] + 0)
		mx[key] = max + 0
}

function three(key) {
	if (!hn[key])
		return "- | - | -"
	return us(pct(key, 50)) " | " us(pct(key, 99)) " | " us(mx[key])
}

function share(ns, secs, width) {
	if (secs <= 0 || width <= 0)
		return "-"
	return sprintf("%.2f %%", 100 * ns / (secs * 1e9 * width))
}

{
	p = index($0, "@@TRACE ")
	if (!p)
		next
	$0 = substr($0, p + 8)
	delete f
	for (i = 1; i <= NF; i++) {
		j = index($i, "=")
		if (j)
			f[substr($i, 1, j - 1)] = substr($i, j + 1)
	}
	if (f["kind"] == "setup") {
		maxconn = f["maxconn"]
		setup = "sessions " f["sessions"] ", maxconn " f["maxconn"] \
			", peak need " f["peak"] ", " f["secs"] \
			" s a run (+0.5 s warm-up), " f["kb"] " KiB of trace per CPU, " \
			f["nproc"] " CPUs"
		next
	}
	c = f["cfg"]
	if (c == "")
		next
	if (!(c in known)) {
		known[c] = 1
		order[++ncfg] = c
	}
	k = f["kind"]
	if (k == "bench") {
		for (x in f)
			bench[c, x] = f[x]
	} else if (k == "events") {
		for (x in f)
			evs[c, x] = f[x]
	} else if (k == "wait" || k == "collect" || k == "park") {
		merge(c SUBSEP k, f["h"], f["max"])
		merge(c SUBSEP k SUBSEP f["class"], f["h"], f["max"])
		sum[c, k] += f["sum"]
		sum[c, k, f["class"]] += f["sum"]
		cnt[c, k, f["class"]] += f["n"]
	}
}

END {
	if (!ncfg) {
		print "trace-report: no @@TRACE lines (no trace phase in this log)"
		exit 0
	}
	print "### Seed scenario under the trace events (tools/bench/bufpool-bench-trace.sh)"
	print ""
	if (setup != "")
		print setup ". Throughput is with the wait events traced: compare rows with each other, not with the untraced sweep."
	print ""
	print "| service us | policy | reserve | limit | sessions/s | x unconstr. | waits | wait p50 us | p99 us | max us | grant->collect p50 us | p99 us | max us | uncollected | barges | parks | park->grant p50 us | parked | slot held | lost |"
	print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	for (i = 1; i <= ncfg; i++) {
		c = order[i]
		split(c, part, "/")	# policy r<R> f<F> s<SVC>
		base = part[1] "/" part[2] "/f0/" part[4]
		rate = bench[c, "rate"] + 0
		ratio = bench[base, "rate"] + 0 ? \
			sprintf("%.3f", rate / bench[base, "rate"]) : "-"
		secs = evs[c, "secs"] + 0
		lim = bench[c, "limit"] + 0
		limtxt = part[3] == "f0" ? "unconstr " lim : \
			 (part[3] == "f0.5" ? "1/2 " lim : \
			  (part[3] == "f0.25" ? "1/4 " lim : part[3] " " lim))
		slot = sum[c, "wait", 0] + sum[c, "collect", 0]
		printf "| %s | %s | %s | %s | %.0f%s | %s | %d | %s | %s | %s | %d | %d | %s | %s | %s | %d |\n",
			substr(part[4], 2), part[1], substr(part[2], 2), limtxt,
			rate, bench[c, "stalled"] == "yes" ? " (stalled)" : "",
			ratio, evs[c, "grant"], three(c SUBSEP "wait"),
			three(c SUBSEP "collect"),
			share(sum[c, "collect"], secs, lim),
			evs[c, "barge"], evs[c, "park"],
			hn[c SUBSEP "park"] ? us(pct(c SUBSEP "park", 50)) : "-",
			hn[c SUBSEP "park"] ? share(sum[c, "park"], secs, lim) : "-",
			share(slot, secs, maxconn), evs[c, "lost"]
	}
	print ""
	print "By class (0 CRITICAL: the response buffer, asked for holding a server slot; 1 NORMAL: the request buffer), constrained runs:"
	print ""
	print "| service us | policy | reserve | limit | class | waits | wait p50 us | p99 us | max us | grant->collect p50 us | p99 us | max us | mean wait + collect us |"
	print "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	for (i = 1; i <= ncfg; i++) {
		c = order[i]
		split(c, part, "/")
		if (part[3] == "f0")
			continue
		for (cl = 0; cl <= 2; cl++) {
			n = cnt[c, "wait", cl]
			if (!n)
				continue
			printf "| %s | %s | %s | %s | %d | %d | %s | %s | %s |\n",
				substr(part[4], 2), part[1], substr(part[2], 2),
				(part[3] == "f0.5" ? "1/2 " : "1/4 ") bench[c, "limit"],
				cl, n, three(c SUBSEP "wait" SUBSEP cl),
				three(c SUBSEP "collect" SUBSEP cl),
				us((sum[c, "wait", cl] + sum[c, "collect", cl]) / n)
		}
	}
}
