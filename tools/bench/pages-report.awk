# SPDX-License-Identifier: GPL-2.0
#
# pages-report.awk - the "@@PAGES" lines of a bench console log
# (tools/bench/bufpool-bench-pages.sh) as two markdown tables: the cost
# of ALLOC + first touch + RELEASE per backend, and allocation successes
# under fragmented memory.

function part(v,	a) {
	split(v, a, ",")
	return sprintf("%.1f (%.1f-%.1f)", a[1] / 1000, a[2] / 1000, a[3] / 1000)
}

/@@PAGES / {
	sub(/.*@@PAGES /, "")
	delete f
	for (i = 1; i <= NF; i++) {
		split($i, kv, "=")
		f[kv[1]] = substr($i, length(kv[1]) + 2)
	}
	if (f["test"] == "cycle")
		cyc[++nc] = sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |",
			f["backend"], f["bufsize"], f["phase"] " x" f["n"],
			part(f["alloc"]), part(f["mmap"]), part(f["touch"]),
			part(f["munmap"]), part(f["release"]), part(f["total"]))
	else if (f["test"] == "frag")
		frg[++nf] = sprintf("| %s | %s | %d MiB | %d / %d | %d MiB | %d MiB |",
			f["backend"], f["bufsize"], f["fragmented_kb"] / 1024,
			f["ok"], f["attempts"], f["ok"] * f["bufsize"] / 1048576,
			f["free_kb_before"] / 1024)
}

END {
	if (!nc && !nf)
		exit
	print "ALLOC + mmap + first touch of every page + munmap + RELEASE, µs: median (p10-p90)"
	print ""
	print "| backend | bufsize | round | ALLOC | mmap | touch | munmap | RELEASE | total |"
	print "|---|---|---|---|---|---|---|---|---|"
	for (i = 1; i <= nc; i++)
		print cyc[i]
	print ""
	print "ALLOC (NOQUEUE: GFP_NOWAIT growth only) after fragmenting free memory"
	print ""
	print "| backend | bufsize | fragmented | ALLOC ok | got | free before |"
	print "|---|---|---|---|---|---|"
	for (i = 1; i <= nf; i++)
		print frg[i]
}
