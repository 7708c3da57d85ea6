// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool waiting selftests: FIFO order across many waiting processes, no
 * barging (a head needing 2 is not passed by a later request needing 1),
 * strict class priority, exactly one wake-up per grant (epoll on
 * O_NONBLOCK fds), collecting a grant and -EBUSY, timeouts and signals on
 * blocking fds, close/CANCEL/SIGKILL while queued or granted, and grants
 * racing with timeouts, CANCEL, close (one at a time, and a storm of them
 * against another process's releases) and exit (no buffer may ever be
 * lost).
 *
 * Each test starts by taking the whole pool on a "holder" fd, so that
 * every later request queues and the test decides, one RELEASE at a time,
 * what becomes free.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_sys_util.h"

#define NR_FIFO		8	/* waiting processes in the FIFO test */
#define NR_EPOLL	6	/* non-blocking waiters in the wake-count test */
#define NR_RACE		300	/* iterations of each race */

/* Children report on one pipe and leave when the quit pipe closes. */
static int report[2] = { -1, -1 };
static int quit[2] = { -1, -1 };

static void pipes_open(void)
{
	if (pipe2(report, O_CLOEXEC) || pipe2(quit, O_CLOEXEC))
		abort();
}

static void pipes_close(void)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (report[i] >= 0)
			close(report[i]);
		if (quit[i] >= 0)
			close(quit[i]);
		report[i] = -1;
		quit[i] = -1;
	}
}

/* In a child: wait for the parent to close the quit pipe. */
static void child_linger(void)
{
	close(quit[1]);
	while (bp_get(quit[0], -1) != -EPIPE)
		;
}

/*
 * Fork a process that makes one request (blocking, or with @noqueue one
 * that must be served at once) and reports @tag on success or '!' on
 * failure, then holds what it got until told to quit.
 */
static pid_t spawn_request(unsigned int class, unsigned int count,
			   bool noqueue, char tag)
{
	pid_t pid = bp_fork();
	__u32 ids[BUFPOOL_ALLOC_MAX];
	int fd, ret;

	if (pid)
		return pid;
	fd = bp_open(0);
	if (fd < 0)
		ret = -errno;
	else if (noqueue)
		ret = bp_try(fd, class, count, ids);
	else
		ret = bp_alloc(fd, class, count, ids);
	bp_put(report[1], ret ? '!' : tag);
	child_linger();
	_exit(ret ? 1 : 0);
}

/* A process that makes one blocking request: see spawn_request(). */
static pid_t spawn_waiter(unsigned int class, unsigned int count, char tag)
{
	return spawn_request(class, count, false, tag);
}

/* A process that holds @count CRITICAL buffers until killed. */
static pid_t spawn_holder(unsigned int count, char tag)
{
	return spawn_request(BP_CRIT, count, true, tag);
}

FIXTURE(wait) {
	int fd;			/* a blocking fd for probes */
	int hold;		/* holds the whole pool at the start */
	struct bufpool_stats st;
	__u32 *ids;		/* what hold holds */
	unsigned int next;	/* next of ids to give back */
	pid_t kids[16];
	int nr_kids;
};

/* Shared by the wait and fifo fixtures: a full pool held by self->hold. */
static void hold_all_setup(struct __test_metadata *_metadata,
			   struct _test_data_wait *self)
{
	self->fd = bp_open(0);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", BP_DEV, strerror(errno));
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	ASSERT_EQ(0, bp_stats(self->fd, &self->st));
	self->ids = calloc(self->st.limit, sizeof(__u32));
	ASSERT_NE(NULL, self->ids);
	self->hold = bp_open(0);
	ASSERT_LE(0, self->hold);
	ASSERT_EQ(0, bp_fill(self->hold, &self->st, self->ids));
	self->next = 0;
	self->nr_kids = 0;
	pipes_open();
}

static void hold_all_teardown(struct _test_data_wait *self)
{
	int i;

	for (i = 0; i < self->nr_kids; i++)
		kill(self->kids[i], SIGKILL);
	for (i = 0; i < self->nr_kids; i++)
		bp_reap(self->kids[i]);
	pipes_close();
	close(self->hold);
	close(self->fd);
	free(self->ids);
}

/* The pool as found (the module's parameters), and a small one. */
FIXTURE_VARIANT(wait) {
	struct bp_pool pool;
};

FIXTURE_VARIANT_ADD(wait, loaded) {
	.pool = { .limit = 0 },
};

FIXTURE_VARIANT_ADD(wait, small) {
	.pool = { .limit = 16, .reserve = 2 },
};

FIXTURE_SETUP(wait)
{
	int ret;

	ret = bp_pool_setup(&variant->pool);
	if (ret == -ENODEV)
		SKIP(return, BP_POOL_NEEDS);
	ASSERT_EQ(0, ret);
	hold_all_setup(_metadata, self);
}

FIXTURE_TEARDOWN(wait)
{
	hold_all_teardown(self);
	EXPECT_EQ(0, bp_pool_teardown());
}

/* Give back @n of the holder's buffers in one call. */
static int give_back(struct _test_data_wait *self, unsigned int n)
{
	int ret;

	if (self->next + n > self->st.limit)
		return -ERANGE;
	ret = bp_release(self->hold, self->ids + self->next, n);
	if (!ret)
		self->next += n;
	return ret;
}

static void add_kid(struct _test_data_wait *self, pid_t pid)
{
	if (pid > 0 && self->nr_kids < 16)
		self->kids[self->nr_kids++] = pid;
}

/* Let the children go, and check that each exited with 0. */
static int reap_kids(struct _test_data_wait *self)
{
	int i, bad = 0;

	close(quit[1]);
	quit[1] = -1;
	for (i = 0; i < self->nr_kids; i++)
		if (bp_reap(self->kids[i]))
			bad++;
	self->nr_kids = 0;
	return bad;
}

