# SPDX-License-Identifier: GPL-2.0
#
# kbench-pairs.awk - the "@@KPAIR" lines of a bench console log
# (tools/bench/kbench-pairs-vm.sh) as a markdown table on stdout: per
# configuration and policy, kbench's bufpool peer against sbitmap_queue
# measured in adjacent runs, and against the base module when it ran.
#
# The ratios are formed within one alternation (the runs of an
# alternation are adjacent in time, so a drift of the host's speed
# cancels out of them), then summarized over the alternations: median,
# min, max and the order-statistics confidence interval of the median,
# [x(j), x(n+1-j)] of the n sorted ratios with the largest j whose
# coverage 1 - 2 P(Bin(n, 1/2) < j) is still >= CI_MIN (85 %): j = 2
# (87.5 %) for n = 7, j = 1 (min..max) below n = 6.
#
# Fields are taken by name, so lines with more key=value words than
# these still parse.

function kv(line, a,    n, i, f, p) {
	delete a
	n = split(line, f, " ")
	for (i = 1; i <= n; i++) {
		p = index(f[i], "=")
		if (p > 1)
			a[substr(f[i], 1, p - 1)] = substr(f[i], p + 1)
	}
}

# sort v[1..n] (numbers) in place
function isort(v, n,    i, j, x) {
	for (i = 2; i <= n; i++) {
		x = v[i]
		for (j = i - 1; j >= 1 && v[j] > x; j--)
			v[j + 1] = v[j]
		v[j + 1] = x
	}
}

function median(v, n) {
	if (!n)
		return ""
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}

# P(Bin(n, 1/2) <= k)
function binom_cdf(n, k,    i, c, s) {
	c = 1; s = 0
	for (i = 0; i <= k; i++) {
		s += c
		c = c * (n - i) / (i + 1)
	}
	return s / 2 ^ n
}

# the j of the interval [x(j), x(n+1-j)] (see the top), and its coverage
function ci_j(n,    j) {
	for (j = int(n / 2); j > 1; j--)
		if (1 - 2 * binom_cdf(n, j - 1) >= CI_MIN)
			return j
	return 1
}

function ci_cover(n) {
	return 1 - 2 * binom_cdf(n, ci_j(n) - 1)
}

# Summary of the ratios a/b over the alternations of configuration c
# whose both runs exist: sets R["n"], R["med"], R["min"], R["max"],
# R["lo"], R["hi"].
function ratios(c, a, b,    i, n, v, j) {
	delete R
	n = 0
	for (i = 1; i <= nalt[c]; i++) {
		if (!((c, a, i) in rate) || !((c, b, i) in rate) || rate[c, b, i] <= 0)
			continue
		v[++n] = rate[c, a, i] / rate[c, b, i]
	}
	R["n"] = n
	if (!n)
		return 0
	isort(v, n)
	j = ci_j(n)
	R["med"] = median(v, n)
	R["min"] = v[1]
	R["max"] = v[n]
	R["lo"] = v[j]
	R["hi"] = v[n + 1 - j]
	return n
}

function rate_med(c, p,    i, n, v) {
	n = 0
	for (i = 1; i <= nalt[c]; i++)
		if ((c, p, i) in rate)
			v[++n] = rate[c, p, i]
	isort(v, n)
	return n ? sprintf("%.0f", median(v, n)) : "-"
}

function r3(x) {
	return sprintf("%.3f", x)
}

function summary(c, a, b) {
	if (!ratios(c, a, b))
		return "-"
	return sprintf("%s [%s, %s]", r3(R["med"]), r3(R["lo"]), r3(R["hi"]))
}

BEGIN {
	CI_MIN = 0.85
	# "met" wants the interval no more than 5 % below sbitmap
	MET_LO = 0.95
}

{
	sub(/\r$/, "")
}

/@@KPAIRINFO / {
	kv(substr($0, index($0, "@@KPAIRINFO ") + 12), f)
	defpol[f["side"]] = f["default_policy"]
	next
}

