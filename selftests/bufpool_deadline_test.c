// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool deadline, cancel and restart selftests: CANCEL from a sibling
 * thread ends a blocked ALLOC (-ECANCELED); a timeout is one absolute
 * deadline, never ended early (7 ms, 20 tries, measured on CLOCK_MONOTONIC
 * around the call), not pushed back by SA_RESTART restarts (a 1 ms
 * itimer), and huge values saturate instead of wrapping; ABSTIME; a
 * waiter stopped (SIGSTOP/SIGCONT) or interrupted by an SA_RESTART signal
 * keeps its place; a grant that races a signal stays with the waiter;
 * after -EINTR the request stays queued (collect, -EBUSY for a different
 * one, withdrawn at its deadline); under the offer policy an offer that is
 * never taken up lapses instead of stalling the queue; threads sleeping on
 * one fd's request all return -ETIMEDOUT at its deadline, one queued with
 * no timeout of its own or a later one too, and none queues a new request.
 *
 * Each test sets a small pool (limit 16, reserve 2, hand-off) and starts
 * by taking all of it on a "holder" fd, so that every later request
 * queues until the test gives buffers back.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <sys/time.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_sys_util.h"

#define NR_EARLY	20	/* tries of the 7 ms timeout */
#define NR_ROUNDS	5	/* rounds of each keep-your-place test */
#define NR_RACES	20	/* rounds of the grant/signal race */
#define NR_OFFERED	3	/* offers nobody takes up */
/* a sleeper's own timeout that no test waits for */
#define HOUR_NS		(3600ULL * 1000 * 1000 * 1000)
/* how long a sleeper on a request past its deadline may take to return */
#define LIVENESS_MS	20000

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

FIXTURE(deadline) {
	int fd;			/* probes */
	int hold;		/* holds the whole pool at the start */
	struct bufpool_stats st;
	__u32 *ids;		/* what hold holds */
	int report[2];		/* children report here */
	pid_t kids[4];
	int nr_kids;
};

FIXTURE_SETUP(deadline)
{
	static const struct bp_pool pool = {
		.limit = 16, .reserve = 2, .policy = "handoff",
	};
	int ret;

	self->nr_kids = 0;
	ret = bp_pool_setup(&pool);
	if (ret == -ENODEV)
		SKIP(return, BP_POOL_NEEDS);
	ASSERT_EQ(0, ret);
	self->fd = bp_open(0);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", BP_DEV, strerror(errno));
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	ASSERT_EQ(0, bp_stats(self->fd, &self->st));
	self->ids = calloc(self->st.limit, sizeof(__u32));
	ASSERT_NE(NULL, self->ids);
	self->hold = bp_open(0);
	ASSERT_LE(0, self->hold);
	ASSERT_EQ(0, bp_fill(self->hold, &self->st, self->ids));
	ASSERT_EQ(0, pipe2(self->report, O_CLOEXEC));
}

FIXTURE_TEARDOWN(deadline)
{
	int i;

	for (i = 0; i < self->nr_kids; i++)
		kill(self->kids[i], SIGKILL);
	for (i = 0; i < self->nr_kids; i++)
		bp_reap(self->kids[i]);
	close(self->report[0]);
	close(self->report[1]);
	close(self->hold);
	close(self->fd);
	free(self->ids);
	EXPECT_EQ(0, bp_pool_teardown());
}

static struct bufpool_stats stats(int fd)
{
	struct bufpool_stats st;

	if (bp_stats(fd, &st))
		memset(&st, 0xff, sizeof(st));
	return st;
}

static __u64 bp_nr_queued_now(int fd)
{
	struct bufpool_stats st = stats(fd);

	return bp_nr_queued(&st);
}

/* The holder gives back its buffer @i (the last ones first, say). */
static int give_back(struct _test_data_deadline *self, unsigned int i)
{
	return bp_release(self->hold, &self->ids[i], 1);
}

/* ... and takes it again once it is free: 0 or -ETIMEDOUT. */
static int take_back(struct _test_data_deadline *self, unsigned int i)
{
	long long end = bp_now_ms() + BP_PATIENCE_MS;

	while (bp_try(self->hold, BP_CRIT, 1, &self->ids[i])) {
		if (bp_now_ms() > end)
			return -ETIMEDOUT;
		bp_msleep(2);
	}
	return 0;
}

