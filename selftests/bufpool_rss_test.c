// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool RSS selftest: a mapped buffer counts in its holder's resident
 * set once touched (RssFile of /proc/self/status), and stops counting
 * when it is released (its mapping revoked).
 *
 * The pool is set to limit 2, reserve 0 through sysfs, and put back.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_sys_util.h"

FIXTURE(rss) {
	int fd;
	size_t bs;
	struct bp_tunables saved;
};

FIXTURE_SETUP(rss)
{
	struct bufpool_stats st;

	self->fd = -1;
	ASSERT_EQ(0, bp_tunables_save(&self->saved)) TH_LOG(BP_POOL_NEEDS);
	self->fd = bp_open(0);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", BP_DEV, strerror(errno));
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	ASSERT_EQ(0, bp_tunables_set(2, 0, 0));
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	self->bs = st.bufsize;
}

FIXTURE_TEARDOWN(rss)
{
	close(self->fd);
	EXPECT_EQ(0, bp_tunables_restore(&self->saved));
}

/* A "Name:   N kB" line of /proc/self/status, in kB; -1 if absent. */
static long status_kb(const char *name)
{
	char line[256];
	size_t len = strlen(name);
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':') {
			kb = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/*
 * Before 6.2 a task counts its own page faults apart and adds them to its
 * mm's counters every 64 faults: fault in fresh anonymous pages so that
 * the file pages' count is up to date when it is read.
 */
static void settle_rss(void)
{
	size_t pg = getpagesize(), n = 200, i;
	char *a = mmap(NULL, n * pg, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (a == MAP_FAILED)
		return;
	for (i = 0; i < n; i++)
		__atomic_store_n(&a[i * pg], 1, __ATOMIC_RELAXED);
	munmap(a, n * pg);
}

TEST_F(rss, mapped_buffer_counts)
{
	long before, touched, released, bs_kb = self->bs / 1024;
	char *p;
	size_t off;
	__u32 x;

	ASSERT_EQ(0, bp_try(self->fd, BP_NORM, 1, &x));
	p = mmap(NULL, self->bs, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		 (off_t)x * self->bs);
	ASSERT_NE(MAP_FAILED, p);
	settle_rss();
	before = status_kb("RssFile");
	if (before < 0)
		SKIP(return, "no RssFile in /proc/self/status");
	for (off = 0; off < self->bs; off += getpagesize())
		__atomic_store_n(&p[off], 1, __ATOMIC_RELAXED);
	settle_rss();
	touched = status_kb("RssFile");
	EXPECT_GE(touched - before, bs_kb)
		TH_LOG("RssFile %ld kB -> %ld kB after touching %ld kB",
		       before, touched, bs_kb);
	ASSERT_EQ(0, bp_release(self->fd, &x, 1));
	/* revoked: the pages left the resident set */
	settle_rss();
	released = status_kb("RssFile");
	EXPECT_GE(touched - released, bs_kb)
		TH_LOG("RssFile %ld kB -> %ld kB after RELEASE", touched,
		       released);
	munmap(p, self->bs);
}

TEST_HARNESS_MAIN