static struct bufpool_stats stats(int fd)
{
	struct bufpool_stats st;

	if (bp_stats(fd, &st))
		memset(&st, 0xff, sizeof(st));
	return st;
}

TEST_F(wait, no_barging_head_needs_two)
{
	struct bufpool_stats b, a;
	int probe = bp_open(0);
	__u32 id[1];

	ASSERT_LE(0, probe);
	if (self->st.limit < 3)
		SKIP(return, "needs limit >= 3");
	add_kid(self, spawn_waiter(BP_CRIT, 2, 'A'));
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 1, BP_PATIENCE_MS));
	add_kid(self, spawn_waiter(BP_CRIT, 1, 'B'));
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 2, BP_PATIENCE_MS));

	b = stats(self->fd);
	ASSERT_EQ(0, give_back(self, 1));
	/* B would fit but must not pass A */
	EXPECT_EQ(-ETIMEDOUT, bp_get(report[0], BP_QUIET_MS));
	a = stats(self->fd);
	EXPECT_EQ(2ULL, a.queued[BP_CRIT]);
	EXPECT_EQ(b.grants_waited, a.grants_waited);
	EXPECT_EQ(b.wakeups, a.wakeups);
	EXPECT_EQ(a.limit - 1, a.in_use);
	/* nor may a new request of the same class */
	EXPECT_EQ(-EAGAIN, bp_try(probe, BP_CRIT, 1, id));

	ASSERT_EQ(0, give_back(self, 1));
	EXPECT_EQ('A', bp_get(report[0], BP_PATIENCE_MS));
	EXPECT_EQ(1ULL, stats(self->fd).queued[BP_CRIT]);
	EXPECT_EQ(-ETIMEDOUT, bp_get(report[0], BP_QUIET_MS));
	ASSERT_EQ(0, give_back(self, 1));
	EXPECT_EQ('B', bp_get(report[0], BP_PATIENCE_MS));
	a = stats(self->fd);
	EXPECT_EQ(0ULL, bp_nr_queued(&a));
	EXPECT_EQ(b.grants_waited + 2, a.grants_waited);
	EXPECT_EQ(b.wakeups + 2, a.wakeups);
	EXPECT_EQ(b.spurious_wakeups, a.spurious_wakeups);
	EXPECT_EQ(0, reap_kids(self));
	close(probe);
}

TEST_F(wait, lower_class_does_not_pass_blocked_head)
{
	unsigned int hn = bp_headroom(&self->st, BP_NORM);
	unsigned int hl = bp_headroom(&self->st, BP_LOW);
	unsigned int nn = hl - hn + 2;	/* fits only with hl + 2 free */
	int probe = bp_open(0);
	struct bufpool_stats a;
	__u32 ids[BUFPOOL_ALLOC_MAX];

	ASSERT_LE(0, probe);
	if (nn > bp_class_max(&self->st, BP_NORM) || nn > BUFPOOL_ALLOC_MAX ||
	    2 * hl + 3 - hn > self->st.limit)
		SKIP(return, "pool too small for a NORMAL request of %u", nn);
	add_kid(self, spawn_waiter(BP_NORM, nn, 'N'));
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_NORM, 1, BP_PATIENCE_MS));
	add_kid(self, spawn_waiter(BP_LOW, 1, 'L'));
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_LOW, 1, BP_PATIENCE_MS));

	/* hl + 1 free: L would fit, N not; nobody is served */
	ASSERT_EQ(0, give_back(self, hl + 1));
	EXPECT_EQ(-ETIMEDOUT, bp_get(report[0], BP_QUIET_MS));
	a = stats(self->fd);
	EXPECT_EQ(1ULL, a.queued[BP_NORM]);
	EXPECT_EQ(1ULL, a.queued[BP_LOW]);
	/* a new LOW request may not pass either */
	EXPECT_EQ(-EAGAIN, bp_try(probe, BP_LOW, 1, ids));
	/* but a more critical one may */
	EXPECT_EQ(0, bp_try(probe, BP_CRIT, 1, ids));
	EXPECT_EQ(0, bp_release(probe, ids, 1));
	EXPECT_EQ(-ETIMEDOUT, bp_get(report[0], BP_QUIET_MS));

	ASSERT_EQ(0, give_back(self, 1));
	EXPECT_EQ('N', bp_get(report[0], BP_PATIENCE_MS));
	EXPECT_EQ(-ETIMEDOUT, bp_get(report[0], BP_QUIET_MS));
	a = stats(self->fd);
	EXPECT_EQ(0ULL, a.queued[BP_NORM]);
	EXPECT_EQ(1ULL, a.queued[BP_LOW]);
	/* now free = hn: L needs hl + 1 */
	ASSERT_EQ(0, give_back(self, hl + 1 - hn));
	EXPECT_EQ('L', bp_get(report[0], BP_PATIENCE_MS));
	a = stats(self->fd);
	EXPECT_EQ(0ULL, bp_nr_queued(&a));
	EXPECT_EQ(0, reap_kids(self));
	close(probe);
}