/* A thread blocked in ALLOC on a shared fd. */
struct sleeper {
	pthread_t thread;
	int fd;
	__u32 flags;
	__u64 timeout_ns;
	__u32 id[1];
	int ret;
	long long start_ns;	/* just before its ALLOC */
	long long elapsed_ns;
	int done[2];		/* a byte when it returns */
};

static void *sleeper_fn(void *arg)
{
	struct sleeper *s = arg;
	long long t0 = now_ns();

	s->start_ns = t0;
	s->ret = bp_alloc_t(s->fd, BP_CRIT, 1, s->flags, s->timeout_ns, s->id);
	s->elapsed_ns = now_ns() - t0;
	bp_put(s->done[1], 'd');
	return NULL;
}

static int sleeper_start(struct sleeper *s, int fd, __u32 flags,
			 __u64 timeout_ns)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->flags = flags;
	s->timeout_ns = timeout_ns;
	if (pipe2(s->done, O_CLOEXEC))
		return -errno;
	return -pthread_create(&s->thread, NULL, sleeper_fn, s);
}

/* Has it returned within @ms? */
static bool sleeper_returned(struct sleeper *s, int ms)
{
	return bp_get(s->done[0], ms) == 'd';
}

static void sleeper_join(struct sleeper *s)
{
	pthread_join(s->thread, NULL);
	close(s->done[0]);
	close(s->done[1]);
}

TEST_F(deadline, cancel_ends_blocked_alloc)
{
	struct bufpool_stats b, a;
	struct sleeper s;
	int fd = bp_open(0);
	bool returned;
	int i;

	ASSERT_LE(0, fd);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, sleeper_start(&s, fd, 0, 0));
		ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 1,
					    BP_PATIENCE_MS));
		b = stats(self->fd);
		EXPECT_EQ(0, bp_cancel(fd));
		returned = sleeper_returned(&s, BP_PATIENCE_MS);
		EXPECT_TRUE(returned)
			TH_LOG("round %d: CANCEL left ALLOC blocked", i);
		if (!returned) {
			/* requeued instead: let it have a buffer to end it */
			ASSERT_EQ(0, give_back(self, 0));
			ASSERT_TRUE(sleeper_returned(&s, BP_PATIENCE_MS));
			sleeper_join(&s);
			if (!s.ret)
				ASSERT_EQ(0, bp_release(fd, s.id, 1));
			ASSERT_EQ(0, take_back(self, 0));
			break;
		}
		sleeper_join(&s);
		EXPECT_EQ(-ECANCELED, s.ret);
		/* withdrawn, not requeued; nothing given or taken */
		a = stats(self->fd);
		EXPECT_EQ(0ULL, bp_nr_queued(&a));
		EXPECT_EQ(b.in_use, a.in_use);
		EXPECT_EQ(b.allocations, a.allocations);
		EXPECT_EQ(-ENOENT, bp_cancel(fd));
	}
	/* a buffer given back now is not granted to anyone */
	ASSERT_EQ(0, give_back(self, 0));
	EXPECT_EQ(b.grants_waited, stats(self->fd).grants_waited);
	EXPECT_EQ(0, take_back(self, 0));
	close(fd);
}

TEST_F(deadline, cancel_of_a_grant_ends_blocked_alloc_or_it_collects)
{
	struct sleeper s;
	int fd = bp_open(0);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sleeper_start(&s, fd, 0, 0));
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 1, BP_PATIENCE_MS));
	/* the grant and the CANCEL race: either outcome, nothing lost */
	ASSERT_EQ(0, give_back(self, 0));
	bp_cancel(fd);
	ASSERT_TRUE(sleeper_returned(&s, BP_PATIENCE_MS));
	sleeper_join(&s);
	EXPECT_TRUE(s.ret == 0 || s.ret == -ECANCELED) TH_LOG("%d", s.ret);
	if (!s.ret)
		EXPECT_EQ(0, bp_release(fd, s.id, 1));
	EXPECT_EQ(0ULL, bp_nr_queued_now(self->fd));
	EXPECT_EQ(0, take_back(self, 0));
	close(fd);
}

