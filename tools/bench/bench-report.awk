# SPDX-License-Identifier: GPL-2.0
#
# bench-report.awk - turn the console log of the bench VM (make bench)
# into a table on stdout, <out>/table.md, <out>/results.json and the data
# files of tools/bench/plot.gp, and check the targets.
#
# Input lines: "@@BENCH {json}" (tools/bufpool-bench --json),
# "@@KBENCH key=value..." (tools/bench/kbench) and "@@KPAIR key=value..."
# (tools/bench/kbench-pairs-vm.sh, only into results.json: their table is
# tools/bench/kbench-pairs.awk's <out>/pairs.md); with a base revision
# (bench.sh BENCH_BASE) also "@@BENCH side=base {json}", "@@KBENCH
# side=base ...", "@@BENCHINFO side=... default_policy=..." and the
# host's "@@HARNESS side=... rep=... bench: ..." (the core harness's
# microbenchmark).  The base side's lines go to tables named "b:<table>";
# table.md is this tree's side alone, <out>/before-after.md puts the two
# side by side for the targets of issue 13, <out>/harness.md is the
# harness bench.  Variables (-v): out,
# kver, nproc, qemu, and with a base side baserev and headrev (the
# revisions, for before-after.md).
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

# ---- before and after: <out>/before-after.md ----

function ba(s) {
	print s
	print s > (out "/before-after.md")
}

function has(t, key) {
	return (t, key) in rep_n
}

# "median (spread)" of a field, or "-"
function ms(t, key, field, g, f) {
	if (!has(t, key))
		return "-"
	return sprintf(f " (%s)", rep_med(t, key, field, g), pct(rep_spread(t, key, field, g)))
}

function mv(t, key, field, g) {
	return has(t, key) ? rep_med(t, key, field, g) : ""
}

function ratio3(a, b) {
	return (a != "" && b != "" && b + 0 > 0) ? sprintf("%.3f", a / b) : "-"
}

# a target's verdict with its numbers; "noisy" when the spread that
# decides is over SPREAD_MAX, "-" without numbers
function judge(ok, spread, nums) {
	if (nums == "")
		return "-"
	if (spread > SPREAD_MAX)
		return "noisy (" nums "; spread " pct(spread) ")"
	return (ok ? "**met**" : "**not met**") " (" nums ")"
}

function side_hdr(what) {
	ba("")
	ba("### " what)
	ba("")
}