TEST_F(wait, class_priority)
{
	unsigned int hn = bp_headroom(&self->st, BP_NORM);
	unsigned int hl = bp_headroom(&self->st, BP_LOW);
	struct bufpool_stats a;
	unsigned int released = 0;
	char order[4] = { 0 };
	int i, c;

	if (self->st.limit < hl + 3)
		SKIP(return, "needs limit >= 2 * reserve + 3");
	/* queued least critical first */
	add_kid(self, spawn_waiter(BP_LOW, 1, 'L'));
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_LOW, 1, BP_PATIENCE_MS));
	add_kid(self, spawn_waiter(BP_NORM, 1, 'N'));
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_NORM, 1, BP_PATIENCE_MS));
	add_kid(self, spawn_waiter(BP_CRIT, 1, 'C'));
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 1, BP_PATIENCE_MS));

	/* one buffer at a time until all three are served */
	for (i = 0; i < 3; ) {
		ASSERT_GT(hl + 4, released);
		ASSERT_EQ(0, give_back(self, 1));
		released++;
		a = stats(self->fd);
		/* a class is never served while a more critical one waits */
		EXPECT_TRUE(a.queued[BP_LOW] >= a.queued[BP_NORM]);
		EXPECT_TRUE(a.queued[BP_NORM] >= a.queued[BP_CRIT]);
		/* at most one is served per buffer here */
		while (i < 3 - (int)bp_nr_queued(&a)) {
			c = bp_get(report[0], BP_PATIENCE_MS);
			ASSERT_LT(0, c);
			order[i++] = (char)c;
		}
	}
	EXPECT_STREQ("CNL", order);
	/* C came at free 1, N at free hn + 1, L at free hl + 1 */
	EXPECT_EQ(hl + 3, released);
	if (hn)
		EXPECT_LT(hn + 2, released);
	EXPECT_EQ(0ULL, bp_nr_queued(&a));
	EXPECT_EQ(0, reap_kids(self));
}

TEST_F(wait, exact_wakeups_epoll)
{
	unsigned int m = NR_EPOLL, k = NR_EPOLL / 2, i, nready = 0;
	struct epoll_event ev, evs[NR_EPOLL];
	struct pollfd rest[NR_EPOLL];
	struct bufpool_stats b, a;
	int nb[NR_EPOLL], ep, n;
	bool ready[NR_EPOLL] = { false };
	__u32 ids[NR_EPOLL][2];
	long long end;

	if (self->st.limit < m)
		SKIP(return, "needs limit >= %u", m);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	b = stats(self->fd);
	for (i = 0; i < m; i++) {
		nb[i] = bp_open(O_NONBLOCK);
		ASSERT_LE(0, nb[i]);
		ev.events = EPOLLIN;
		ev.data.u32 = i;
		ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, nb[i], &ev));
		EXPECT_EQ(-EAGAIN, bp_alloc(nb[i], BP_CRIT, 1, ids[i]));
	}
	a = stats(self->fd);
	EXPECT_EQ(b.queued[BP_CRIT] + m, a.queued[BP_CRIT]);
	/* asking again with the same request does not queue a second one */
	EXPECT_EQ(-EAGAIN, bp_alloc(nb[0], BP_CRIT, 1, ids[0]));
	EXPECT_EQ(a.queued[BP_CRIT], stats(self->fd).queued[BP_CRIT]);
	/* nothing ready yet */
	EXPECT_EQ(0, epoll_wait(ep, evs, m, BP_QUIET_MS));

	ASSERT_EQ(0, give_back(self, k));
	end = bp_now_ms() + BP_PATIENCE_MS;
	while (nready < k && bp_now_ms() < end) {
		n = epoll_wait(ep, evs, m, 100);
		for (i = 0; i < (unsigned int)(n > 0 ? n : 0); i++) {
			if (!ready[evs[i].data.u32])
				nready++;
			ready[evs[i].data.u32] = true;
			EXPECT_TRUE(!!(evs[i].events & EPOLLIN));
		}
	}
	ASSERT_EQ(k, nready);
	/* exactly the first k, in queue order, and nobody else */
	for (i = 0; i < m; i++)
		EXPECT_EQ(i < k, ready[i]) TH_LOG("fd %u", i);
	for (i = k; i < m; i++) {
		rest[i - k].fd = nb[i];
		rest[i - k].events = POLLIN;
	}
	EXPECT_EQ(0, poll(rest, m - k, BP_QUIET_MS));

	a = stats(self->fd);
	EXPECT_EQ(b.grants_waited + k, a.grants_waited);
	EXPECT_EQ(b.wakeups + k, a.wakeups);
	EXPECT_EQ(b.spurious_wakeups, a.spurious_wakeups);
	EXPECT_EQ(m - k, a.queued[BP_CRIT]);
	EXPECT_EQ(a.limit, a.in_use);

	/* a different request on a granted or a queued fd: -EBUSY */
	EXPECT_EQ(-EBUSY, bp_alloc(nb[0], BP_CRIT, 2, ids[0]));
	EXPECT_EQ(-EBUSY, bp_alloc(nb[0], BP_NORM, 1, ids[0]));
	EXPECT_EQ(-EBUSY, bp_alloc(nb[k], BP_CRIT, 2, ids[k]));
	EXPECT_EQ(-EBUSY, bp_alloc(nb[k], BP_LOW, 1, ids[k]));
	/* the same request collects the grant */
	for (i = 0; i < k; i++) {
		EXPECT_EQ(0, bp_alloc(nb[i], BP_CRIT, 1, ids[i]));
		EXPECT_FALSE(bp_readable(nb[i], 0));
		/* collected: a new, different request is fine */
		EXPECT_EQ(-EAGAIN, bp_alloc(nb[i], BP_NORM, 1, ids[i] + 1));
		EXPECT_EQ(0, bp_cancel(nb[i]));
	}
	/* not granted: still -EAGAIN, still queued once */
	EXPECT_EQ(-EAGAIN, bp_alloc(nb[k], BP_CRIT, 1, ids[k]));
	a = stats(self->fd);
	EXPECT_EQ(m - k, a.queued[BP_CRIT]);
	EXPECT_EQ(b.allocations + k, a.allocations);

	/* the rest, one call */
	ASSERT_EQ(0, give_back(self, m - k));
	for (i = k; i < m; i++) {
		EXPECT_TRUE(bp_readable(nb[i], BP_PATIENCE_MS));
		EXPECT_EQ(0, bp_alloc(nb[i], BP_CRIT, 1, ids[i]));
	}
	for (i = 0; i < m; i++)
		for (n = i + 1; n < (int)m; n++)
			EXPECT_NE(ids[i][0], ids[n][0]);
	a = stats(self->fd);
	EXPECT_EQ(b.grants_waited + m, a.grants_waited);
	EXPECT_EQ(b.wakeups + m, a.wakeups);
	EXPECT_EQ(b.spurious_wakeups, a.spurious_wakeups);
	EXPECT_EQ(0ULL, bp_nr_queued(&a));
	for (i = 0; i < m; i++)
		close(nb[i]);
	close(ep);
}