static int nr_signals;

static void count_signal(int sig)
{
	__atomic_add_fetch(&nr_signals, 1, __ATOMIC_RELAXED);
}

struct timed_report {
	int ret;
	long long elapsed_ns;
	long long signals;
};

/*
 * A child that blocks in ALLOC with @timeout_ns while an itimer sends it
 * SIGALRM every @period_us with SA_RESTART; reports how it ended.
 */
static pid_t spawn_itimer_waiter(int report, __u64 timeout_ns,
				 long period_us)
{
	struct sigaction sa = { .sa_handler = count_signal,
				.sa_flags = SA_RESTART };
	struct itimerval it = {
		.it_interval = { .tv_usec = period_us },
		.it_value = { .tv_usec = period_us },
	};
	struct timed_report r;
	pid_t pid = bp_fork();
	long long t0;
	__u32 id[1];
	int fd;

	if (pid)
		return pid;
	fd = bp_open(0);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	t0 = now_ns();
	r.ret = bp_alloc_t(fd, BP_CRIT, 1, 0, timeout_ns, id);
	r.elapsed_ns = now_ns() - t0;
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	r.signals = __atomic_load_n(&nr_signals, __ATOMIC_RELAXED);
	if (write(report, &r, sizeof(r)) != sizeof(r))
		_exit(2);
	_exit(0);
}

static int read_report(int fd, struct timed_report *r, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, ms) != 1)
		return -ETIMEDOUT;
	return read(fd, r, sizeof(*r)) == sizeof(*r) ? 0 : -EIO;
}

TEST_F(deadline, sa_restart_itimer_does_not_push_the_deadline)
{
	/* 1 s as well: a 100 ms one may see a gap between signals */
	static const __u64 timeouts[] = { 100 * 1000 * 1000ULL,
					  1000 * 1000 * 1000ULL };
	struct timed_report r;
	unsigned int i;
	pid_t pid;

	for (i = 0; i < ARRAY_SIZE(timeouts); i++) {
		pid = spawn_itimer_waiter(self->report[1], timeouts[i], 1000);
		ASSERT_LT(0, pid);
		self->kids[self->nr_kids++] = pid;
		/* it must give up at its deadline, however often restarted */
		ASSERT_EQ(0, read_report(self->report[0], &r, BP_PATIENCE_MS))
			TH_LOG("a %llu ms ALLOC under a 1 ms itimer still blocks after %d ms",
			       (unsigned long long)timeouts[i] / 1000000,
			       BP_PATIENCE_MS);
		EXPECT_EQ(-ETIMEDOUT, r.ret);
		EXPECT_LE((long long)timeouts[i], r.elapsed_ns);
		EXPECT_LT(0, r.signals);
		TH_LOG("%llu ms: ended after %lld us and %lld signals",
		       (unsigned long long)timeouts[i] / 1000000,
		       r.elapsed_ns / 1000, r.signals);
		EXPECT_EQ(0, bp_reap(pid));
		self->nr_kids = 0;
		EXPECT_EQ(0, bp_wait_queued(self->fd, BUFPOOL_NR_CLASSES, 0,
					    BP_PATIENCE_MS));
	}
}

TEST_F(deadline, timeout_never_ends_early)
{
	const long long timeout = 7 * 1000 * 1000LL;
	long long t0, dt, lo = -1, hi = 0;
	int i, early = 0;
	__u32 id[1];

	for (i = 0; i < NR_EARLY; i++) {
		t0 = now_ns();
		EXPECT_EQ(-ETIMEDOUT, bp_alloc_t(self->fd, BP_CRIT, 1, 0,
						 timeout, id));
		dt = now_ns() - t0;
		if (dt < timeout)
			early++;
		if (lo < 0 || dt < lo)
			lo = dt;
		if (dt > hi)
			hi = dt;
	}
	TH_LOG("7 ms timeouts: %d of %d early, shortest %lld us, longest %lld us",
	       early, NR_EARLY, lo / 1000, hi / 1000);
	EXPECT_EQ(0, early);
	EXPECT_EQ(0ULL, bp_nr_queued_now(self->fd));
}

