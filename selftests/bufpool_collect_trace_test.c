// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool_collect tracepoint selftest: a granted request is reported when
 * its entity collects it, with the time since the grant
 * ("entity=N class=C count=K since_grant_ns=D"), on each way of
 * collecting: the ALLOC after the wake-up, a sleeper's own ALLOC, the
 * status page.  A grant made while the event was off is not reported.
 * SKIPs without tracefs or bufpool's events; fails if the module has
 * bufpool events but not this one.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_trace_util.h"

#define EV_DIR		"events/bufpool/"
#define MAX_EV		64
/* how long the granted buffer is left uncollected, at least */
#define HOLD_MS		20

struct cev {
	bool collect;	/* bufpool_collect, else bufpool_grant */
	unsigned long long entity, class, count, ns;
};

/* The bufpool_grant and bufpool_collect events traced; how many, or -errno. */
static int read_events(struct cev *ev, int max)
{
	FILE *f = fopen(TRACEFS "/trace", "re");
	char line[512], *p;
	int n = 0;

	if (!f)
		return -errno;
	while (n < max && fgets(line, sizeof(line), f)) {
		memset(&ev[n], 0, sizeof(ev[n]));
		p = strstr(line, ": bufpool_collect: ");
		if (p) {
			ev[n].collect = true;
			if (sscanf(p + 19,
				   "entity=%llu class=%llu count=%llu since_grant_ns=%llu",
				   &ev[n].entity, &ev[n].class, &ev[n].count,
				   &ev[n].ns) == 4)
				n++;
			continue;
		}
		p = strstr(line, ": bufpool_grant: ");
		if (p && sscanf(p + 17,
				"entity=%llu class=%llu count=%llu wait_ns=%llu",
				&ev[n].entity, &ev[n].class, &ev[n].count,
				&ev[n].ns) == 4)
			n++;
	}
	fclose(f);
	return n;
}

/* The @collect (else grant) events of @entity: how many; the last in *@out. */
static int events_of(struct cev *ev, int n, __u64 entity, bool collect,
		     struct cev *out)
{
	int i, found = 0;

	for (i = 0; i < n; i++)
		if (ev[i].entity == entity && ev[i].collect == collect) {
			*out = ev[i];
			found++;
		}
	return found;
}

static __u64 entity_of(int fd)
{
	struct bufpool_info info;

	return bp_info(fd, &info) ? 0 : info.entity_id;
}

/* Start tracing afresh with bufpool_grant on and bufpool_collect @collect. */
static int trace_start(bool collect)
{
	int ret;

	ret = tr_write("tracing_on", "0") ?:
	      tr_write("trace", "") ?:
	      tr_write(EV_DIR "bufpool_grant/enable", "1") ?:
	      tr_write(EV_DIR "bufpool_collect/enable", collect ? "1" : "0");
	return ret ?: tr_write("tracing_on", "1");
}

FIXTURE(ctrace) {
	int h;		/* holds the whole pool */
	__u32 held[BUFPOOL_ALLOC_MAX];
	unsigned int limit;
	struct bp_tunables saved;
	int record_cmd;		/* options/record-cmd before */
};

FIXTURE_SETUP(ctrace)
{
	struct bufpool_stats st;
	struct stat s;

	self->h = -1;
	self->record_cmd = -1;
	if (!tr_mounted())
		SKIP(return, "no tracefs at %s", TRACEFS);
	if (stat(TRACEFS "/" EV_DIR, &s))
		SKIP(return, "no bufpool events in %s/events", TRACEFS);
	ASSERT_EQ(0, stat(TRACEFS "/" EV_DIR "bufpool_collect", &s))
		TH_LOG("bufpool has events, but no bufpool_collect");
	self->h = bp_open(0);
	ASSERT_LE(0, self->h);
	ASSERT_EQ(0, bp_wait_idle(self->h));
	ASSERT_EQ(0, bp_tunables_save(&self->saved));
	ASSERT_EQ(0, bp_tunables_set(8, 1, 0));
	ASSERT_EQ(0, bp_stats(self->h, &st));
	self->limit = st.limit;
	self->record_cmd = tr_cmd_off();
	ASSERT_LE(0, self->record_cmd);
	/* the whole pool: every request below waits for one of these */
	ASSERT_EQ(0, bp_alloc(self->h, BP_CRIT, self->limit, self->held));
}

FIXTURE_TEARDOWN(ctrace)
{
	tr_write("tracing_on", "0");
	tr_write(EV_DIR "bufpool_grant/enable", "0");
	tr_write(EV_DIR "bufpool_collect/enable", "0");
	tr_cmd_restore(self->record_cmd);
	tr_write("trace", "");
	if (self->h >= 0)
		close(self->h);
	if (self->saved.limit)
		EXPECT_EQ(0, bp_tunables_restore(&self->saved));
}