TEST_F(wait, release_many_grants_many)
{
	/* one RELEASE of k buffers hands them to k queued processes */
	unsigned int k = 4, i;
	char got[8] = { 0 };

	if (self->st.limit < k)
		SKIP(return, "needs limit >= %u", k);
	for (i = 0; i < k; i++) {
		add_kid(self, spawn_waiter(BP_CRIT, 1, (char)('a' + i)));
		ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, i + 1,
					    BP_PATIENCE_MS));
	}
	ASSERT_EQ(0, give_back(self, k));
	for (i = 0; i < k; i++) {
		int c = bp_get(report[0], BP_PATIENCE_MS);

		ASSERT_LT(0, c);
		ASSERT_TRUE(c >= 'a' && c < 'a' + (int)k);
		EXPECT_EQ(0, got[c - 'a']);
		got[c - 'a'] = 1;
	}
	EXPECT_EQ(0ULL, stats(self->fd).queued[BP_CRIT]);
	EXPECT_EQ(0, reap_kids(self));
}

TEST_F(wait, timeout)
{
	struct bufpool_stats b, a;
	__u32 id[1];

	b = stats(self->fd);
	EXPECT_EQ(-ETIMEDOUT, bp_alloc_t(self->fd, BP_CRIT, 1, 0,
					 50 * 1000 * 1000ULL, id));
	a = stats(self->fd);
	EXPECT_TRUE(bp_stats_same(&b, &a));
	EXPECT_EQ(-ENOENT, bp_cancel(self->fd));
	/* a 1 ns timeout too */
	EXPECT_EQ(-ETIMEDOUT, bp_alloc_t(self->fd, BP_CRIT, 1, 0, 1, id));
	EXPECT_EQ(0ULL, bp_nr_queued(&a));
	/* the next buffer is not granted to the gone request */
	ASSERT_EQ(0, give_back(self, 1));
	a = stats(self->fd);
	EXPECT_EQ(b.grants_waited, a.grants_waited);
	EXPECT_EQ(0, bp_try(self->fd, BP_CRIT, 1, id));
	/* a timeout only matters when the buffer is not there */
	EXPECT_EQ(-ETIMEDOUT, bp_alloc_t(self->fd, BP_CRIT, 1, 0, 1000, id));
	EXPECT_EQ(0, bp_release(self->fd, id, 1));
	EXPECT_EQ(0, bp_alloc_t(self->fd, BP_CRIT, 1, 0, 1000, id));
}

TEST_F(wait, timeout_then_granted_in_time)
{
	pid_t pid;

	pid = bp_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = bp_open(0);
		__u32 id[1];
		int ret = bp_alloc_t(fd, BP_CRIT, 1, 0,
				     60 * 1000000000ULL, id);

		bp_put(report[1], ret ? '!' : 'G');
		_exit(ret ? 1 : 0);
	}
	add_kid(self, pid);
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 1, BP_PATIENCE_MS));
	ASSERT_EQ(0, give_back(self, 1));
	EXPECT_EQ('G', bp_get(report[0], BP_PATIENCE_MS));
	EXPECT_EQ(0, reap_kids(self));
	/* it exited holding the buffer: back to the pool */
	EXPECT_EQ(0, bp_wait_in_use(self->fd, self->st.limit - 1,
				    BP_PATIENCE_MS));
}

static int got_signal;

static void on_signal(int sig)
{
	__atomic_store_n(&got_signal, sig, __ATOMIC_SEQ_CST);
}

/* Child: block in ALLOC with or without SA_RESTART, report the outcome. */
static void signal_child(int flags)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = flags };
	int fd = bp_open(0), ret;
	__u32 id[1];

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	ret = bp_alloc(fd, BP_CRIT, 1, id);
	bp_put(report[1], ret ? (char)-ret : 'G');
	bp_put(report[1],
	       __atomic_load_n(&got_signal, __ATOMIC_SEQ_CST) ? 'S' : 's');
	child_linger();
	_exit(0);
}

TEST_F(wait, signal_eintr)
{
	struct bufpool_stats b, a;
	pid_t pid;

	pid = bp_fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		signal_child(0);
	add_kid(self, pid);
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 1, BP_PATIENCE_MS));
	b = stats(self->fd);
	ASSERT_EQ(0, kill(pid, SIGUSR1));
	EXPECT_EQ(EINTR, bp_get(report[0], BP_PATIENCE_MS));
	EXPECT_EQ('S', bp_get(report[0], BP_PATIENCE_MS));
	/* left queued in its place: the child is alive, its fd open */
	a = stats(self->fd);
	EXPECT_EQ(1ULL, bp_nr_queued(&a));
	EXPECT_EQ(b.in_use, a.in_use);
	ASSERT_EQ(0, give_back(self, 1));
	/* granted to it, kept until it collects, cancels or closes */
	EXPECT_EQ(b.grants_waited + 1, stats(self->fd).grants_waited);
	EXPECT_EQ(-ETIMEDOUT, bp_get(report[0], BP_QUIET_MS));
	EXPECT_EQ(0, reap_kids(self));
}