TEST_F(deadline, huge_timeouts_do_not_wrap)
{
	static const struct { __u32 flags; __u64 ns; } cases[] = {
		{ 0, ~0ULL },
		{ 0, 1ULL << 63 },
		{ 0, (1ULL << 63) - 1 },
		{ 0, (1ULL << 63) - 1000 },
		{ 0, 1ULL << 62 },
		{ 0, 18446744073ULL * 1000000000ULL },	/* 2^64 ns, almost */
		{ 0, 4294967296ULL * 4000000ULL },	/* 2^32 jiffies at HZ 250 */
		{ 0, 4294967296ULL * 1000000ULL },	/* 2^32 ms */
		{ 0, 4294967296ULL * 10000000ULL },	/* 2^32 jiffies at HZ 100 */
		{ 0, 2049638230412172402ULL },	/* * 9 wraps (HZ 300) */
		{ BUFPOOL_ALLOC_ABSTIME, ~0ULL },
		{ BUFPOOL_ALLOC_ABSTIME, 1ULL << 63 },
		{ BUFPOOL_ALLOC_ABSTIME, (1ULL << 63) - 1 },
	};
	struct sleeper s;
	unsigned int i;
	int fd = bp_open(0);

	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ASSERT_EQ(0, sleeper_start(&s, fd, cases[i].flags,
					   cases[i].ns));
		ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 1,
					    BP_PATIENCE_MS))
			TH_LOG("case %u: %#llx flags %u not queued: %d", i,
			       (unsigned long long)cases[i].ns, cases[i].flags,
			       s.ret);
		/* still blocked a while later: no early deadline */
		EXPECT_FALSE(sleeper_returned(&s, BP_QUIET_MS))
			TH_LOG("case %u: %#llx flags %u returned %d after %lld us",
			       i, (unsigned long long)cases[i].ns,
			       cases[i].flags, s.ret, s.elapsed_ns / 1000);
		/* end it with a buffer, which works on any kernel */
		ASSERT_EQ(0, give_back(self, 0));
		ASSERT_TRUE(sleeper_returned(&s, BP_PATIENCE_MS));
		sleeper_join(&s);
		EXPECT_EQ(0, s.ret);
		if (!s.ret)
			ASSERT_EQ(0, bp_release(fd, s.id, 1));
		ASSERT_EQ(0, take_back(self, 0));
	}
	close(fd);
}

TEST_F(deadline, abstime)
{
	const long long timeout = 30 * 1000 * 1000LL;
	struct bufpool_stats b, a;
	long long t0, dl;
	__u32 id[1];

	/* a deadline already passed: nothing queued, nothing changed */
	b = stats(self->fd);
	EXPECT_EQ(-ETIMEDOUT, bp_alloc_t(self->fd, BP_CRIT, 1,
					 BUFPOOL_ALLOC_ABSTIME,
					 (__u64)now_ns() - 1, id));
	a = stats(self->fd);
	EXPECT_TRUE(bp_stats_same(&b, &a));
	EXPECT_EQ(-ENOENT, bp_cancel(self->fd));
	/* a future one: not before it */
	t0 = now_ns();
	dl = t0 + timeout;
	EXPECT_EQ(-ETIMEDOUT, bp_alloc_t(self->fd, BP_CRIT, 1,
					 BUFPOOL_ALLOC_ABSTIME, (__u64)dl, id));
	EXPECT_LE(dl, now_ns());
	EXPECT_EQ(0ULL, bp_nr_queued_now(self->fd));
	/* a buffer there: served, whatever the deadline */
	ASSERT_EQ(0, give_back(self, 0));
	EXPECT_EQ(0, bp_alloc_t(self->fd, BP_CRIT, 1, BUFPOOL_ALLOC_ABSTIME,
				1, id));
	EXPECT_EQ(0, bp_release(self->fd, id, 1));
	EXPECT_EQ(0, take_back(self, 0));
}

/* Has @s returned by @end (bp_now_ms())? */
static bool sleeper_returned_by(struct sleeper *s, long long end)
{
	long long left = end - bp_now_ms();

	return sleeper_returned(s, left > 0 ? (int)left : 0);
}