/* A waiter woken by its grant, collecting it HOLD_MS later by ALLOC. */
TEST_F(ctrace, collect_by_alloc)
{
	int b = bp_open(O_NONBLOCK);
	__u64 eb = entity_of(b);
	struct cev ev[MAX_EV], g, c;
	__u32 id;
	int n;

	ASSERT_LE(0, b);
	ASSERT_NE(0ULL, eb);
	ASSERT_EQ(0, trace_start(true));
	ASSERT_EQ(-EAGAIN, bp_alloc(b, BP_NORM, 1, &id));
	ASSERT_EQ(0, bp_release(self->h, self->held, 2));
	ASSERT_TRUE(bp_readable(b, BP_PATIENCE_MS));
	bp_msleep(HOLD_MS);
	ASSERT_EQ(0, bp_alloc(b, BP_NORM, 1, &id));
	ASSERT_EQ(0, tr_write("tracing_on", "0"));

	n = read_events(ev, MAX_EV);
	ASSERT_EQ(1, events_of(ev, n, eb, false, &g));
	ASSERT_EQ(1, events_of(ev, n, eb, true, &c));
	EXPECT_EQ((__u64)BP_NORM, c.class);
	EXPECT_EQ(1ULL, c.count);
	/* a lower bound only: the buffer sat granted for HOLD_MS at least */
	EXPECT_LE(HOLD_MS * 1000000ULL, c.ns);
	close(b);
}

/* A sleeper in a blocking ALLOC collects its own grant when it wakes. */
TEST_F(ctrace, collect_by_sleeper)
{
	int b = bp_open(0);
	__u64 eb = entity_of(b);
	struct cev ev[MAX_EV], c;
	pid_t pid;
	int n;

	ASSERT_LE(0, b);
	ASSERT_EQ(0, trace_start(true));
	pid = bp_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		__u32 id;

		_exit(bp_alloc(b, BP_LOW, 1, &id) ? 1 : 0);
	}
	ASSERT_EQ(0, bp_wait_queued(self->h, BP_LOW, 1, BP_PATIENCE_MS));
	/* LOW leaves twice the reserve free: give back enough for it */
	ASSERT_EQ(0, bp_release(self->h, self->held, 3));
	ASSERT_EQ(0, bp_reap(pid));
	ASSERT_EQ(0, tr_write("tracing_on", "0"));

	n = read_events(ev, MAX_EV);
	ASSERT_EQ(1, events_of(ev, n, eb, true, &c));
	EXPECT_EQ((__u64)BP_LOW, c.class);
	EXPECT_EQ(1ULL, c.count);
	close(b);
}

/* The status page collects the grant as it is made. */
TEST_F(ctrace, collect_by_status_page)
{
	int b = bp_open(O_NONBLOCK);
	__u64 eb = entity_of(b);
	const struct bufpool_status *p;
	struct cev ev[MAX_EV], c;
	long long end;
	void *m;
	__u32 id;
	int n;

	ASSERT_LE(0, b);
	m = mmap(NULL, getpagesize(), PROT_READ, MAP_SHARED, b,
		 BUFPOOL_STATUS_OFFSET);
	ASSERT_NE(MAP_FAILED, m);
	p = m;
	ASSERT_EQ(0, trace_start(true));
	ASSERT_EQ(-EAGAIN, bp_alloc_t(b, BP_NORM, 1, BUFPOOL_ALLOC_STATUS, 0,
				      &id));
	ASSERT_EQ(0, bp_release(self->h, self->held, 2));
	end = bp_now_ms() + BP_PATIENCE_MS;
	while (__atomic_load_n(&p->grants, __ATOMIC_ACQUIRE) < 1 &&
	       bp_now_ms() < end)
		bp_msleep(1);
	ASSERT_EQ(1U, __atomic_load_n(&p->grants, __ATOMIC_ACQUIRE));
	ASSERT_EQ(0, tr_write("tracing_on", "0"));

	n = read_events(ev, MAX_EV);
	ASSERT_EQ(1, events_of(ev, n, eb, true, &c));
	EXPECT_EQ((__u64)BP_NORM, c.class);
	EXPECT_EQ(1ULL, c.count);
	munmap(m, getpagesize());
	close(b);
}

/*
 * A grant made while bufpool_collect was off has no time of grant: its
 * collection is not reported (it would be with a bogus delay), the next
 * one is.
 */
TEST_F(ctrace, not_for_a_grant_made_untraced)
{
	int b = bp_open(O_NONBLOCK);
	__u64 eb = entity_of(b);
	struct cev ev[MAX_EV], c;
	__u32 id[2];
	int n;

	ASSERT_LE(0, b);
	ASSERT_EQ(0, trace_start(false));
	ASSERT_EQ(-EAGAIN, bp_alloc(b, BP_NORM, 1, &id[0]));
	ASSERT_EQ(0, bp_release(self->h, self->held, 2));
	ASSERT_TRUE(bp_readable(b, BP_PATIENCE_MS));
	ASSERT_EQ(0, tr_write(EV_DIR "bufpool_collect/enable", "1"));
	ASSERT_EQ(0, bp_alloc(b, BP_NORM, 1, &id[0]));
	/* the second request waits for a buffer given back with it on */
	ASSERT_EQ(-EAGAIN, bp_alloc(b, BP_NORM, 1, &id[1]));
	ASSERT_EQ(0, bp_release(self->h, self->held + 2, 1));
	ASSERT_TRUE(bp_readable(b, BP_PATIENCE_MS));
	ASSERT_EQ(0, bp_alloc(b, BP_NORM, 1, &id[1]));
	ASSERT_EQ(0, tr_write("tracing_on", "0"));

	n = read_events(ev, MAX_EV);
	ASSERT_EQ(2, events_of(ev, n, eb, false, &c));
	EXPECT_EQ(1, events_of(ev, n, eb, true, &c));
	close(b);
}

TEST_HARNESS_MAIN