function before_after(    T, i, key, kk, rf, bsp, nsp, bpr, npr, l, sv, lim, pol, sbk, nb, \
			 nr, br, sr, ssp, pw, pg, wpw, vb, vn, r, f, pol0, key0, p, ok) {
	printf "" > (out "/before-after.md")
	# a log from before @@BENCHINFO: handoff was the default then (assumed)
	if (defpol["new"] == "")
		defpol["new"] = "handoff"
	if (defpol["base"] == "")
		defpol["base"] = "handoff"
	ba("Before: " (baserev != "" ? baserev : "the base revision") "; after: " (headrev != "" ? headrev : "this tree") \
	   ". One boot, kernel " kver ", " nproc " vCPUs (QEMU TCG); each configuration ran under both modules in turn " \
	   "within every repetition (who goes first alternates); medians of " reps " repetitions, spread = (max - min) / median; " \
	   "a target whose deciding spread is over " pct(SPREAD_MAX) " reads \"noisy\".  Default policy: before " \
	   defpol["base"] ", after " defpol["new"] ".")

	# plot data of the base side (tools/bench/plot.gp draws it dashed)
	T = "b:session"
	for (i = 1; i <= rep_nkeys[T]; i++) {
		key = rep_key[T, i]
		split(key, kk, SUBSEP)
		dat = out "/plot-base-s" kk[4] "-" kk[1] "-r" kk[2] ".dat"
		if (!(dat in seen)) {
			seen[dat] = 1
			printf "# limit rate attempts_per_session limit_frac\n" > dat
		}
		printf "%s %s %s %s\n", jget(rep_line[T, key, 1], "limit"), rep_med(T, key, "rate", "j"),
		       rep_med(T, key, "attempts_per_session", "j"), kk[3] >> dat
	}

	side_hdr("Syscall floor (item 2): ALLOC+RELEASE pair <= 1.3x the INFO pair")
	ba("| bufsize | before: pair ns | INFO ns | ratio (spread) | after: pair ns | INFO ns | ratio (spread) | pair after/before | after: pair - INFO ns (1.3x allows) | before | after |")
	ba("|---|---|---|---|---|---|---|---|---|---|---|")
	T = "floor"
	for (i = 1; i <= rep_nkeys[T]; i++) {
		key = rep_key[T, i]
		rf = jget(rep_line[T, key, 1], "ratio_min") != "" ? "ratio_min" : "ratio"
		pf = rf == "ratio_min" ? "alloc_release_min_ns" : "alloc_release_ns"
		nf = rf == "ratio_min" ? "noop_pair_min_ns" : "noop_pair_ns"
		# an older base tool may not report the fastest rounds
		brf = rf; bpf = pf; bnf = nf
		if (has("b:" T, key) && jget(rep_line["b:" T, key, 1], "ratio_min") == "") {
			brf = "ratio"; bpf = "alloc_release_ns"; bnf = "noop_pair_ns"
		}
		bpr = mv("b:" T, key, brf, "j"); npr = mv(T, key, rf, "j")
		ba(sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %.0f (%.0f) | %s | %s |", key,
			   ms("b:" T, key, bpf, "j", "%.0f"), ms("b:" T, key, bnf, "j", "%.0f"),
			   ms("b:" T, key, brf, "j", "%.3f") (brf != rf ? " (whole runs)" : ""),
			   ms(T, key, pf, "j", "%.0f"), ms(T, key, nf, "j", "%.0f"),
			   ms(T, key, rf, "j", "%.3f"),
			   ratio3(mv(T, key, pf, "j"), mv("b:" T, key, bpf, "j")),
			   mv(T, key, pf, "j") - mv(T, key, nf, "j"), 0.3 * mv(T, key, nf, "j"),
			   bpr == "" ? "-" : judge(bpr <= 1.3, rep_spread("b:" T, key, brf, "j"), sprintf("%.3fx", bpr)),
			   judge(npr <= 1.3, rep_spread(T, key, rf, "j"), sprintf("%.3fx", npr))))
	}
	ba("")
	ba("Pair and INFO ns of the fastest rounds (" (rf == "ratio_min" ? "ratio_min" : "ratio") "), the least disturbed; the verdict is on their ratio's median and spread.")

	side_hdr("Kernel peers (item 3): bufpool >= sbitmap_queue in every configuration, 1.000 wake-ups per waited request")
	ba("| service us | limit | bufpool policy | before sessions/s (spread) | after (spread) | after/before | sbitmap (spread) | before/sbitmap | after/sbitmap | after: wake-ups/wait, pool wake-ups/grants | before | after |")
	ba("|---|---|---|---|---|---|---|---|---|---|---|---|")
	T = "kbench"
	for (i = 1; i <= rep_nkeys[T]; i++) {
		key = rep_key[T, i]
		l = rep_line[T, key, 1]
		if (kget(l, "peer") == "sbitmap")
			sbk[kget(l, "service_us"), kget(l, "limit")] = key
	}
	nb = 0; nbm = 0; nbb = 0; nbbm = 0
	for (i = 1; i <= rep_nkeys[T]; i++) {
		key = rep_key[T, i]
		l = rep_line[T, key, 1]
		if (kget(l, "peer") != "bufpool")
			continue
		sv = kget(l, "service_us"); lim = kget(l, "limit"); pol = kget(l, "policy")
		s0 = ((sv, lim) in sbk) ? sbk[sv, lim] : ""
		nr = mv(T, key, "rate", "k"); br = mv("b:" T, key, "rate", "k")
		sr = s0 != "" ? mv(T, s0, "rate", "k") : ""
		ssp = s0 != "" ? rep_spread(T, s0, "rate", "k") : 0
		pw = mv(T, key, "pool_wakeups", "k"); pg = mv(T, key, "pool_grants", "k")
		kw = mv(T, key, "waited", "k"); kwk = mv(T, key, "wakeups", "k")
		wpw = sprintf("%s, %s/%s", kw > 0 ? sprintf("%.3f", kwk / kw) : "-", pw, pg)
		nsp = rep_spread(T, key, "rate", "k")
		nsp = nsp > ssp ? nsp : ssp
		vn = sr == "" ? "-" : judge(nr + 0 >= sr + 0 && pw + 0 == pg + 0, nsp,
			 sprintf("%.0f vs %.0f, %s/%s", nr, sr, pw, pg))
		vb = "-"
		if (br != "" && sr != "") {
			bsp = rep_spread("b:" T, key, "rate", "k")
			bsp = bsp > ssp ? bsp : ssp
			vb = judge(br + 0 >= sr + 0 && mv("b:" T, key, "pool_wakeups", "k") + 0 == mv("b:" T, key, "pool_grants", "k") + 0, bsp,
				   sprintf("%.0f vs %.0f, %s/%s", br, sr, mv("b:" T, key, "pool_wakeups", "k"), mv("b:" T, key, "pool_grants", "k")))
		}
		if (pol == defpol["new"] && sr != "") {
			nb++
			nbm += index(vn, "**met**") == 1
		}
		if (pol == defpol["base"] && br != "" && sr != "") {
			nbb++
			nbbm += index(vb, "**met**") == 1
		}
		ba(sprintf("| %s | %s | %s%s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", sv, lim, pol,
			   pol == defpol["new"] ? " (default)" : "",
			   ms("b:" T, key, "rate", "k", "%.0f"), ms(T, key, "rate", "k", "%.0f"),
			   ratio3(nr, br), s0 != "" ? ms(T, s0, "rate", "k", "%.0f") : "-",
			   ratio3(br, sr), ratio3(nr, sr), wpw, vb, vn))
	}
	ba("")
	ba(sprintf("Item 3 on the default policy: before met in %d of %d configurations, after in %d of %d (a noisy one counts as not met; sbitmap ran once per repetition, beside the after side).",
		   nbbm, nbb, nbm, nb))

	side_hdr("Seed scenario (item 5): throughput >= 0.98x unconstrained, attempts/session <= 1.01x")
	ba("| service us | policy | reserve | limit | before sessions/s (spread) | x unconstr. | attempts x unconstr. | after sessions/s (spread) | x unconstr. | attempts x unconstr. | before | after |")
	ba("|---|---|---|---|---|---|---|---|---|---|---|---|")
	T = "session"
	for (i = 1; i <= rep_nkeys[T]; i++) {
		key = rep_key[T, i]
		split(key, kk, SUBSEP)
		pol = kk[1]; r = kk[2]; f = kk[3]; sv = kk[4]
		if (r == 0 || index(pol, "+") || !((T, key) in rep_n))
			continue
		if (!has("b:" T, key) && pol != "handoff" && pol != "adaptive")
			continue
		key0 = pol SUBSEP r SUBSEP 0 SUBSEP sv
		ba(sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", sv, pol, r, fraclabel(f),
			   ms("b:" T, key, "rate", "j", "%.0f"), ratio3(mv("b:" T, key, "rate", "j"), mv("b:" T, key0, "rate", "j")),
			   ratio3(mv("b:" T, key, "attempts_per_session", "j"), mv("b:" T, key0, "attempts_per_session", "j")),
			   ms(T, key, "rate", "j", "%.0f"), ratio3(mv(T, key, "rate", "j"), mv(T, key0, "rate", "j")),
			   ratio3(mv(T, key, "attempts_per_session", "j"), mv(T, key0, "attempts_per_session", "j")),
			   f == 0 ? "-" : seed_verdict("b:" T, key, key0),
			   f == 0 ? "-" : seed_verdict(T, key, key0)))
	}

	side_hdr("Adaptive against handoff (item 4): waits in the VM, spurious wake-ups <= 1 %")
	ba("| service us | reserve | limit | policy | before: wake-ups/wait | spurious | wait p99 us | max us | after: wake-ups/wait | spurious | wait p99 us | max us | spurious <= 1 % of wake-ups, after |")
	ba("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for (i = 1; i <= rep_nkeys[T]; i++) {
		key = rep_key[T, i]
		split(key, kk, SUBSEP)
		pol = kk[1]; r = kk[2]; f = kk[3]; sv = kk[4]
		if (r == 0 || f == 0 || (pol != "handoff" && pol != "adaptive"))
			continue
		wk = mv(T, key, "k_wakeups", "j"); sp = mv(T, key, "k_spurious", "j")
		ba(sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", sv, r, fraclabel(f), pol,
			   fmtv(mv("b:" T, key, "wakeups_per_wait", "j"), "%.3f"), fmtv(mv("b:" T, key, "k_spurious", "j"), "%.0f"),
			   fmtv(mv("b:" T, key, "wait_p99_us", "j"), "%.0f"), fmtv(mv("b:" T, key, "wait_max_us", "j"), "%.0f"),
			   fmtv(mv(T, key, "wakeups_per_wait", "j"), "%.3f"), fmtv(sp, "%.0f"),
			   fmtv(mv(T, key, "wait_p99_us", "j"), "%.0f"), fmtv(mv(T, key, "wait_max_us", "j"), "%.0f"),
			   wk > 0 ? judge(sp <= 0.01 * wk, 0, sprintf("%.0f of %.0f", sp, wk)) : "- (no wake-ups)"))
	}
	ba("")
	ba("The kernel rows of both policies are in the item 3 table; the harness microbenchmark's in the next one, when it ran.")

	side_hdr("Status page (item 6): ALLOC calls/session <= 1.125x unconstrained")
	ba("| service us | reserve | limit | before: ALLOC calls/session | x unconstr. | after | x unconstr. | before | after |")
	ba("|---|---|---|---|---|---|---|---|---|")
	for (i = 1; i <= rep_nkeys[T]; i++) {
		key = rep_key[T, i]
		split(key, kk, SUBSEP)
		pol = kk[1]; r = kk[2]; f = kk[3]; sv = kk[4]
		if (pol != "handoff+status")
			continue
		key0 = pol SUBSEP r SUBSEP 0 SUBSEP sv
		ba(sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |", sv, r, fraclabel(f),
			   fmtv(mv("b:" T, key, "calls_per_session", "j"), "%.4f"),
			   ratio3(mv("b:" T, key, "calls_per_session", "j"), mv("b:" T, key0, "calls_per_session", "j")),
			   fmtv(mv(T, key, "calls_per_session", "j"), "%.4f"),
			   ratio3(mv(T, key, "calls_per_session", "j"), mv(T, key0, "calls_per_session", "j")),
			   f == 0 ? "-" : calls_verdict("b:" T, key, key0), f == 0 ? "-" : calls_verdict(T, key, key0)))
	}
	if (rep_nkeys["harness"] > 0) {
		harness_table("")
	}
	print "bench: " out "/before-after.md"
}