/* A handler for SIGUSR1 without SA_RESTART: ALLOC returns -EINTR. */
static int sleepers_sigusr1(void)
{
	struct sigaction sa = { .sa_handler = count_signal };

	sigemptyset(&sa.sa_mask);
	return sigaction(SIGUSR1, &sa, NULL);
}

/* End a sleeper that does not return by itself, so it can be joined. */
static bool sleeper_interrupt(struct sleeper *s)
{
	pthread_kill(s->thread, SIGUSR1);
	return sleeper_returned(s, BP_PATIENCE_MS);
}

/*
 * T1 queues the fd's request with no timeout (it sleeps with no timer),
 * T2 finds it queued and gives it a 50 ms deadline.  When T2 times out
 * the request is withdrawn: T1 must learn it too, not sleep on with
 * nothing queued (nothing would ever wake it but a signal).
 */
TEST_F_TIMEOUT(deadline, sleeper_without_timeout_times_out_with_the_request,
	       60)
{
	struct sleeper t1, t2;
	int fd = bp_open(0);
	bool returned;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sleepers_sigusr1());
	ASSERT_EQ(0, sleeper_start(&t1, fd, 0, 0));
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 1, BP_PATIENCE_MS));
	ASSERT_EQ(0, sleeper_start(&t2, fd, 0, 50 * 1000 * 1000ULL));
	returned = sleeper_returned_by(&t2, bp_now_ms() + LIVENESS_MS);
	EXPECT_TRUE(returned) TH_LOG("T2 still asleep past its 50 ms timeout");
	if (!returned)
		ASSERT_TRUE(sleeper_interrupt(&t2));
	sleeper_join(&t2);
	EXPECT_EQ(-ETIMEDOUT, t2.ret);
	returned = sleeper_returned_by(&t1, bp_now_ms() + LIVENESS_MS);
	EXPECT_TRUE(returned)
		TH_LOG("T1 still asleep %d s past the request's deadline, %llu queued",
		       LIVENESS_MS / 1000,
		       (unsigned long long)bp_nr_queued_now(self->fd));
	if (!returned)
		ASSERT_TRUE(sleeper_interrupt(&t1));
	sleeper_join(&t1);
	EXPECT_EQ(-ETIMEDOUT, t1.ret);
	EXPECT_EQ(0ULL, bp_nr_queued_now(self->fd));
	EXPECT_EQ(-ENOENT, bp_cancel(fd));
	close(fd);
}

/*
 * T1 queues the fd's request with a 1 s deadline; T2 and T3 find it
 * queued, each with a timeout of an hour, so all three sleep until the
 * same deadline, the request's.  Whichever withdraws it, the two others
 * must return -ETIMEDOUT too, not queue a new request with their own
 * hour: of T2 and T3, one at least comes after the one that withdrew it.
 */
TEST_F_TIMEOUT(deadline, sleepers_sharing_the_deadline_all_time_out, 60)
{
	const __u64 timeout = 1000 * 1000 * 1000ULL;
	struct sleeper s[3];
	long long end, dl;
	bool returned;
	int fd = bp_open(0), i;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sleepers_sigusr1());
	ASSERT_EQ(0, sleeper_start(&s[0], fd, 0, timeout));
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 1, BP_PATIENCE_MS));
	for (i = 1; i < 3; i++)
		ASSERT_EQ(0, sleeper_start(&s[i], fd, 0, HOUR_NS));
	end = bp_now_ms() + LIVENESS_MS;
	dl = s[0].start_ns + (long long)timeout;
	for (i = 0; i < 3; i++) {
		returned = sleeper_returned_by(&s[i], end);
		/*
		 * Asleep on a request of its own, with its own timeout.  Its
		 * call's start tells one that came after the deadline (the
		 * test's premise broken) from one that joined in time.
		 */
		EXPECT_TRUE(returned)
			TH_LOG("T%d asleep %d s on: %llu queued, began %lld us before deadline",
			       i + 1, LIVENESS_MS / 1000,
			       (unsigned long long)bp_nr_queued_now(self->fd),
			       (dl - s[i].start_ns) / 1000);
		if (!returned)
			ASSERT_TRUE(sleeper_interrupt(&s[i]));
	}
	for (i = 0; i < 3; i++) {
		sleeper_join(&s[i]);
		EXPECT_EQ(-ETIMEDOUT, s[i].ret) TH_LOG("T%d", i + 1);
	}
	EXPECT_EQ(0ULL, bp_nr_queued_now(self->fd));
	EXPECT_EQ(-ENOENT, bp_cancel(fd));
	close(fd);
}