TEST_F(wait, signal_restart)
{
	pid_t pid;

	pid = bp_fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		signal_child(SA_RESTART);
	add_kid(self, pid);
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 1, BP_PATIENCE_MS));
	ASSERT_EQ(0, kill(pid, SIGUSR1));
	/* the handler runs, the call goes on waiting */
	EXPECT_EQ(-ETIMEDOUT, bp_get(report[0], BP_QUIET_MS));
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 1, BP_PATIENCE_MS));
	ASSERT_EQ(0, give_back(self, 1));
	EXPECT_EQ('G', bp_get(report[0], BP_PATIENCE_MS));
	EXPECT_EQ('S', bp_get(report[0], BP_PATIENCE_MS));
	EXPECT_EQ(0ULL, stats(self->fd).queued[BP_CRIT]);
	EXPECT_EQ(self->st.limit, stats(self->fd).in_use);
	EXPECT_EQ(0, reap_kids(self));
}

TEST_F(wait, sigkill_waiter)
{
	struct bufpool_stats b, a;
	pid_t pid;

	add_kid(self, pid = spawn_waiter(BP_CRIT, 1, 'W'));
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 1, BP_PATIENCE_MS));
	b = stats(self->fd);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	EXPECT_EQ(128 + SIGKILL, bp_reap(pid));
	self->nr_kids = 0;
	a = stats(self->fd);
	EXPECT_EQ(0ULL, bp_nr_queued(&a));
	ASSERT_EQ(0, give_back(self, 1));
	a = stats(self->fd);
	EXPECT_EQ(b.grants_waited, a.grants_waited);
	EXPECT_EQ(a.limit - 1, a.in_use);
}

TEST_F(wait, sigkill_holders)
{
	unsigned int limit = self->st.limit, per = 2, nh = 3, i;
	pid_t holders[3];
	__u32 ids[4];
	int nb, c;

	if (limit < per * nh + 1)
		SKIP(return, "needs limit >= %u", per * nh + 1);
	/* move per * nh buffers from hold to three processes */
	ASSERT_EQ(0, give_back(self, per * nh));
	for (i = 0; i < nh; i++) {
		holders[i] = spawn_holder(per, 'H');
		add_kid(self, holders[i]);
		c = bp_get(report[0], BP_PATIENCE_MS);
		ASSERT_EQ('H', c);
	}
	ASSERT_EQ(limit, stats(self->fd).in_use);
	/* a process and a non-blocking fd wait for 2 each */
	add_kid(self, spawn_waiter(BP_CRIT, per, 'W'));
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 1, BP_PATIENCE_MS));
	/* opened after the forks: no child shares it */
	nb = bp_open(O_NONBLOCK);
	ASSERT_LE(0, nb);
	ASSERT_EQ(-EAGAIN, bp_alloc(nb, BP_CRIT, per, ids));
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 2, BP_PATIENCE_MS));

	/* the death of a holder grants its buffers to the queue head */
	ASSERT_EQ(0, kill(holders[0], SIGKILL));
	EXPECT_EQ('W', bp_get(report[0], BP_PATIENCE_MS));
	EXPECT_FALSE(bp_readable(nb, BP_QUIET_MS));
	EXPECT_EQ(limit, stats(self->fd).in_use);
	ASSERT_EQ(0, kill(holders[1], SIGKILL));
	EXPECT_TRUE(bp_readable(nb, BP_PATIENCE_MS));
	EXPECT_EQ(0, bp_alloc(nb, BP_CRIT, per, ids));
	EXPECT_EQ(limit, stats(self->fd).in_use);
	EXPECT_EQ(0ULL, stats(self->fd).queued[BP_CRIT]);
	ASSERT_EQ(0, kill(holders[2], SIGKILL));
	EXPECT_EQ(0, bp_wait_in_use(self->fd, limit - per, BP_PATIENCE_MS));
	close(nb);
	EXPECT_EQ(limit - 2 * per, stats(self->fd).in_use);
}

TEST_F(wait, close_while_queued)
{
	int a = bp_open(O_NONBLOCK), b = bp_open(O_NONBLOCK);
	__u32 id[1];

	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(-EAGAIN, bp_alloc(a, BP_CRIT, 1, id));
	ASSERT_EQ(-EAGAIN, bp_alloc(b, BP_CRIT, 1, id));
	EXPECT_EQ(2ULL, stats(self->fd).queued[BP_CRIT]);
	close(a);
	EXPECT_EQ(1ULL, stats(self->fd).queued[BP_CRIT]);
	ASSERT_EQ(0, give_back(self, 1));
	EXPECT_TRUE(bp_readable(b, BP_PATIENCE_MS));
	EXPECT_EQ(0, bp_alloc(b, BP_CRIT, 1, id));
	EXPECT_EQ(self->st.limit, stats(self->fd).in_use);
	close(b);
}

TEST_F(wait, close_while_granted)
{
	int a = bp_open(O_NONBLOCK), b = bp_open(O_NONBLOCK);
	struct bufpool_stats s0, s1;
	__u32 id[1];

	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	s0 = stats(self->fd);
	ASSERT_EQ(-EAGAIN, bp_alloc(a, BP_CRIT, 1, id));
	ASSERT_EQ(-EAGAIN, bp_alloc(b, BP_CRIT, 1, id));
	ASSERT_EQ(0, give_back(self, 1));
	EXPECT_TRUE(bp_readable(a, BP_PATIENCE_MS));
	EXPECT_FALSE(bp_readable(b, BP_QUIET_MS));
	/* a never collects: its grant goes on to b */
	close(a);
	EXPECT_TRUE(bp_readable(b, BP_PATIENCE_MS));
	s1 = stats(self->fd);
	EXPECT_EQ(s1.limit, s1.in_use);
	EXPECT_EQ(0ULL, bp_nr_queued(&s1));
	EXPECT_EQ(s0.grants_waited + 2, s1.grants_waited);
	EXPECT_EQ(s0.wakeups + 2, s1.wakeups);
	EXPECT_EQ(0, bp_alloc(b, BP_CRIT, 1, id));
	close(b);
	EXPECT_EQ(s1.limit - 1, stats(self->fd).in_use);
}