function fmtv(v, f) {
	return v == "" ? "-" : sprintf(f, v)
}

function seed_verdict(t, key, key0,    a, a0, r, r0, rr, ra) {
	r = mv(t, key, "rate", "j"); r0 = mv(t, key0, "rate", "j")
	a = mv(t, key, "attempts_per_session", "j"); a0 = mv(t, key0, "attempts_per_session", "j")
	if (r == "" || r0 == "" || r0 + 0 == 0 || a0 + 0 == 0)
		return "-"
	rr = r / r0; ra = a / a0
	return judge(rr >= 0.98 && ra <= 1.01, rep_spread(t, key0, "rate", "j"),
		     sprintf("%.3fx, attempts %.4fx", rr, ra))
}

function calls_verdict(t, key, key0,    c, c0) {
	c = mv(t, key, "calls_per_session", "j"); c0 = mv(t, key0, "calls_per_session", "j")
	if (c == "" || c0 == "" || c0 + 0 == 0)
		return "-"
	return judge(c / c0 <= 1.125, rep_spread(t, key0, "calls_per_session", "j"),
		     sprintf("%.4fx", c / c0))
}

# The harness microbenchmark (native, on the host): to <file> (and
# stdout), or into before-after.md with "".
function harness_out(file, s) {
	if (file == "") {
		ba(s)
	} else {
		print s
		print s > file
	}
}