/*
 * Keep-your-place rounds: W1 queues first, W2 second, then W1 is
 * disturbed (how: @mode), then one buffer comes back: W1 must get it.
 */
enum { DISTURB_STOP, DISTURB_RESTART, DISTURB_RACE };

static void waiter_child(int report, char tag, int mode)
{
	struct sigaction sa = { .sa_handler = count_signal };
	int fd = bp_open(0), ret;
	__u32 id[1];

	if (mode == DISTURB_RESTART)
		sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	/* without SA_RESTART: -EINTR, and the same ALLOC again resumes */
	do
		ret = bp_alloc(fd, BP_CRIT, 1, id);
	while (ret == -EINTR);
	bp_put(report, ret ? '!' : tag);
	pause();
	_exit(0);
}

static pid_t spawn_waiter(int report, char tag, int mode)
{
	pid_t pid = bp_fork();

	if (!pid)
		waiter_child(report, tag, mode);
	return pid;
}

/* Is @pid stopped (state T in /proc)? */
static bool stopped(pid_t pid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && (p[2] == 'T' || p[2] == 't');
}

static int wait_stopped(pid_t pid, bool want)
{
	long long end = bp_now_ms() + BP_PATIENCE_MS;

	while (stopped(pid) != want) {
		if (bp_now_ms() > end)
			return -ETIMEDOUT;
		bp_msleep(1);
	}
	return 0;
}

static void keep_place(struct __test_metadata *_metadata,
		       struct _test_data_deadline *self, int mode, int rounds)
{
	unsigned int last = self->st.limit - 1;
	int i, first, second, firsts = 0, k;

	for (i = 0; i < rounds; i++) {
		self->kids[0] = spawn_waiter(self->report[1], 'A', mode);
		ASSERT_LT(0, self->kids[0]);
		self->nr_kids = 1;
		ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 1,
					    BP_PATIENCE_MS));
		self->kids[1] = spawn_waiter(self->report[1], 'B', mode);
		ASSERT_LT(0, self->kids[1]);
		self->nr_kids = 2;
		ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 2,
					    BP_PATIENCE_MS));
		switch (mode) {
		case DISTURB_STOP:
			ASSERT_EQ(0, kill(self->kids[0], SIGSTOP));
			ASSERT_EQ(0, wait_stopped(self->kids[0], true));
			ASSERT_EQ(0, kill(self->kids[0], SIGCONT));
			ASSERT_EQ(0, wait_stopped(self->kids[0], false));
			break;
		case DISTURB_RESTART:
			for (k = 0; k < 10; k++) {
				ASSERT_EQ(0, kill(self->kids[0], SIGUSR1));
				bp_msleep(2);
			}
			break;
		case DISTURB_RACE:
			/* the signal and the grant race */
			ASSERT_EQ(0, kill(self->kids[0], SIGUSR1));
			if (i & 1)
				usleep(i * 50);
			break;
		}
		if (mode != DISTURB_RACE)
			/* its request never left (or is back in) the queue */
			ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 2,
						    BP_PATIENCE_MS));
		ASSERT_EQ(0, give_back(self, last));
		first = bp_get(self->report[0], BP_PATIENCE_MS);
		EXPECT_EQ('A', first) TH_LOG("round %d: %c first", i, first);
		firsts += first == 'A';
		ASSERT_EQ(0, give_back(self, last - 1));
		second = bp_get(self->report[0], BP_PATIENCE_MS);
		EXPECT_EQ(first == 'A' ? 'B' : 'A', second);
		for (k = 0; k < 2; k++) {
			kill(self->kids[k], SIGKILL);
			bp_reap(self->kids[k]);
		}
		self->nr_kids = 0;
		ASSERT_EQ(0, take_back(self, last));
		ASSERT_EQ(0, take_back(self, last - 1));
	}
	TH_LOG("the first waiter was served first in %d of %d rounds", firsts,
	       rounds);
}

