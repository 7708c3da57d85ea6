// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool deadlock selftest: HAProxy's seed-002 scenario in miniature.
 *
 * S sessions (processes, one fd each) take a request buffer (NORMAL) up
 * front, more sessions than the pool has buffers, and hold it while they
 * wait for a server that accepts one session at a time (maxconn 1: a
 * one-byte token in a pipe).  The session holding the token needs a
 * response buffer (CRITICAL) before it can give both back and pass the
 * token on.
 *
 * With reserve 0 the requests eat every buffer, the response can never be
 * served and nothing moves: the test checks that the stall is real (the
 * server's CRITICAL request stays queued, no session completes) and that
 * killing everyone gives every buffer back.  With a reserve of 1 or more
 * every session completes.  The pool's reserve decides which is asserted;
 * the variants run it without a reserve, with one and with two.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_sys_util.h"

#define EXTRA_SESSIONS	4	/* sessions beyond the pool's limit */
#define MAX_SESSIONS	80
#define STALL_MS	2000	/* "nothing moves" is watched this long */

FIXTURE(deadlock) {
	int fd;
	struct bufpool_stats st;
	int nr;
	pid_t pids[MAX_SESSIONS];
	int token[2];		/* the server's one connection slot */
	int gate[2];		/* closed once every session has asked */
	int done[2];		/* one byte per completed session */
};

FIXTURE_VARIANT(deadlock) {
	struct bp_pool pool;
};

FIXTURE_VARIANT_ADD(deadlock, no_reserve) {
	.pool = { .limit = 8, .reserve = 0 },
};

FIXTURE_VARIANT_ADD(deadlock, reserve_1) {
	.pool = { .limit = 8, .reserve = 1 },
};

FIXTURE_VARIANT_ADD(deadlock, small) {
	.pool = { .limit = 16, .reserve = 2 },
};

FIXTURE_SETUP(deadlock)
{
	int ret;

	self->nr = 0;
	ret = bp_pool_setup(&variant->pool);
	if (ret == -ENODEV)
		SKIP(return, BP_POOL_NEEDS);
	ASSERT_EQ(0, ret);
	self->fd = bp_open(0);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", BP_DEV, strerror(errno));
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	ASSERT_EQ(0, bp_stats(self->fd, &self->st));
	ASSERT_EQ(0, pipe2(self->token, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(self->gate, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(self->done, O_CLOEXEC));
	ASSERT_EQ(0, bp_put(self->token[1], 'T'));
}

FIXTURE_TEARDOWN(deadlock)
{
	int i;

	for (i = 0; i < self->nr; i++)
		kill(self->pids[i], SIGKILL);
	for (i = 0; i < self->nr; i++)
		bp_reap(self->pids[i]);
	close(self->fd);
	EXPECT_EQ(0, bp_pool_teardown());
}

/*
 * One session: request buffer, wait for everyone to have asked, then the
 * server slot, the response buffer, give both back, free the slot.
 */
static void session(struct _test_data_deadlock *self)
{
	__u32 req[1], rsp[1];
	int fd = bp_open(0);

	close(self->gate[1]);
	if (fd < 0 || bp_alloc(fd, BP_NORM, 1, req))
		_exit(1);
	if (bp_get(self->gate[0], -1) != -EPIPE)
		_exit(2);
	if (bp_get(self->token[0], -1) != 'T')
		_exit(3);
	if (bp_alloc(fd, BP_CRIT, 1, rsp))
		_exit(4);
	if (bp_release(fd, req, 1) || bp_release(fd, rsp, 1))
		_exit(5);
	if (bp_put(self->token[1], 'T'))
		_exit(6);
	bp_put(self->done[1], 'D');
	_exit(0);
}

/* Start the sessions; wait until every one has its buffer or queued. */
static void start_sessions(struct __test_metadata *_metadata,
			   struct _test_data_deadlock *self)
{
	unsigned int normal = bp_class_max(&self->st, BP_NORM);
	int s = (int)self->st.limit + EXTRA_SESSIONS, i;
	pid_t pid;

	for (i = 0; i < s; i++) {
		pid = bp_fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			session(self);
		self->pids[self->nr++] = pid;
	}
	/* NORMAL took all it may; the others queue behind it */
	ASSERT_EQ(0, bp_wait_in_use(self->fd, normal, BP_PATIENCE_MS));
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_NORM, s - normal,
				    BP_PATIENCE_MS));
	/* let them at the server */
	close(self->gate[1]);
	close(self->gate[0]);
}

static int count_done(int fd, int ms)
{
	int n = 0;

	while (bp_get(fd, ms) == 'D')
		n++;
	return n;
}

TEST_F_TIMEOUT(deadlock, maxconn1_server, 120)
{
	int s = (int)self->st.limit + EXTRA_SESSIONS, i, done;
	struct bufpool_stats a;

	/* (a SKIP in FIXTURE_SETUP does not stop the test on 6.1) */
	if (s > MAX_SESSIONS)
		SKIP(return, "limit %llu too large for this test",
		     (unsigned long long)self->st.limit);

	TH_LOG("limit %llu reserve %llu, %d sessions",
	       (unsigned long long)self->st.limit,
	       (unsigned long long)self->st.reserve, s);
	start_sessions(_metadata, self);

	if (self->st.reserve == 0) {
		/* the server's response can never be served */
		ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 1,
					    BP_PATIENCE_MS));
		done = count_done(self->done[0], STALL_MS);
		EXPECT_EQ(0, done);
		a = (struct bufpool_stats){ 0 };
		ASSERT_EQ(0, bp_stats(self->fd, &a));
		EXPECT_EQ(1ULL, a.queued[BP_CRIT]);
		EXPECT_EQ((__u64)(s - (int)a.limit), a.queued[BP_NORM]);
		EXPECT_EQ(a.limit, a.in_use);
		EXPECT_EQ(self->st.spurious_wakeups, a.spurious_wakeups);
		TH_LOG("stalled as expected without a reserve: %d of %d done",
		       done, s);
		/*
		 * Clean up.  A session may still complete while the others
		 * die (their buffers go to the server's request): it exits 0.
		 */
		for (i = 0; i < self->nr; i++)
			kill(self->pids[i], SIGKILL);
		for (i = 0; i < self->nr; i++) {
			int rc = bp_reap(self->pids[i]);

			EXPECT_TRUE(rc == 128 + SIGKILL || rc == 0)
				TH_LOG("session %d: %d", i, rc);
		}
		self->nr = 0;
	} else {
		done = 0;
		while (done < s) {
			int c = bp_get(self->done[0], BP_PATIENCE_MS);

			if (c != 'D')
				break;
			done++;
		}
		EXPECT_EQ(s, done)
			TH_LOG("only %d of %d sessions done", done, s);
		for (i = 0; i < self->nr; i++)
			EXPECT_EQ(0, bp_reap(self->pids[i]));
		self->nr = 0;
	}
	/* everything comes back either way */
	EXPECT_EQ(0, bp_wait_in_use(self->fd, 0, BP_PATIENCE_MS));
	ASSERT_EQ(0, bp_stats(self->fd, &a));
	EXPECT_EQ(0ULL, a.in_use);
	EXPECT_EQ(0ULL, bp_nr_queued(&a));
	EXPECT_EQ(self->st.spurious_wakeups, a.spurious_wakeups);
	/* since the set-up: earlier tests' failed requests woke too */
	EXPECT_EQ(a.grants_waited - self->st.grants_waited,
		  a.wakeups - self->st.wakeups);
}

TEST_HARNESS_MAIN