TEST_F(wait, cancel_queued)
{
	int a = bp_open(O_NONBLOCK);
	struct bufpool_stats s0, s1;
	__u32 id[1];

	ASSERT_LE(0, a);
	s0 = stats(self->fd);
	ASSERT_EQ(-EAGAIN, bp_alloc(a, BP_CRIT, 1, id));
	EXPECT_EQ(1ULL, stats(self->fd).queued[BP_CRIT]);
	EXPECT_EQ(0, bp_cancel(a));
	EXPECT_EQ(0ULL, stats(self->fd).queued[BP_CRIT]);
	EXPECT_EQ(-ENOENT, bp_cancel(a));
	ASSERT_EQ(0, give_back(self, 1));
	EXPECT_FALSE(bp_readable(a, BP_QUIET_MS));
	s1 = stats(self->fd);
	EXPECT_EQ(s0.grants_waited, s1.grants_waited);
	EXPECT_EQ(s1.limit - 1, s1.in_use);
	/* a new, different request after CANCEL is not -EBUSY */
	EXPECT_EQ(0, bp_alloc(a, BP_CRIT, 1, id));
	close(a);
}

TEST_F(wait, cancel_granted)
{
	int a = bp_open(O_NONBLOCK), b = bp_open(O_NONBLOCK);
	struct bufpool_stats s0, s1;
	__u32 id[2];

	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	s0 = stats(self->fd);
	ASSERT_EQ(-EAGAIN, bp_alloc(a, BP_CRIT, 1, id));
	ASSERT_EQ(-EAGAIN, bp_alloc(b, BP_CRIT, 1, id));
	ASSERT_EQ(0, give_back(self, 1));
	ASSERT_TRUE(bp_readable(a, BP_PATIENCE_MS));
	/* give the grant back: it goes on to b */
	EXPECT_EQ(0, bp_cancel(a));
	EXPECT_FALSE(bp_readable(a, 0));
	EXPECT_TRUE(bp_readable(b, BP_PATIENCE_MS));
	EXPECT_EQ(-ENOENT, bp_cancel(a));
	s1 = stats(self->fd);
	EXPECT_EQ(s1.limit, s1.in_use);
	EXPECT_EQ(s0.releases + 2, s1.releases);
	/* a holds nothing and has no request: a new one queues */
	EXPECT_EQ(-EAGAIN, bp_alloc(a, BP_CRIT, 2, id));
	EXPECT_EQ(0, bp_cancel(a));
	EXPECT_EQ(0, bp_alloc(b, BP_CRIT, 1, id));
	close(a);
	close(b);
}

TEST_F(wait, efault_on_collect)
{
	int a = bp_open(O_NONBLOCK), b = bp_open(O_NONBLOCK);
	__u32 id[1];

	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	/* a bad pointer is refused before anything is queued */
	EXPECT_EQ(-EFAULT, bp_alloc(a, BP_CRIT, 1, NULL));
	EXPECT_EQ(-ENOENT, bp_cancel(a));
	ASSERT_EQ(-EAGAIN, bp_alloc(a, BP_CRIT, 1, id));
	ASSERT_EQ(-EAGAIN, bp_alloc(b, BP_CRIT, 1, id));
	ASSERT_EQ(0, give_back(self, 1));
	ASSERT_TRUE(bp_readable(a, BP_PATIENCE_MS));
	/*
	 * The ids cannot be written: -EFAULT, and the grant stays with a,
	 * which collects it with a good pointer; b is not woken meanwhile.
	 */
	EXPECT_EQ(-EFAULT, bp_alloc(a, BP_CRIT, 1, NULL));
	EXPECT_TRUE(bp_readable(a, 0));
	EXPECT_FALSE(bp_readable(b, 0));
	EXPECT_EQ(self->st.limit, stats(self->fd).in_use);
	EXPECT_EQ(0, bp_alloc(a, BP_CRIT, 1, id));
	EXPECT_EQ(0, bp_release(a, id, 1));
	EXPECT_TRUE(bp_readable(b, BP_PATIENCE_MS));
	EXPECT_EQ(0, bp_alloc(b, BP_CRIT, 1, id));
	close(a);
	EXPECT_EQ(self->st.limit, stats(self->fd).in_use);
	close(b);
}

/* The FIFO order of NR_FIFO processes queued in one class. */
FIXTURE(fifo) {
	struct _test_data_wait w;
};

FIXTURE_VARIANT(fifo) {
	unsigned int class;
};

FIXTURE_VARIANT_ADD(fifo, critical) {
	.class = BUFPOOL_CLASS_CRITICAL,
};

FIXTURE_VARIANT_ADD(fifo, normal) {
	.class = BUFPOOL_CLASS_NORMAL,
};

FIXTURE_VARIANT_ADD(fifo, low) {
	.class = BUFPOOL_CLASS_LOW,
};

FIXTURE_SETUP(fifo)
{
	hold_all_setup(_metadata, &self->w);
}

FIXTURE_TEARDOWN(fifo)
{
	hold_all_teardown(&self->w);
}