TEST_F(deadline, sigstop_sigcont_keeps_place)
{
	if (self->st.limit < 2)
		SKIP(return, "needs limit >= 2");
	keep_place(_metadata, self, DISTURB_STOP, NR_ROUNDS);
}

TEST_F(deadline, sa_restart_signal_keeps_place)
{
	if (self->st.limit < 2)
		SKIP(return, "needs limit >= 2");
	keep_place(_metadata, self, DISTURB_RESTART, NR_ROUNDS);
}

TEST_F_TIMEOUT(deadline, grant_racing_a_signal_is_not_given_away, 120)
{
	if (self->st.limit < 2)
		SKIP(return, "needs limit >= 2");
	keep_place(_metadata, self, DISTURB_RACE, NR_RACES);
}

/* A child interrupted without SA_RESTART; see eintr_leaves_request_queued. */
static void eintr_child(int report, int cmd, __u64 timeout_ns)
{
	struct sigaction sa = { .sa_handler = count_signal };
	int fd = bp_open(0), ret;
	__u32 id[2];

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	ret = bp_alloc_t(fd, BP_CRIT, 1, 0, timeout_ns, id);
	bp_put(report, (char)-ret);
	/* a different request: refused, the first one is still there */
	ret = bp_alloc_t(fd, BP_CRIT, 2, 0, timeout_ns, id);
	bp_put(report, (char)-ret);
	/* told to: the same request again */
	if (bp_get(cmd, BP_PATIENCE_MS) != 'g')
		_exit(3);
	ret = bp_alloc_t(fd, BP_CRIT, 1, 0, timeout_ns, id);
	bp_put(report, ret ? (char)-ret : 'G');
	pause();
	_exit(0);
}

TEST_F(deadline, eintr_leaves_request_queued_until_its_deadline)
{
	const __u64 timeout = 400 * 1000 * 1000ULL;
	struct bufpool_stats b, a;
	long long t0 = now_ns();
	int cmd[2];
	pid_t pid;

	ASSERT_EQ(0, pipe2(cmd, O_CLOEXEC));
	pid = bp_fork();
	if (!pid)
		eintr_child(self->report[1], cmd[0], timeout);
	ASSERT_LT(0, pid);
	self->kids[self->nr_kids++] = pid;
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 1, BP_PATIENCE_MS));
	b = stats(self->fd);
	ASSERT_EQ(0, kill(pid, SIGUSR1));
	EXPECT_EQ(EINTR, bp_get(self->report[0], BP_PATIENCE_MS));
	EXPECT_EQ(EBUSY, bp_get(self->report[0], BP_PATIENCE_MS));
	/* still queued, in its place, nothing else changed */
	a = stats(self->fd);
	EXPECT_EQ(1ULL, a.queued[BP_CRIT]);
	EXPECT_EQ(b.in_use, a.in_use);
	/* nobody waits on it: withdrawn at its deadline, not before */
	EXPECT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 0, BP_PATIENCE_MS));
	EXPECT_LE((long long)timeout, now_ns() - t0);
	/* and the same ALLOC then says so */
	ASSERT_EQ(0, bp_put(cmd[1], 'g'));
	EXPECT_EQ(ETIMEDOUT, bp_get(self->report[0], BP_PATIENCE_MS));
	a = stats(self->fd);
	EXPECT_EQ(0ULL, bp_nr_queued(&a));
	EXPECT_EQ(b.in_use, a.in_use);
	EXPECT_EQ(b.allocations, a.allocations);
	close(cmd[0]);
	close(cmd[1]);
}

