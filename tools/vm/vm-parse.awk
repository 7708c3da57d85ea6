# SPDX-License-Identifier: GPL-2.0
#
# vm-parse.awk - judge the serial console log of a bufpool VM run.
#
# The VM's /init (tools/vm/vm-init.sh) judges each program by its exit
# status and counts its tests; this adds them up and catches what the
# guest cannot say: a crash or hang (a program that never ended, no
# "@@BUFPOOL done"), the host's timeout, earlier host stages that failed.
# Prints a line per program, each failure, and last "N passed, N failed".
# Exit status 1 when anything failed.
#
# Variables (-v): smp=<CPUs asked for>, timings="<text>",
#                 timedout=<1 if the host timeout killed the VM>,
#                 failed_stages="<host stages that failed, e.g. lint>"

BEGIN {
	passed = failed = skipped = 0
}

function fail(msg) {
	failed++
	failures[++nfail] = msg
}

# "key=value" words from field 5 on into kv[]
function fields(    i, eq) {
	delete kv
	for (i = 5; i <= NF; i++)
		if ((eq = index($i, "=")) > 0)
			kv[substr($i, 1, eq - 1)] = substr($i, eq + 1)
}

{
	sub(/\r+$/, "")
	# SeaBIOS leaves terminal escapes in front of the first line, and
	# its last line has no newline: a marker may start mid-line.
	gsub(/\033\[[0-9;?]*[A-Za-z]/, "")
	gsub(/\033./, "")
	if ((i = index($0, "@@BUFPOOL ")) > 1)
		$0 = substr($0, i)
}

/^@@BUFPOOL boot / {
	boot = substr($0, 16)
	for (i = 3; i <= NF; i++)
		if ($i ~ /^nproc=/)
			nproc = substr($i, 7)
}

/^@@BUFPOOL run / {
	running = "phase " $3 ": " $4
}

/^@@BUFPOOL result / {
	fields()
	running = ""
	where = "phase " $3 ": " $4
	passed += kv["pass"]
	skipped += kv["skip"]
	if (kv["fail"] > 0) {
		failed += kv["fail"]
		failures[++nfail] = where ": " kv["fail"] " failed, exit status " kv["rc"]
	}
	summary[++nprog] = sprintf("  %-36s %3d passed, %d failed, %d skipped, rc=%s, %ss",
				   where, kv["pass"], kv["fail"], kv["skip"],
				   kv["rc"], kv["secs"])
}

/^@@BUFPOOL check ok / {
	passed++
}

/^@@BUFPOOL check FAIL / {
	fail(substr($0, 22))
}

# The failing tests themselves, to find them without reading the log.
running != "" && /^not ok / {
	failures[++nfail] = running ": " $0
}

/^@@BUFPOOL done/ {
	done = 1
}

END {
	n = split(failed_stages, st, " ")
	for (i = 1; i <= n; i++)
		fail("host: " st[i])
	if (running != "")
		fail(running ": never ended (the VM crashed or hung inside it)")
	if (timedout)
		fail("vm: killed by the host timeout")
	if (boot == "")
		fail("vm: /init never started (no '@@BUFPOOL boot' marker)")
	else if (!done)
		fail("vm: no '@@BUFPOOL done' marker: the VM crashed, hung or timed out")
	if (passed + failed == 0)
		fail("vm: no test results at all")

	if (boot != "")
		print "vm: " boot
	if (smp && nproc && nproc != smp)
		print "vm: warning: " nproc " CPUs online, " smp " asked for"
	for (i = 1; i <= nprog; i++)
		print summary[i]
	for (i = 1; i <= nfail; i++)
		print "FAIL: " failures[i]
	if (skipped)
		print skipped " skipped"
	if (timings != "")
		print "timings: " timings
	print passed " passed, " failed " failed"
	exit failed ? 1 : 0
}