TEST_F(fifo, order)
{
	struct _test_data_wait *w = &self->w;
	unsigned int class = variant->class, h, i;
	struct bufpool_stats b, a;

	h = bp_headroom(&w->st, class);
	if (w->st.limit < h + NR_FIFO)
		SKIP(return, "needs limit >= headroom + %d", NR_FIFO);
	for (i = 0; i < NR_FIFO; i++) {
		add_kid(w, spawn_waiter(class, 1, (char)('0' + i)));
		ASSERT_EQ(0, bp_wait_queued(w->fd, class, i + 1,
					    BP_PATIENCE_MS));
	}
	b = stats(w->fd);
	/* the headroom first: nobody may be served from it */
	if (h) {
		ASSERT_EQ(0, give_back(w, h));
		EXPECT_EQ(-ETIMEDOUT, bp_get(report[0], BP_QUIET_MS));
		EXPECT_EQ((__u64)NR_FIFO, stats(w->fd).queued[class]);
	}
	for (i = 0; i < NR_FIFO; i++) {
		ASSERT_EQ(0, give_back(w, 1));
		EXPECT_EQ('0' + (int)i, bp_get(report[0], BP_PATIENCE_MS));
		EXPECT_EQ((__u64)(NR_FIFO - i - 1),
			  stats(w->fd).queued[class]);
	}
	EXPECT_EQ(-ETIMEDOUT, bp_get(report[0], BP_QUIET_MS));
	a = stats(w->fd);
	EXPECT_EQ(b.grants_waited + NR_FIFO, a.grants_waited);
	EXPECT_EQ(b.wakeups + NR_FIFO, a.wakeups);
	EXPECT_EQ(b.spurious_wakeups, a.spurious_wakeups);
	EXPECT_EQ(a.limit - h, a.in_use);
	EXPECT_EQ(0, reap_kids(w));
	EXPECT_EQ(0, bp_wait_in_use(w->fd, a.limit - h - NR_FIFO,
				    BP_PATIENCE_MS));
}

/* Races between a grant and the waiter leaving. */
struct racer {
	int fd;
	int mode;
	unsigned int delay_us;
	__u64 timeout_ns;
	int ret;
};

enum { RACE_TIMEOUT, RACE_CANCEL, RACE_CLOSE };

static void *race_thread(void *arg)
{
	struct racer *r = arg;
	__u32 id[1];

	switch (r->mode) {
	case RACE_TIMEOUT:
		r->ret = bp_alloc_t(r->fd, BP_CRIT, 1, 0, r->timeout_ns, id);
		if (!r->ret)
			r->ret = bp_release(r->fd, id, 1) ? -EIO : 0;
		break;
	case RACE_CANCEL:
		usleep(r->delay_us);
		r->ret = bp_cancel(r->fd);
		break;
	case RACE_CLOSE:
		usleep(r->delay_us);
		r->ret = close(r->fd);
		r->fd = -1;
		break;
	}
	return NULL;
}

static void race(struct __test_metadata *_metadata,
		 struct _test_data_wait *self, int mode)
{
	unsigned int limit = self->st.limit, i, granted = 0;
	struct bufpool_stats s0, s1, sb;
	struct racer r;
	pthread_t t;
	__u32 id[1];

	s0 = stats(self->fd);
	srand(1);
	for (i = 0; i < NR_RACE; i++) {
		memset(&r, 0, sizeof(r));
		r.mode = mode;
		/* both sides of the race: the delays straddle the timeout */
		r.delay_us = rand() % 3000;
		r.timeout_ns = 1000ULL * (1 + rand() % 8000);
		r.fd = bp_open(mode == RACE_TIMEOUT ? 0 : O_NONBLOCK);
		ASSERT_LE(0, r.fd);
		if (mode != RACE_TIMEOUT)
			ASSERT_EQ(-EAGAIN, bp_alloc(r.fd, BP_CRIT, 1, id));
		sb = stats(self->fd);
		ASSERT_EQ(0, pthread_create(&t, NULL, race_thread, &r));
		usleep(rand() % 8000);
		/* the last buffer of the holder comes back */
		ASSERT_EQ(0, bp_release(self->hold, &self->ids[limit - 1],
					1));
		ASSERT_EQ(0, pthread_join(t, NULL));
		if (mode == RACE_TIMEOUT) {
			ASSERT_TRUE(r.ret == 0 || r.ret == -ETIMEDOUT)
				TH_LOG("iteration %u: %d", i, r.ret);
		} else if (mode == RACE_CANCEL) {
			ASSERT_EQ(0, r.ret) TH_LOG("iteration %u", i);
		}
		/* the grant came first (else the waiter left first) */
		granted += stats(self->fd).grants_waited != sb.grants_waited;
		if (r.fd >= 0)
			close(r.fd);
		/* the buffer is not lost: nothing waits, the holder gets it */
		s1 = stats(self->fd);
		ASSERT_EQ(limit - 1, s1.in_use) TH_LOG("iteration %u", i);
		ASSERT_EQ(0ULL, bp_nr_queued(&s1));
		ASSERT_EQ(0, bp_try(self->hold, BP_CRIT, 1,
				    &self->ids[limit - 1]))
			TH_LOG("iteration %u: buffer lost", i);
	}
	s1 = stats(self->fd);
	EXPECT_EQ(s0.spurious_wakeups, s1.spurious_wakeups);
	EXPECT_EQ(s1.grants_waited - s0.grants_waited,
		  s1.wakeups - s0.wakeups);
	TH_LOG("%u of %u waiters were granted before leaving", granted,
	       NR_RACE);
	/* and a next waiter is served */
	{
		int nb = bp_open(O_NONBLOCK);

		ASSERT_LE(0, nb);
		ASSERT_EQ(-EAGAIN, bp_alloc(nb, BP_CRIT, 1, id));
		ASSERT_EQ(0, give_back(self, 1));
		EXPECT_TRUE(bp_readable(nb, BP_PATIENCE_MS));
		EXPECT_EQ(0, bp_alloc(nb, BP_CRIT, 1, id));
		close(nb);
	}
}