function harness_table(file,    i, key, T, bx, nx, v) {
	T = "harness"
	if (file != "")
		printf "" > file
	harness_out(file, "")
	harness_out(file, "### Harness microbenchmark (tools/testing/bufpool/build/bench, native, on the host)")
	harness_out(file, "")
	harness_out(file, "ns per alloc+release pair, medians of " rep_n[T, rep_key[T, 1]] " runs (spread); x plain = bufpool / the mutex+condvar pool of the same run; waits: after.")
	harness_out(file, "")
	harness_out(file, "| configuration | before: bufpool ns (spread) | x plain (spread) | after: bufpool ns (spread) | mutex+condvar ns | x plain (spread) | after/before | waits | wake-ups/wait | spurious | barges | wait p99 us | max us |")
	harness_out(file, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for (i = 1; i <= rep_nkeys[T]; i++) {
		key = rep_key[T, i]
		harness_out(file, sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", key,
			   ms("b:" T, key, "bp", "k", "%.1f"), ms("b:" T, key, "x", "k", "%.2f"),
			   ms(T, key, "bp", "k", "%.1f"), ms(T, key, "plain", "k", "%.1f"),
			   ms(T, key, "x", "k", "%.2f"),
			   ratio3(mv(T, key, "bp", "k"), mv("b:" T, key, "bp", "k")),
			   hv(T, key, "waits", "%.0f"), hv(T, key, "wpw", "%.3f"), hv(T, key, "spurious", "%.0f"),
			   hv(T, key, "barges", "%.0f"), hv(T, key, "p99", "%.1f"), hv(T, key, "max", "%.1f")))
	}
	key = "2 threads, limit 1 (adaptive)"
	if (has(T, key)) {
		harness_out(file, "")
		bx = mv("b:" T, key, "x", "k"); nx = mv(T, key, "x", "k")
		harness_out(file, sprintf("- target 2x: contended 2-thread ping-pong (%s) within 2x of the mutex+condvar pool: before %s, after %s",
			   key, bx == "" ? "-" : judge(bx <= 2, rep_spread("b:" T, key, "x", "k"), sprintf("%.2fx", bx)),
			   judge(nx <= 2, rep_spread(T, key, "x", "k"), sprintf("%.2fx", nx))))
	}
}

