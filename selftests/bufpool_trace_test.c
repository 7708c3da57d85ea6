// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool tracepoint selftest: enable events/bufpool in tracefs, run a
 * known sequence on entities whose ids BUFPOOL_IOC_INFO reports (served at
 * once, queued, cancelled, released, granted after waiting, closed) and
 * check every event and field: "entity=N class=C count=K wait_ns=W" for
 * bufpool_{alloc,queue,grant,cancel} and "entity=N count=K in_use=U" for
 * bufpool_release.  SKIPs without tracefs or the events.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_trace_util.h"

#define MAX_EV		64

struct ev {
	char name[32];
	unsigned long long entity, class, count, wait_ns, in_use;
};

/* Parse the bufpool events of the trace buffer; how many, or -errno. */
static int read_events(struct ev *ev, int max)
{
	FILE *f = fopen(TRACEFS "/trace", "r");
	char line[512], *p, *q;
	int n = 0;

	if (!f)
		return -errno;
	while (n < max && fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		/* "comm-pid [cpu] flags time: bufpool_x: fields" */
		p = strstr(line, ": bufpool_");
		if (!p)
			continue;
		p += 2;
		q = strchr(p, ':');
		if (!q || q - p >= (long)sizeof(ev[n].name))
			continue;
		memset(&ev[n], 0, sizeof(ev[n]));
		memcpy(ev[n].name, p, q - p);
		if (!strcmp(ev[n].name, "bufpool_release")) {
			if (sscanf(q + 1, " entity=%llu count=%llu in_use=%llu",
				   &ev[n].entity, &ev[n].count,
				   &ev[n].in_use) != 3)
				continue;
		} else if (sscanf(q + 1,
				  " entity=%llu class=%llu count=%llu wait_ns=%llu",
				  &ev[n].entity, &ev[n].class, &ev[n].count,
				  &ev[n].wait_ns) != 4) {
			continue;
		}
		n++;
	}
	fclose(f);
	return n;
}

/* The next event of @entity from *@i on; NULL if none. */
static struct ev *next_of(struct ev *ev, int n, int *i, __u64 entity)
{
	for (; *i < n; (*i)++)
		if (ev[*i].entity == entity)
			return &ev[(*i)++];
	return NULL;
}

static __u64 entity_of(int fd)
{
	struct bufpool_info info;

	return bp_info(fd, &info) ? 0 : info.entity_id;
}

FIXTURE(trace) {
	int fd;
	struct bufpool_stats st;
	struct bp_tunables saved;
	int record_cmd;		/* options/record-cmd before */
};