TEST_F(deadline, eintr_keeps_a_grant_for_the_next_alloc)
{
	struct bufpool_stats b, a;
	int cmd[2];
	pid_t pid;

	ASSERT_EQ(0, pipe2(cmd, O_CLOEXEC));
	pid = bp_fork();
	if (!pid)
		eintr_child(self->report[1], cmd[0], 0);
	ASSERT_LT(0, pid);
	self->kids[self->nr_kids++] = pid;
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 1, BP_PATIENCE_MS));
	ASSERT_EQ(0, kill(pid, SIGUSR1));
	EXPECT_EQ(EINTR, bp_get(self->report[0], BP_PATIENCE_MS));
	EXPECT_EQ(EBUSY, bp_get(self->report[0], BP_PATIENCE_MS));
	b = stats(self->fd);
	/* nobody sleeps on the request: the buffer is granted to it */
	ASSERT_EQ(0, give_back(self, 0));
	a = stats(self->fd);
	EXPECT_EQ(b.grants_waited + 1, a.grants_waited);
	EXPECT_EQ(0ULL, bp_nr_queued(&a));
	EXPECT_EQ(b.in_use, a.in_use);
	/* and collected by the same ALLOC */
	ASSERT_EQ(0, bp_put(cmd[1], 'g'));
	EXPECT_EQ('G', bp_get(self->report[0], BP_PATIENCE_MS));
	EXPECT_EQ(b.allocations + 1, stats(self->fd).allocations);
	/* its death gives it back */
	kill(pid, SIGKILL);
	bp_reap(pid);
	self->nr_kids = 0;
	EXPECT_EQ(0, take_back(self, 0));
	close(cmd[0]);
	close(cmd[1]);
}

TEST_F(deadline, unclaimed_offers_lapse)
{
	struct bufpool_stats b, a;
	int nb[NR_OFFERED], i;
	unsigned int last = self->st.limit - 1;
	struct sleeper s;
	bool served;
	__u32 id[1];

	if (self->st.limit < NR_OFFERED + 1)
		SKIP(return, "needs limit >= %d", NR_OFFERED + 1);
	ASSERT_EQ(0, bp_sysfs_write("policy", "offer"));
	/* NR_OFFERED non-blocking requests, then a blocking one behind */
	for (i = 0; i < NR_OFFERED; i++) {
		nb[i] = bp_open(O_NONBLOCK);
		ASSERT_LE(0, nb[i]);
		ASSERT_EQ(-EAGAIN, bp_alloc(nb[i], BP_CRIT, 1, id));
	}
	ASSERT_EQ(0, sleeper_start(&s, self->fd, 0, 0));
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, NR_OFFERED + 1,
				    BP_PATIENCE_MS));
	b = stats(self->fd);
	/* as many buffers as offers: the first NR_OFFERED are woken */
	for (i = 0; i < NR_OFFERED; i++)
		ASSERT_EQ(0, give_back(self, last - i));
	for (i = 0; i < NR_OFFERED; i++)
		EXPECT_TRUE(bp_readable(nb[i], BP_PATIENCE_MS));
	/* they never try again: their offers lapse and the sleeper is served */
	served = sleeper_returned(&s, BP_PATIENCE_MS);
	EXPECT_TRUE(served)
		TH_LOG("a fitting ALLOC stays blocked behind unclaimed offers, free %llu",
		       (unsigned long long)stats(self->fd).free);
	if (!served) {
		/* still blocked: closing the offered fds lets it go */
		for (i = 0; i < NR_OFFERED; i++) {
			close(nb[i]);
			nb[i] = -1;
		}
		ASSERT_TRUE(sleeper_returned(&s, BP_PATIENCE_MS));
	}
	sleeper_join(&s);
	EXPECT_EQ(0, s.ret);
	a = stats(self->fd);
	/* the lapsed offers were spurious wake-ups */
	EXPECT_LE(b.spurious_wakeups + NR_OFFERED, a.spurious_wakeups);
	EXPECT_EQ(0ULL, bp_nr_queued(&a));
	for (i = 0; i < NR_OFFERED; i++)
		if (nb[i] >= 0)
			EXPECT_FALSE(bp_readable(nb[i], 0));
	/* trying again late is a new request, served from what is free */
	if (nb[0] >= 0) {
		EXPECT_EQ(0, bp_alloc(nb[0], BP_CRIT, 1, id));
		EXPECT_EQ(0, bp_release(nb[0], id, 1));
	}
	if (!s.ret)
		EXPECT_EQ(0, bp_release(self->fd, s.id, 1));
	for (i = 0; i < NR_OFFERED; i++)
		if (nb[i] >= 0)
			close(nb[i]);
	ASSERT_EQ(0, bp_sysfs_write("policy", "handoff"));
	for (i = 0; i < NR_OFFERED; i++)
		EXPECT_EQ(0, take_back(self, last - i));
}

TEST_HARNESS_MAIN