# a waits figure of a harness line, "-" for lines without waits
function hv(t, key, f, fm) {
	if (!has(t, key) || kget(rep_line[t, key, 1], f) == "")
		return "-"
	return sprintf(fm, rep_med(t, key, f, "k"))
}

# JSON arrays of results.json: lines that are JSON objects, and lines of
# key=value words
function json_lines(name, a, n, sep,    i) {
	printf "  \"%s\": [\n", name >> js
	for (i = 1; i <= n; i++)
		printf "    %s%s\n", a[i], (i < n ? "," : "") >> js
	printf "  ]%s\n", sep >> js
}

function json_kv(name, a, n, sep,    i, j, m, kv, p2, v) {
	printf "  \"%s\": [\n", name >> js
	for (i = 1; i <= n; i++) {
		m = split(a[i], kv, " ")
		printf "    {" >> js
		for (j = 1; j <= m; j++) {
			split(kv[j], p2, "=")
			v = substr(kv[j], length(p2[1]) + 2)
			printf "%s\"%s\":%s", (j > 1 ? "," : ""), p2[1],
			       (v ~ /^[0-9]+$/ ? v : "\"" v "\"") >> js
		}
		printf "}%s\n", (i < n ? "," : "") >> js
	}
	printf "  ]%s\n", sep >> js
}

BEGIN {
	SPREAD_MAX = 0.05
}

{
	sub(/\r$/, "")
}