TEST_F_TIMEOUT(wait, race_grant_timeout, 120)
{
	race(_metadata, self, RACE_TIMEOUT);
}

TEST_F_TIMEOUT(wait, race_grant_cancel, 120)
{
	race(_metadata, self, RACE_CANCEL);
}

TEST_F_TIMEOUT(wait, race_grant_close, 120)
{
	race(_metadata, self, RACE_CLOSE);
}

/*
 * Waiters that close their fd, queued or just granted, while another
 * process cycles two buffers: each of its releases grants to a waiter and
 * wakes it once the pool lock is dropped, racing with that waiter's
 * close, which must wait for a wake-up under way before the file is
 * freed (KASAN on the debug kernel), and lose no buffer.
 */
#define NR_STORM_THREADS	2
#define STORM_MS		3000

static int storm_stop;

static void *storm_thread(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg, n = 0;
	struct pollfd pfd = { .events = POLLIN };
	__u32 id[1];
	int ret;

	while (!__atomic_load_n(&storm_stop, __ATOMIC_RELAXED)) {
		pfd.fd = bp_open(O_NONBLOCK);
		if (pfd.fd < 0)
			return (void *)(uintptr_t)-errno;
		ret = bp_alloc(pfd.fd, BP_CRIT, 1, id);
		if (ret && ret != -EAGAIN) {
			close(pfd.fd);
			return (void *)(uintptr_t)ret;
		}
		/* close at once, or once granted, or after a while */
		if (ret && rand_r(&seed) % 3)
			poll(&pfd, 1, rand_r(&seed) % 2);
		close(pfd.fd);
		n++;
	}
	return (void *)(uintptr_t)(n ? 0 : -ENODATA);
}

TEST_F_TIMEOUT(wait, race_grant_close_storm, 120)
{
	unsigned int limit = self->st.limit, i;
	pthread_t t[NR_STORM_THREADS];
	struct bufpool_stats s0, s1;
	void *ret;
	pid_t pid;

	s0 = stats(self->fd);
	ASSERT_EQ(0, give_back(self, 2));
	pid = bp_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = bp_open(0);
		__u32 id[1];

		for (;;)
			if (bp_alloc(fd, BP_CRIT, 1, id) ||
			    bp_release(fd, id, 1))
				_exit(1);
	}
	add_kid(self, pid);
	storm_stop = 0;
	for (i = 0; i < NR_STORM_THREADS; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, storm_thread,
					    (void *)(uintptr_t)(i + 1)));
	usleep(STORM_MS * 1000);
	__atomic_store_n(&storm_stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < NR_STORM_THREADS; i++) {
		ASSERT_EQ(0, pthread_join(t[i], &ret));
		EXPECT_EQ(0, (int)(uintptr_t)ret) TH_LOG("thread %u", i);
	}
	/* the cycler is still at it: its exit gives back what it had */
	kill(pid, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, bp_reap(pid));
	self->nr_kids = 0;
	ASSERT_EQ(0, bp_wait_in_use(self->fd, limit - 2, BP_PATIENCE_MS));
	s1 = stats(self->fd);
	EXPECT_EQ(0ULL, bp_nr_queued(&s1));
	EXPECT_EQ(s0.spurious_wakeups, s1.spurious_wakeups);
	EXPECT_EQ(s1.grants_waited - s0.grants_waited,
		  s1.wakeups - s0.wakeups);
	TH_LOG("%llu grants after a wait", (unsigned long long)
	       (s1.grants_waited - s0.grants_waited));
	/* nothing lost: the holder takes both back at once */
	ASSERT_EQ(0, bp_try(self->hold, BP_CRIT, 2, self->ids));
	self->next = 0;
}

TEST_F_TIMEOUT(wait, race_grant_exit, 120)
{
	unsigned int limit = self->st.limit, i;
	struct bufpool_stats s0, s1;
	pid_t pid;
	__u32 id[1];

	s0 = stats(self->fd);
	srand(2);
	for (i = 0; i < NR_RACE / 3; i++) {
		pid = bp_fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			int fd = bp_open(0);

			_exit(bp_alloc(fd, BP_CRIT, 1, id) ? 1 : 0);
		}
		ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 1,
					    BP_PATIENCE_MS));
		if (rand() & 1) {
			ASSERT_EQ(0, bp_release(self->hold,
						&self->ids[limit - 1], 1));
			kill(pid, SIGKILL);
		} else {
			kill(pid, SIGKILL);
			ASSERT_EQ(0, bp_release(self->hold,
						&self->ids[limit - 1], 1));
		}
		bp_reap(pid);
		s1 = stats(self->fd);
		ASSERT_EQ(limit - 1, s1.in_use) TH_LOG("iteration %u", i);
		ASSERT_EQ(0ULL, bp_nr_queued(&s1));
		ASSERT_EQ(0, bp_try(self->hold, BP_CRIT, 1,
				    &self->ids[limit - 1]))
			TH_LOG("iteration %u: buffer lost", i);
	}
	/*
	 * counters since this test began: earlier tests may have woken
	 * requests that failed (a lowered limit), which grant nothing
	 */
	s1 = stats(self->fd);
	EXPECT_EQ(s0.spurious_wakeups, s1.spurious_wakeups);
	EXPECT_EQ(s1.grants_waited - s0.grants_waited,
		  s1.wakeups - s0.wakeups);
}

TEST_HARNESS_MAIN
