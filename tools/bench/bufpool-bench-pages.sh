#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bufpool-bench-pages.sh - the memory backend's rows of `make bench`, run
# inside the VM as a program of a phase of tools/bench/vm-phases, once
# per backend (the module loaded with contig=1, then without): ALLOC +
# mmap + first touch + munmap + RELEASE, cold (the pool grows) and warm
# (from the cache), then allocation under fragmented memory.  Prints
# "@@PAGES key=value..." lines for tools/bench/pages-report.awk.
set -u

B=/bin/bufpool-pagebench
rc=0
$B --cycle -n 200 -r 5 || rc=1
$B --frag -n 4096 || rc=1
exit $rc
