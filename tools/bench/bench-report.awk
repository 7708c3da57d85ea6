# SPDX-License-Identifier: GPL-2.0
#
# bench-report.awk - turn the console log of the bench VM (make bench)
# into a table on stdout, <out>/table.md, <out>/results.json and the data
# files of tools/bench/plot.gp, and check the targets.
#
# Input lines: "@@BENCH {json}" (tools/bufpool-bench --json) and
# "@@KBENCH key=value..." (tools/bench/kbench).  Variables (-v): out,
# kver, nproc, qemu.
#
# Repetitions: the VM runs every configuration BENCH_REPS times (3); the
# lines of one configuration (same key) are grouped and every figure in
# the tables is their median.  The spread of a configuration is
# (max - min) / median of its main figure, and a comparison with a
# configuration (e.g. the unconstrained one) whose spread is over
# SPREAD_MAX (5 %) says "noisy" instead of a ratio or a verdict.
#
# To add a table: collect your lines with rep_add(table, key, line) (key:
# what tells configurations apart; order of first appearance is kept in
# rep_key[table, i], rep_nkeys[table]), then print one row per key with
# rep_med(table, key, field, getter) and rep_spread(...), where getter is
# "j" for JSON lines (jget) or "k" for key=value lines (kget).

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

function rep_add(t, key, line) {
	if (!((t, key) in rep_n))
		rep_key[t, ++rep_nkeys[t]] = key
	rep_line[t, key, ++rep_n[t, key]] = line
}

function rep_get(line, field, g) {
	return g == "k" ? kget(line, field) : jget(line, field)
}

# Median of @field over the repetitions of (t, key).
function rep_med(t, key, field, g,    n, i, j, v, x) {
	n = rep_n[t, key]
	for (i = 1; i <= n; i++) {
		x = rep_get(rep_line[t, key, i], field, g) + 0
		for (j = i - 1; j >= 1 && v[j] > x; j--)
			v[j + 1] = v[j]
		v[j + 1] = x
	}
	if (!n)
		return 0
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}

# (max - min) / median of @field over the repetitions, 0 for one.
function rep_spread(t, key, field, g,    n, i, x, lo, hi, m) {
	n = rep_n[t, key]
	for (i = 1; i <= n; i++) {
		x = rep_get(rep_line[t, key, i], field, g) + 0
		if (i == 1 || x < lo)
			lo = x
		if (i == 1 || x > hi)
			hi = x
	}
	m = rep_med(t, key, field, g)
	return m > 0 ? (hi - lo) / m : 0
}

function pct(x) {
	return sprintf("%.1f %%", 100 * x)
}

# "a / b" as a ratio, or "noisy" when the base's spread is too wide.
function ratio_or_noisy(a, b, bspread) {
	if (b <= 0)
		return "-"
	if (bspread > SPREAD_MAX)
		return sprintf("noisy (base spread %s)", pct(bspread))
	return sprintf("%.3f", a / b)
}

BEGIN {
	SPREAD_MAX = 0.05
}

{
	sub(/\r$/, "")
}