# "@@BENCH side=base {json}": a run under the base revision's module
/@@BENCH (side=base )?\{/ {
	line = substr($0, index($0, "{"))
	sd = index($0, "@@BENCH side=base ") ? "b:" : ""
	if (jget(line, "type") == "floor") {
		if (sd == "") {
			nfl++
			fl[nfl] = line
		} else
			bfl[++nbfl] = line
		rep_add(sd "floor", jget(line, "bufsize"), line)
		next
	}
	if (sd == "") {
		ns++
		s[ns] = line
		if (jget(line, "stalled") == "yes" || jget(line, "completed") == 0)
			stalled++
	} else
		bs[++nbs] = line
	pol = jget(line, "policy"); r = jget(line, "reserve"); f = jget(line, "limit_frac")
	sv = jget(line, "service_us")
	if (jget(line, "status") == "yes")
		pol = pol "+status"
	key = pol SUBSEP r SUBSEP f SUBSEP sv
	svcs[sv] = 1
	rep_add(sd "session", key, line)
	next
}

/@@KBENCH / {
	line = substr($0, index($0, "@@KBENCH ") + 9)
	sd = ""
	if (substr(line, 1, 10) == "side=base ") {
		line = substr(line, 11)
		sd = "b:"
		bk[++nbk] = line
	} else {
		nk++
		k[nk] = line
	}
	rep_add(sd "kbench", kget(line, "service_us") SUBSEP kget(line, "limit") \
		SUBSEP kget(line, "peer") SUBSEP kget(line, "policy"), line)
	next
}

# tools/bench/kbench-pairs-vm.sh's runs (their table:
# tools/bench/kbench-pairs.awk), for results.json
/@@KPAIR / {
	kpl[++nkp] = substr($0, index($0, "@@KPAIR ") + 8)
	next
}

# "@@BENCHINFO side=<new|base> default_policy=<policy>"
/@@BENCHINFO / {
	line = substr($0, index($0, "@@BENCHINFO ") + 12)
	defpol[kget(line, "side")] = kget(line, "default_policy")
	next
}

# The core harness's microbenchmark on the host (bench.sh):
# "@@HARNESS side=<new|base> rep=<n> bench: <line of its output>"
/^@@HARNESS / {
	sd = kget($0, "side") == "base" ? "b:" : ""
	txt = substr($0, index($0, "bench: ") + 7)
	if (match(txt, / +bufpool +[0-9.]+ ns\/pair +mutex\+condvar pool +[0-9.]+ ns\/pair/)) {
		hwhat = substr(txt, 1, RSTART - 1)
		split(substr(txt, RSTART, RLENGTH), hw, " +")
		# hw: "" bufpool X ns/pair mutex+condvar pool Y ns/pair
		hx = hw[1] == "" ? 3 : 2
		hb = hw[hx] + 0; hp = hw[hx + 4] + 0
		if (!(hwhat in hseen)) {
			hseen[hwhat] = 1
			horder[++nh] = hwhat
		}
		rep_add(sd "harness", hwhat, "bp=" hb " plain=" hp " x=" (hp > 0 ? hb / hp : 0))
		hlast[sd] = hwhat
		next
	}
	if (match(txt, /^ +[0-9]+ waits, /)) {
		n = split(txt, hw, /[ ,]+/)
		# "" N waits W wake-ups/wait S spurious B barges wait p99 P us max X us
		extra = ""
		for (i = 1; i < n; i++) {
			if (hw[i + 1] == "waits") extra = extra " waits=" hw[i]
			if (hw[i + 1] == "wake-ups/wait") extra = extra " wpw=" hw[i]
			if (hw[i + 1] == "spurious") extra = extra " spurious=" hw[i]
			if (hw[i + 1] == "barges") extra = extra " barges=" hw[i]
			if (hw[i] == "p99") extra = extra " p99=" hw[i + 1]
			if (hw[i] == "max") extra = extra " max=" hw[i + 1]
		}
		t = sd "harness"; key = hlast[sd]
		if ((t, key) in rep_n)
			rep_line[t, key, rep_n[t, key]] = rep_line[t, key, rep_n[t, key]] extra
	}
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

	# ---- before and after (BENCH_BASE) ----
	if (nbs + nbfl + nbk > 0 || rep_nkeys["b:harness"] > 0)
		before_after()
	if (rep_nkeys["harness"] > 0)
		harness_table(out "/harness.md")

	# ---- JSON ----
	js = out "/results.json"
	printf "{\n  \"kernel\": \"%s\",\n  \"vcpus\": %d,\n  \"qemu\": \"%s\",\n", kver, nproc, qemu > js
	if (nbs + nbfl + nbk > 0)
		printf "  \"base\": \"%s\",\n  \"head\": \"%s\",\n", baserev, headrev >> js
	json_lines("session", s, ns, ",")
	json_lines("floor", fl, nfl, ",")
	if (nkp > 0)
		json_kv("kpairs", kpl, nkp, ",")
	json_kv("kbench", k, nk, nbs + nbfl + nbk > 0 ? "," : "")
	if (nbs + nbfl + nbk > 0) {
		json_lines("base_session", bs, nbs, ",")
		json_lines("base_floor", bfl, nbfl, ",")
		json_kv("base_kbench", bk, nbk, "")
	}
	printf "}\n" >> js
	close(js)
	print "bench: " js ", " out "/table.md"
}
