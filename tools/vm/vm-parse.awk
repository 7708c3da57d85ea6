# SPDX-License-Identifier: GPL-2.0
#
# vm-parse.awk - judge the serial console log of a bufpool VM run.
#
# Reads the markers of tools/vm/vm-init.sh and the kselftest TAP between
# them.  Prints each failure, a line per program, the timings, and last
# the line "N passed, N failed".  Exit status 1 when anything failed.
#
# Variables (-v): smp=<CPUs asked for>, timings="<text>",
#                 timedout=<1 if the host timeout killed the VM>,
#                 failed_stages="<host stages that failed, e.g. lint>"
#
# A failure is: a "not ok" line that is not "# SKIP" (this includes the
# init's own insmod/rmmod/dmesg/taint checks), a kselftest program without
# a plan, with fewer/more results than planned, without its "# Totals"
# line or with a bad exit status, a program without an end marker, no
# final "@@BUFPOOL done" marker, and no results at all.

function fail(msg) {
	failed++
	failures[++nfail] = msg
}

function result(line, where,    skip) {
	skip = (line ~ /#[ \t]*[Ss][Kk][Ii][Pp]/)
	if (skip)
		skipped++
	else if (line ~ /^not ok/)
		fail(where ": " line)
	else
		passed++
	if (line ~ /^not ok/ && !skip)
		blk_notok++
	else if (skip)
		blk_skip++
	else
		blk_ok++
}

function end_block(rc, ended) {
	if (kind == "kselftest") {
		if (!ended)
			fail(where ": no end marker (VM crashed or hung inside it)")
		else if (plan < 0)
			fail(where ": no TAP plan (1..N)")
		else if (nres != plan)
			fail(where ": " nres " results for a plan of " plan)
		else if (!totals)
			fail(where ": no '# Totals' line (exited early?)")
		if (ended && rc != 0 && rc != 4) {
			if (rc == 137)
				fail(where ": killed by the VM's per-program timeout")
			else if (blk_notok == 0)
				fail(where ": exit status " rc)
		}
	} else if (!ended) {
		fail(where ": no end marker (VM crashed or hung inside it)")
	}
	if (!ended)
		rc = "?"
	if (kind == "kselftest")
		res = sprintf("%d ok, %d not ok, %d skip, rc=%s",
			      blk_ok, blk_notok, blk_skip, rc)
	else
		res = "rc=" rc
	summary[++nprog] = sprintf("  %-40s %s", where, res)
	inblk = 0
}

BEGIN {
	passed = failed = skipped = 0
	vm_plan = -1
	inblk = 0
}

{
	sub(/\r+$/, "")
	# SeaBIOS leaves terminal escapes in front of the first line.
	gsub(/\033\[[0-9;?]*[A-Za-z]/, "")
	gsub(/\033./, "")
	# and its last line has no newline: a marker may start mid-line.
	if ((i = index($0, "@@BUFPOOL ")) > 1)
		$0 = substr($0, i)
}

/^@@BUFPOOL boot / {
	boot = $0
	sub(/^@@BUFPOOL boot /, "", boot)
	for (i = 3; i <= NF; i++)
		if ($i ~ /^nproc=/)
			nproc = substr($i, 7)
	next
}

/^@@BUFPOOL phase / {
	phase_params[$3] = $0
	next
}

/^@@BUFPOOL test-begin / {
	if (inblk)
		end_block("", 0)
	inblk = 1
	where = "phase " $3 ": " $4
	kind = $5
	plan = -1
	nres = 0
	totals = 0
	blk_ok = blk_notok = blk_skip = 0
	next
}

/^@@BUFPOOL test-end / {
	rc = $5
	sub(/^rc=/, "", rc)
	if (inblk)
		end_block(rc + 0, 1)
	next
}

/^@@BUFPOOL summary / {
	vm_summary = $0
	next
}

/^@@BUFPOOL done/ {
	done = 1
	next
}

# A kselftest program's TAP (top level only; kernel lines start with "[").
inblk && kind == "kselftest" {
	if ($0 ~ /^1\.\.[0-9]+/) {
		plan = substr($1, 4) + 0
	} else if ($0 ~ /^(not )?ok [0-9]+/) {
		nres++
		result($0, where)
	} else if ($0 ~ /^# Totals: /) {
		totals = 1
	}
	next
}

inblk { next }

# The init's own TAP stream, outside the program blocks.
/^(not )?ok [0-9]+/ {
	vm_res++
	result($0, "vm")
	next
}

/^1\.\.[0-9]+$/ {
	vm_plan = substr($0, 4) + 0
	next
}

END {
	n = split(failed_stages, st, " ")
	for (i = 1; i <= n; i++)
		fail("host: " st[i])
	if (inblk)
		end_block("", 0)
	if (timedout)
		fail("vm: killed by the host timeout")
	if (!boot)
		fail("vm: /init never started (no '@@BUFPOOL boot' marker)")
	if (!done)
		fail("vm: no '@@BUFPOOL done' marker: the VM crashed, hung or timed out")
	else if (vm_plan != vm_res)
		fail("vm: " vm_res " init results for a plan of " vm_plan)
	if (passed + failed == 0)
		fail("vm: no test results at all")

	if (boot)
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