/@@KPAIR / {
	kv(substr($0, index($0, "@@KPAIR ") + 8), f)
	p = f["peer"] == "sbitmap" ? "sbitmap" : f["side"]
	c = f["service_us"] SUBSEP f["limit"] SUBSEP f["cfg_policy"]
	if (!(c in nalt)) {
		cfg[++ncfg] = c
		nalt[c] = 0
	}
	i = f["alt"] + 0
	if (i > nalt[c])
		nalt[c] = i
	rate[c, p, i] = f["rate"] + 0
	peers[p] = 1
	if (p == "new") {
		waited[c] += f["waited"]
		wakeups[c] += f["wakeups"]
		spur[c] += f["spurious"]
		pwk[c] += f["pool_wakeups"]
		pgr[c] += f["pool_grants"]
	}
	hdr = "S=" f["sessions"] " sessions, maxconn " f["maxconn"] ", reserve " f["reserve"] ", " (f["run_ms"] != "" ? f["run_ms"] : f["ms"] " (measured)") " ms a run"
	next
}

END {
	if (!ncfg)
		exit
	base = "base" in peers
	print "kbench, bufpool against sbitmap_queue in adjacent runs (tools/bench/kbench-pairs-vm.sh): " \
	      hdr "; default policy " \
	      defpol["new"] (base ? " (before: " defpol["base"] ")" : "") "."
	print ""
	print "| service us | limit | policy | n | bufpool/sbitmap median | min | max | CI of the median | bufpool sessions/s | sbitmap sessions/s | wake-ups/wait (spurious; pool wake-ups/grants) | after/before median [CI] | before/sbitmap median [CI] | verdict |"
	print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	for (k = 1; k <= ncfg; k++) {
		c = cfg[k]
		split(c, kk, SUBSEP)
		pol = kk[3]
		wpw = waited[c] > 0 ? r3(wakeups[c] / waited[c]) : "-"
		wcol = sprintf("%s (%d; %d/%d)", wpw, spur[c], pwk[c], pgr[c])
		ab = base ? summary(c, "new", "base") : "-"
		bs = base ? summary(c, "base", "sbitmap") : "-"
		if (!ratios(c, "new", "sbitmap")) {
			vd = "-"
			row = "| 0 | - | - | - | - "
		} else {
			if (R["med"] >= 1 && R["lo"] >= MET_LO &&
			    (wpw == "-" || wpw == "1.000"))
				vd = "**met**"
			else if (R["med"] >= 1 && (wpw == "-" || wpw == "1.000"))
				vd = "noisy (not met)"
			else if (R["hi"] < 1 || (wpw != "-" && wpw != "1.000"))
				vd = "**not met**"
			else
				vd = "tie within noise (not met)"
			if (pol == defpol["new"]) {
				ndef++
				nmet += vd == "**met**"
				nnot += vd == "**not met**"
				nnoisy += vd == "noisy (not met)"
			}
			row = sprintf("| %d | %s | %s | %s | [%s, %s] (%.1f %%) ", R["n"], r3(R["med"]),
				      r3(R["min"]), r3(R["max"]), r3(R["lo"]), r3(R["hi"]),
				      100 * ci_cover(R["n"]))
		}
		printf "| %s | %s | %s%s %s| %s | %s | %s | %s | %s | %s |\n", kk[1], kk[2], pol,
		       pol == defpol["new"] ? " (default)" : "", row, rate_med(c, "new"),
		       rate_med(c, "sbitmap"), wcol, ab, bs, vd
	}
	print ""
	print "Ratios are taken within an alternation (its runs are adjacent; the order of the peers rotates from one alternation to the next), then summarized over the n alternations: median, min, max, and the order-statistics confidence interval of the median, [x(j), x(n+1-j)] of the sorted ratios with coverage 1 - 2 P(Bin(n, 1/2) < j) >= " \
	      100 * CI_MIN " % where n allows it (n = 7: 2nd and 6th, 87.5 %), else min..max.  Sessions/s are medians over the alternations.  " \
	      "wake-ups/wait: all the bufpool runs' wake-ups inside buffer requests over their requests that waited; spurious: wake-ups after which the thread slept again; pool wake-ups/grants: the pool's own counters."
	print ""
	print "Verdict (item 3, this tree's module): **met** if the median bufpool/sbitmap ratio >= 1.000, the interval's lower end >= " MET_LO " and wake-ups/wait is 1.000 (to three decimals) or nothing waited; \"noisy (not met)\" if the median >= 1.000 but the interval reaches below " MET_LO "; **not met** if the interval's upper end < 1.000, or wake-ups/wait is not 1.000; otherwise \"tie within noise (not met)\"."
	if (ndef)
		printf "\nItem 3 on the default policy (%s): met in %d of %d configurations, noisy in %d, not met in %d, a tie within noise in %d.\n",
		       defpol["new"], nmet, ndef, nnoisy, nnot, ndef - nmet - nnot - nnoisy
}