/@@BENCH \{/ {
	line = substr($0, index($0, "{"))
	if (jget(line, "type") == "floor") {
		nfl++
		fl[nfl] = line
		rep_add("floor", jget(line, "bufsize"), line)
		next
	}
	ns++
	s[ns] = line
	if (jget(line, "stalled") == "yes" || jget(line, "completed") == 0)
		stalled++
	pol = jget(line, "policy"); r = jget(line, "reserve"); f = jget(line, "limit_frac")
	sv = jget(line, "service_us")
	if (jget(line, "status") == "yes")
		pol = pol "+status"
	key = pol SUBSEP r SUBSEP f SUBSEP sv
	svcs[sv] = 1
	rep_add("session", key, line)
	next
}

/@@KBENCH / {
	line = substr($0, index($0, "@@KBENCH ") + 9)
	nk++
	k[nk] = line
	rep_add("kbench", kget(line, "service_us") SUBSEP kget(line, "limit") \
		SUBSEP kget(line, "peer") SUBSEP kget(line, "policy"), line)
	next
}

END {
	printf "" > (out "/table.md")
	reps = 0
	for (i = 1; i <= rep_nkeys["session"]; i++)
		if (rep_n["session", rep_key["session", i]] > reps)
			reps = rep_n["session", rep_key["session", i]]
	md("Kernel " kver ", " nproc " vCPUs (QEMU TCG); every figure is the median of " \
	   (reps ? reps : 1) " repetitions in this boot; spread = (max - min) / median; a ratio to a base whose spread is over " \
	   pct(SPREAD_MAX) " reads \"noisy\"")
	md("")
	md("### Session workload through /dev/bufpool (tools/bufpool-bench)")
	md("")
	md("| service us | policy | reserve | limit | buffers | sessions/s | spread | x unconstr. | attempts/session | ALLOC calls/session | x unconstr. | wake-ups/wait | spurious | wait p50 us | p99 us | max us | Jain | uncollected | stalled |")
	md("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	T = "session"
	for (i = 1; i <= rep_nkeys[T]; i++) {
		key = rep_key[T, i]
		split(key, kk, SUBSEP)
		pol = kk[1]; r = kk[2]; f = kk[3]; sv = kk[4]
		l = rep_line[T, key, 1]
		base = pol SUBSEP r SUBSEP 0 SUBSEP sv
		mrate = rep_med(T, key, "rate", "j")
		brate = (T, base) in rep_n ? rep_med(T, base, "rate", "j") : 0
		bspr = (T, base) in rep_n ? rep_spread(T, base, "rate", "j") : 0
		mcalls = rep_med(T, key, "calls_per_session", "j")
		bcalls = (T, base) in rep_n ? rep_med(T, base, "calls_per_session", "j") : 0
		stl = 0
		for (j = 1; j <= rep_n[T, key]; j++)
			stl += jget(rep_line[T, key, j], "stalled") == "yes"
		rate[key] = mrate
		rspread[key] = rep_spread(T, key, "rate", "j")
		att[key] = rep_med(T, key, "attempts_per_session", "j")
		calls[key] = mcalls
		md(sprintf("| %s | %s | %s | %s | %s | %.0f | %s | %s | %.4f | %.4f | %s | %.3f | %.0f | %.0f | %.0f | %.0f | %.3f | %.2f | %s |",
			   sv, pol, r, fraclabel(f), jget(l, "limit"), mrate,
			   pct(rspread[key]),
			   f == 0 ? "1.000" : ratio_or_noisy(mrate, brate, bspr),
			   att[key], mcalls,
			   bcalls > 0 ? sprintf("%.3f", mcalls / bcalls) : "-",
			   rep_med(T, key, "wakeups_per_wait", "j"),
			   rep_med(T, key, "k_spurious", "j"),
			   rep_med(T, key, "wait_p50_us", "j"), rep_med(T, key, "wait_p99_us", "j"),
			   rep_med(T, key, "wait_max_us", "j"), rep_med(T, key, "jain", "j"),
			   rep_med(T, key, "hoarded", "j"),
			   stl ? (stl == rep_n[T, key] ? "yes" : stl "/" rep_n[T, key]) : "no"))
		# plot data: one file per service time, policy and reserve
		dat = out "/plot-s" sv "-" pol "-r" r ".dat"
		if (!(dat in seen)) {
			seen[dat] = 1
			printf "# limit rate attempts_per_session limit_frac\n" > dat
		}
		printf "%s %s %s %s\n", jget(l, "limit"), mrate, att[key], f >> dat
	}
	md("")
	md("### Syscall floor (one thread, unconstrained pool)")
	md("")
	md("| bufsize | ALLOC+RELEASE pair ns | INFO+INFO pair ns | ratio | spread (judged ratio) | fastest rounds: pair ns | INFO ns | ratio |")
	md("|---|---|---|---|---|---|---|---|")
	T = "floor"
	for (i = 1; i <= rep_nkeys[T]; i++) {
		key = rep_key[T, i]
		# judged on the fastest rounds, the least disturbed, if known
		rf = jget(rep_line[T, key, 1], "ratio_min") != "" ? "ratio_min" : "ratio"
		fratio[key] = rep_med(T, key, rf, "j")
		fspread[key] = rep_spread(T, key, rf, "j")
		md(sprintf("| %s | %.0f | %.0f | %.3f | %s | %.0f | %.0f | %.3f |", key,
			   rep_med(T, key, "alloc_release_ns", "j"),
			   rep_med(T, key, "noop_pair_ns", "j"),
			   rep_med(T, key, "ratio", "j"), pct(fspread[key]),
			   rep_med(T, key, "alloc_release_min_ns", "j"),
			   rep_med(T, key, "noop_pair_min_ns", "j"),
			   rep_med(T, key, "ratio_min", "j")))
	}
	md("")
	md("### Kernel peers (tools/bench/kbench, kernel threads, reserve 4)")
	md("")
	md("| service us | limit | peer | sessions/s | spread | attempts/session | waited | wake-ups | wake-ups/wait | spurious | wait p99 us | Jain | pool wake-ups/grants |")
	md("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	T = "kbench"
	for (i = 1; i <= rep_nkeys[T]; i++) {
		key = rep_key[T, i]
		l = rep_line[T, key, 1]
		peer = kget(l, "peer"); kp = kget(l, "policy")
		name = peer (kp != "-" ? "/" kp : "")
		kc = rep_med(T, key, "completed", "k")
		kr = kc ? rep_med(T, key, "attempts", "k") / kc : 0
		ksv = kget(l, "service_us")
		kw = rep_med(T, key, "waited", "k")
		kwk = rep_med(T, key, "wakeups", "k")
		md(sprintf("| %s | %s | %s | %.0f | %s | %.4f | %.0f | %.0f | %.3f | %.0f | %.0f | %.3f | %s |",
			   ksv, kget(l, "limit"), name, rep_med(T, key, "rate", "k"),
			   pct(rep_spread(T, key, "rate", "k")), kr, kw, kwk,
			   (kw > 0 ? kwk / kw : 0), rep_med(T, key, "spurious", "k"),
			   rep_med(T, key, "wait_p99_ns", "k") / 1000,
			   rep_med(T, key, "jain_e4", "k") / 10000,
			   peer == "bufpool" ? rep_med(T, key, "pool_wakeups", "k") "/" rep_med(T, key, "pool_grants", "k") : "-"))
		kl = ksv "us, limit " kget(l, "limit")
		if (!(kl in klim))
			klorder[++nkl] = kl
		klim[kl] = 1
		krate[kl, name] = rep_med(T, key, "rate", "k")
		kspread[kl, name] = rep_spread(T, key, "rate", "k")
		kwake[kl, name] = kwk
	}

	# ---- targets ----
	md("")
	md("### Targets")
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
		md(sprintf("- handoff, service %s us, reserve %d, 1/2 memory: attempts/session %.4f vs %.4f = %.4fx (<= 1.01x: %s); throughput %.0f vs %.0f = %s (>= 0.98x: %s)",
			   sv, r, att[key1], att[key0], ra, verdict(ra <= 1.01),
			   rate[key1], rate[key0],
			   ratio_or_noisy(rate[key1], rate[key0], rspread[key0]),
			   rspread[key0] > SPREAD_MAX ? "not judged: unconstrained spread " pct(rspread[key0]) : verdict(rt >= 0.98)))
	}
	for (sv in svcs)
	for (r = 1; r <= 4; r += 3)
	for (fi = 1; fi <= 2; fi++) {
		f = fi == 1 ? 0.5 : 0.25
		key0 = "handoff+status" SUBSEP r SUBSEP 0 SUBSEP sv
		key1 = "handoff+status" SUBSEP r SUBSEP f SUBSEP sv
		if (!(key0 in calls) || !(key1 in calls) || calls[key0] == 0)
			continue
		rc = calls[key1] / calls[key0]
		md(sprintf("- status page, handoff, service %s us, reserve %d, %s: ALLOC calls/session %.4f vs %.4f unconstrained = %.4fx (<= 1.125x: %s)",
			   sv, r, fraclabel(f), calls[key1], calls[key0], rc,
			   verdict(rc <= 1.125)))
	}
	for (i = 1; i <= rep_nkeys["floor"]; i++) {
		key = rep_key["floor", i]
		md(sprintf("- alloc+release <= 1.3x the no-op (INFO) pair, bufsize %s, fastest rounds: %.3fx (spread %s): %s",
			   key, fratio[key], pct(fspread[key]),
			   fspread[key] > SPREAD_MAX ? "not judged (noisy)" : verdict(fratio[key] <= 1.3)))
	}
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
			if (kspread[lim, h] > SPREAD_MAX || kspread[lim, p] > SPREAD_MAX)
				vd = vd " (throughput noisy: spread " pct(kspread[lim, h]) " vs " pct(kspread[lim, p]) ")"
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
