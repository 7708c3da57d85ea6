# SPDX-License-Identifier: GPL-2.0
#
# bench-report.awk - turn the console log of the bench VM (make bench)
# into a table on stdout, <out>/table.md, <out>/results.json and the data
# files of tools/bench/plot.gp, and check the targets of issue 6.
#
# Input lines: "@@BENCH {json}" (tools/bufpool-bench --json) and
# "@@KBENCH key=value..." (tools/bench/kbench).  Variables (-v): out,
# kver, nproc, qemu.

function jget(line, key,    re, v) {
	re = "\"" key "\":(\"[^\"]*\"|[^,}]*)"
	if (!match(line, re))
		return ""
	v = substr(line, RSTART + length(key) + 3, RLENGTH - length(key) - 3)
	gsub(/"/, "", v)
	return v
}

function kget(line, key,    re) {
	re = "(^| )" key "=[^ ]*"
	if (!match(line, re))
		return ""
	return substr(line, RSTART + length(key) + 1 + (substr(line, RSTART, 1) == " "), \
		      RLENGTH - length(key) - 1 - (substr(line, RSTART, 1) == " "))
}

function fraclabel(f) {
	return f == 0 ? "unconstrained" : (f == 0.5 ? "1/2 peak" : (f == 0.25 ? "1/4 peak" : f " peak"))
}

function md(s) {
	print s
	print s > (out "/table.md")
}

function verdict(ok) {
	return ok ? "**met**" : "**not met**"
}

{
	sub(/\r$/, "")
}

/@@BENCH \{/ {
	line = substr($0, index($0, "{"))
	if (jget(line, "type") == "floor") {
		nfl++
		fl[nfl] = line
		next
	}
	ns++
	s[ns] = line
	if (jget(line, "stalled") == "yes" || jget(line, "completed") == 0)
		stalled++
	pol = jget(line, "policy"); r = jget(line, "reserve"); f = jget(line, "limit_frac")
	sv = jget(line, "service_us")
	key = pol SUBSEP r SUBSEP f SUBSEP sv
	svcs[sv] = 1
	rate[key] = jget(line, "rate")
	att[key] = jget(line, "attempts_per_session")
	idx[key] = ns
	next
}

/@@KBENCH / {
	line = substr($0, index($0, "@@KBENCH ") + 9)
	nk++
	k[nk] = line
	next
}

END {
	printf "" > (out "/table.md")
	md("Kernel " kver ", " nproc " vCPUs (QEMU TCG)")
	md("")
	md("### Session workload through /dev/bufpool (tools/bufpool-bench)")
	md("")
	md("| service us | policy | reserve | limit | buffers | sessions/s | x unconstr. | attempts/session | ALLOC calls/session | wake-ups/wait | spurious | wait p50 us | p99 us | max us | Jain | uncollected | stalled |")
	md("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for (i = 1; i <= ns; i++) {
		l = s[i]
		pol = jget(l, "policy"); r = jget(l, "reserve"); f = jget(l, "limit_frac")
		sv = jget(l, "service_us")
		base = rate[pol SUBSEP r SUBSEP 0 SUBSEP sv]
		md(sprintf("| %s | %s | %s | %s | %s | %.0f | %s | %.4f | %.4f | %.3f | %s | %.0f | %.0f | %.0f | %.3f | %.2f | %s |",
			   sv, pol, r, fraclabel(f), jget(l, "limit"), jget(l, "rate"),
			   base > 0 ? sprintf("%.3f", jget(l, "rate") / base) : "-",
			   jget(l, "attempts_per_session"), jget(l, "calls_per_session"),
			   jget(l, "wakeups_per_wait"), jget(l, "k_spurious"),
			   jget(l, "wait_p50_us"), jget(l, "wait_p99_us"),
			   jget(l, "wait_max_us"), jget(l, "jain"), jget(l, "hoarded"),
			   jget(l, "stalled")))
		# plot data: one file per service time, policy and reserve
		dat = out "/plot-s" sv "-" pol "-r" r ".dat"
		if (!(dat in seen)) {
			seen[dat] = 1
			printf "# limit rate attempts_per_session limit_frac\n" > dat
		}
		printf "%s %s %s %s\n", jget(l, "limit"), jget(l, "rate"),
		       jget(l, "attempts_per_session"), f >> dat
	}
	md("")
	md("### Syscall floor (one thread, unconstrained pool)")
	md("")
	md("| bufsize | ALLOC+RELEASE pair ns | INFO+INFO pair ns | ratio |")
	md("|---|---|---|---|")
	for (i = 1; i <= nfl; i++)
		md(sprintf("| %s | %.0f | %.0f | %.3f |", jget(fl[i], "bufsize"),
			   jget(fl[i], "alloc_release_ns"), jget(fl[i], "noop_pair_ns"),
			   jget(fl[i], "ratio")))
	md("")
	md("### Kernel peers (tools/bench/kbench, kernel threads, reserve 4)")
	md("")
	md("| service us | limit | peer | sessions/s | attempts/session | waited | wake-ups | wake-ups/wait | spurious | wait p99 us | Jain | pool wake-ups/grants |")
	md("|---|---|---|---|---|---|---|---|---|---|---|---|")
	for (i = 1; i <= nk; i++) {
		l = k[i]
		peer = kget(l, "peer"); kp = kget(l, "policy")
		name = peer (kp != "-" ? "/" kp : "")
		kr = kget(l, "completed") ? kget(l, "attempts") / (kget(l, "completed")) : 0
		ksv = kget(l, "service_us")
		md(sprintf("| %s | %s | %s | %s | %.4f | %s | %s | %.3f | %s | %.0f | %.3f | %s |",
			   ksv, kget(l, "limit"), name, kget(l, "rate"), kr,
			   kget(l, "waited"), kget(l, "wakeups"),
			   (kget(l, "waited") > 0 ? kget(l, "wakeups") / kget(l, "waited") : 0),
			   kget(l, "spurious"), kget(l, "wait_p99_ns") / 1000,
			   kget(l, "jain_e4") / 10000,
			   peer == "bufpool" ? kget(l, "pool_wakeups") "/" kget(l, "pool_grants") : "-"))
		kl = ksv "us, limit " kget(l, "limit")
		if (!(kl in klim))
			klorder[++nkl] = kl
		klim[kl] = 1
		krate[kl, name] = kget(l, "rate")
		kwake[kl, name] = kget(l, "wakeups")
	}

	# ---- targets ----
	md("")
	md("### Targets (issue 6)")
	md("")
	wk = 0; gr = 0; sp = 0
	for (i = 1; i <= ns; i++) {
		if (jget(s[i], "policy") != "handoff")
			continue
		wk += jget(s[i], "k_wakeups"); gr += jget(s[i], "k_grants_waited")
		sp += jget(s[i], "k_spurious")
	}
	md(sprintf("- handoff wake-ups per grant = 1.000 with 0 spurious: %.4f (%d wake-ups, %d grants), %d spurious over all handoff runs: %s",
		   gr ? wk / gr : 0, wk, gr, sp, verdict(gr && wk == gr && sp == 0)))
	for (sv in svcs)
	for (r = 1; r <= 4; r += 3) {
		key0 = "handoff" SUBSEP r SUBSEP 0 SUBSEP sv
		key1 = "handoff" SUBSEP r SUBSEP 0.5 SUBSEP sv
		if (!(key0 in rate) || !(key1 in rate) || rate[key0] == 0)
			continue
		ra = att[key1] / att[key0]; rt = rate[key1] / rate[key0]
		md(sprintf("- handoff, service %s us, reserve %d, 1/2 memory: attempts/session %.4f vs %.4f = %.4fx (<= 1.01x: %s); throughput %.0f vs %.0f = %.3fx (>= 0.98x: %s)",
			   sv, r, att[key1], att[key0], ra, verdict(ra <= 1.01),
			   rate[key1], rate[key0], rt, verdict(rt >= 0.98)))
	}
	for (i = 1; i <= nfl; i++)
		md(sprintf("- alloc+release <= 1.3x the no-op (INFO) pair, bufsize %s: %.3fx: %s",
			   jget(fl[i], "bufsize"), jget(fl[i], "ratio"),
			   verdict(jget(fl[i], "ratio") <= 1.3)))
	for (li = 1; li <= nkl; li++) {
		lim = klorder[li]
		h = "bufpool/handoff"
		if (!((lim, h) in krate))
			continue
		for (pi = 1; pi <= 2; pi++) {
			p = pi == 1 ? "mempool" : "sbitmap"
			if (!((lim, p) in krate))
				continue
			ok = kwake[lim, h] + 0 < kwake[lim, p] + 0 && \
			     krate[lim, h] + 0 >= krate[lim, p] + 0
			vd = (kwake[lim, h] + kwake[lim, p] == 0) ? "n/a (nobody waits)" : verdict(ok)
			md(sprintf("- kernel, %s: handoff %d wake-ups at %d sessions/s vs %s %d wake-ups at %d sessions/s: %s",
				   lim, kwake[lim, h], krate[lim, h], p, kwake[lim, p],
				   krate[lim, p], vd))
		}
	}

	# ---- JSON ----
	js = out "/results.json"
	printf "{\n  \"kernel\": \"%s\",\n  \"vcpus\": %d,\n  \"qemu\": \"%s\",\n", kver, nproc, qemu > js
	printf "  \"session\": [\n" >> js
	for (i = 1; i <= ns; i++)
		printf "    %s%s\n", s[i], (i < ns ? "," : "") >> js
	printf "  ],\n  \"floor\": [\n" >> js
	for (i = 1; i <= nfl; i++)
		printf "    %s%s\n", fl[i], (i < nfl ? "," : "") >> js
	printf "  ],\n  \"kbench\": [\n" >> js
	for (i = 1; i <= nk; i++) {
		n = split(k[i], kv, " ")
		printf "    {" >> js
		for (j = 1; j <= n; j++) {
			split(kv[j], p2, "=")
			v = substr(kv[j], length(p2[1]) + 2)
			printf "%s\"%s\":%s", (j > 1 ? "," : ""), p2[1],
			       (v ~ /^[0-9]+$/ ? v : "\"" v "\"") >> js
		}
		printf "}%s\n", (i < nk ? "," : "") >> js
	}
	printf "  ]\n}\n" >> js
	close(js)
	print "bench: " js ", " out "/table.md"
}
