#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# io-report.sh - the I/O rows of `make bench`: the "@@IOBENCH key=value"
# lines tools/bufpool-iobench printed in the bench VM's console log, as
# two markdown tables (BENCHMARKS.md, "I/O into pool buffers"), one row
# per phase (its module parameters name it).
#
#   io-report.sh LOG
set -euo pipefail

tr -d '\r' < "$1" | awk '
function kv(line,    n, i, a, f) {
	delete v
	n = split(line, f, " ")
	for (i = 2; i <= n; i++) {
		split(f[i], a, "=")
		v[a[1]] = a[2]
	}
}
/^# phase [0-9]+: insmod bufpool/ {
	load = $0
	sub(/^# phase [0-9]+: insmod /, "", load)
	sub(/:.*/, "", load)
}
/^@@IOBENCH row=odirect / {
	kv($0)
	od[++nod] = sprintf("| %s | %s | %s | %s | %s (%s-%s) |", load, v["len"],
		v["pool_MBps"], v["malloc_MBps"], v["ratio"], v["ratio_q1"],
		v["ratio_q3"])
	set = v["rounds"] " rounds of " v["round_ms"] " ms"
}
/^@@IOBENCH row=zerocopy / {
	kv($0)
	zc[++nzc] = sprintf("| %s | %s | %s | %s | %s | %s (%s-%s) | %s of %s |",
		load, v["len"], v["pool_zc_MBps"], v["malloc_send_MBps"],
		v["malloc_zc_MBps"], v["ratio"], v["ratio_q1"], v["ratio_q3"],
		v["copied"], v["completed"])
	set = v["rounds"] " rounds of " v["round_ms"] " ms"
}
END {
	if (!nod && !nzc) {
		print "bench: no I/O rows in the log (bufpool-iobench)"
		exit
	}
	print ""
	print "I/O into pool buffers (medians of " set " per mode, alternating):"
	print ""
	print "| O_DIRECT read from null_blk | bytes | pool MB/s | malloc MB/s | pool / malloc (quartiles) |"
	print "|---|---:|---:|---:|---:|"
	for (i = 1; i <= nod; i++)
		print od[i]
	print ""
	print "| TCP over lo | message | MSG_ZEROCOPY pool MB/s | send() malloc MB/s | MSG_ZEROCOPY malloc MB/s | pool ZC / plain (quartiles) | completions copied |"
	print "|---|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= nzc; i++)
		print zc[i]
}'