FIXTURE_SETUP(trace)
{
	struct stat s;

	self->record_cmd = -1;
	if (!tr_mounted())
		SKIP(return, "no tracefs at %s", TRACEFS);
	if (stat(TRACEFS "/events/bufpool", &s))
		SKIP(return, "no bufpool events in %s/events", TRACEFS);
	self->fd = bp_open(0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	/* a pool one ALLOC can fill */
	ASSERT_EQ(0, bp_tunables_save(&self->saved));
	ASSERT_EQ(0, bp_tunables_set(16, 2, 0));
	ASSERT_EQ(0, bp_stats(self->fd, &self->st));
	ASSERT_EQ(0, tr_write("tracing_on", "0"));
	ASSERT_EQ(0, tr_write("trace", ""));
	self->record_cmd = tr_cmd_off();
	ASSERT_LE(0, self->record_cmd);
	ASSERT_EQ(0, tr_write("events/bufpool/enable", "1"));
	ASSERT_EQ(0, tr_write("tracing_on", "1"));
}

FIXTURE_TEARDOWN(trace)
{
	tr_write("events/bufpool/enable", "0");
	tr_cmd_restore(self->record_cmd);
	tr_write("trace", "");
	close(self->fd);
	EXPECT_EQ(0, bp_tunables_restore(&self->saved));
}

TEST_F(trace, known_sequence)
{
	unsigned int limit = self->st.limit, r = self->st.reserve;
	int a = self->fd, b = bp_open(O_NONBLOCK), c = bp_open(O_NONBLOCK);
	__u64 ea = entity_of(a), eb = entity_of(b), ec = entity_of(c);
	__u32 ids[BUFPOOL_ALLOC_MAX], one[1];
	struct ev ev[MAX_EV], *e;
	int n, i;

	ASSERT_LE(0, b);
	ASSERT_LE(0, c);
	ASSERT_NE(0ULL, ea);
	EXPECT_NE(ea, eb);
	EXPECT_NE(eb, ec);

	/* A: the whole pool at once; B: NORMAL 1 queued; C: LOW 2 queued */
	ASSERT_EQ(0, bp_try(a, BP_CRIT, limit, ids));
	ASSERT_EQ(-EAGAIN, bp_alloc(b, BP_NORM, 1, one));
	ASSERT_EQ(-EAGAIN, bp_alloc(c, BP_LOW, 2, ids + limit));
	bp_msleep(5);
	/* C gives up; A gives back enough for B (1 + the reserve) */
	ASSERT_EQ(0, bp_cancel(c));
	ASSERT_EQ(0, bp_release(a, ids, r + 1));
	ASSERT_TRUE(bp_readable(b, BP_PATIENCE_MS));
	ASSERT_EQ(0, bp_alloc(b, BP_NORM, 1, one));
	/* B closes holding 1, A closes holding the rest */
	close(b);
	close(a);
	self->fd = -1;
	ASSERT_EQ(0, bp_wait_in_use(c, 0, BP_PATIENCE_MS));
	ASSERT_EQ(0, tr_write("tracing_on", "0"));

	n = read_events(ev, MAX_EV);
	ASSERT_LT(0, n) TH_LOG("no bufpool events in the trace");

	i = 0;
	e = next_of(ev, n, &i, ea);
	ASSERT_NE(NULL, e);
	EXPECT_STREQ("bufpool_alloc", e->name);
	EXPECT_EQ((__u64)BP_CRIT, e->class);
	EXPECT_EQ(limit, e->count);
	EXPECT_EQ(0ULL, e->wait_ns);
	e = next_of(ev, n, &i, ea);
	ASSERT_NE(NULL, e);
	EXPECT_STREQ("bufpool_release", e->name);
	EXPECT_EQ(r + 1, e->count);
	EXPECT_EQ(limit - r - 1, e->in_use);
	e = next_of(ev, n, &i, ea);
	ASSERT_NE(NULL, e);
	EXPECT_STREQ("bufpool_release", e->name);
	EXPECT_EQ(limit - r - 1, e->count);
	EXPECT_EQ(0ULL, e->in_use);	/* B closed first */
	EXPECT_EQ(NULL, next_of(ev, n, &i, ea));

	i = 0;
	e = next_of(ev, n, &i, eb);
	ASSERT_NE(NULL, e);
	EXPECT_STREQ("bufpool_queue", e->name);
	EXPECT_EQ((__u64)BP_NORM, e->class);
	EXPECT_EQ(1ULL, e->count);
	e = next_of(ev, n, &i, eb);
	ASSERT_NE(NULL, e);
	EXPECT_STREQ("bufpool_grant", e->name);
	EXPECT_EQ((__u64)BP_NORM, e->class);
	EXPECT_EQ(1ULL, e->count);
	EXPECT_LT(0ULL, e->wait_ns);
	e = next_of(ev, n, &i, eb);
	ASSERT_NE(NULL, e);
	EXPECT_STREQ("bufpool_release", e->name);
	EXPECT_EQ(1ULL, e->count);
	EXPECT_EQ(limit - r - 1, e->in_use);
	EXPECT_EQ(NULL, next_of(ev, n, &i, eb));

	i = 0;
	e = next_of(ev, n, &i, ec);
	ASSERT_NE(NULL, e);
	EXPECT_STREQ("bufpool_queue", e->name);
	EXPECT_EQ((__u64)BP_LOW, e->class);
	EXPECT_EQ(2ULL, e->count);
	e = next_of(ev, n, &i, ec);
	ASSERT_NE(NULL, e);
	EXPECT_STREQ("bufpool_cancel", e->name);
	EXPECT_EQ((__u64)BP_LOW, e->class);
	EXPECT_EQ(2ULL, e->count);
	EXPECT_LT(0ULL, e->wait_ns);
	EXPECT_EQ(NULL, next_of(ev, n, &i, ec));

	/* order across entities: B's grant follows A's first release */
	for (i = 0; i < n; i++)
		if (!strcmp(ev[i].name, "bufpool_grant"))
			break;
	ASSERT_LT(i, n);
	EXPECT_STREQ("bufpool_release", ev[i - 1].name);
	EXPECT_EQ(ea, ev[i - 1].entity);
	close(c);
}

TEST_HARNESS_MAIN
