// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool with large buffers (run it at bufsize=4194304): pages are never
 * allocated nor zeroed under the pool lock, and every long stretch of
 * that work yields the CPU between two buffers.  Exercised here: an ALLOC
 * that makes the pool grow by many buffers at once, a close() of a file
 * that holds many written buffers, and a queued request that a release
 * lets through but which needs memory the pool does not have yet (grown
 * by the backend's work item).  What decides is the kernel: on the debug
 * kernel a long section with preemption off is a soft-lockup or latency
 * report in dmesg, which the VM run counts as a failure.  Meanwhile two
 * figures are taken and printed, never asserted: a thread on the other
 * CPU takes the pool lock in a loop (STATS) and records its longest wait,
 * and a SCHED_FIFO thread on the test's CPU sleeps 1 ms at a time and
 * records how late it woke at most (how long that CPU could not be
 * preempted; with preempt=full only the spinlock sections count).  Where
 * the kernel has the preemptoff tracer (the debug kernel), the longest
 * section with preemption off during the test is printed too, with the
 * function that ended it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_trace_util.h"

/* Start the preemptoff tracer if the kernel has it: true if it runs. */
static bool preemptoff_start(void)
{
	return !tr_write("current_tracer", "preemptoff") &&
	       !tr_write("tracing_max_latency", "0") &&
	       !tr_write("tracing_on", "1");
}

/* The longest preempt-off section seen (us), where it began and ended. */
static void preemptoff_stop(void)
{
	char lat[64], line[256], from[256] = "?\n", to[256] = "?\n";
	FILE *f;

	tr_read("tracing_max_latency", lat, sizeof(lat));
	f = fopen(TRACEFS "/trace", "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (strstr(line, "=> started at:"))
				snprintf(from, sizeof(from), "%s",
					 strstr(line, "at:") + 3);
			if (strstr(line, "=> ended at:"))
				snprintf(to, sizeof(to), "%s",
					 strstr(line, "at:") + 3);
		}
		fclose(f);
	}
	from[strcspn(from, "\n")] = '\0';
	ksft_print_msg("figure: longest preempt-off section %s us, from%s to%s",
		       lat, from, to);
	tr_write("current_tracer", "nop");
}

/* at most this much memory in buffers at once, whatever the bufsize */
#define LAT_BYTES	(160ULL << 20)

struct spinner {
	pthread_t thread, sleeper;
	int fd;
	bool stop;
	long long max_ns;
	unsigned long calls;
	long long late_max_ns;
	bool fifo;
	bool tracing;
};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);	/* best effort */
}

/* STATS takes the pool lock: how long it waits is how long it is held. */
static void *spin_stats(void *arg)
{
	struct spinner *sp = arg;
	struct bufpool_stats st;
	long long t0, d;

	pin(1);
	while (!__atomic_load_n(&sp->stop, __ATOMIC_RELAXED)) {
		t0 = now_ns();
		if (bp_stats(sp->fd, &st))
			break;
		d = now_ns() - t0;
		if (d > sp->max_ns)
			sp->max_ns = d;
		sp->calls++;
	}
	return NULL;
}

/* SCHED_FIFO on CPU 0: 1 ms sleeps, the worst lateness of a wake-up. */
static void *sleep_fifo(void *arg)
{
	struct sched_param sp = { .sched_priority = 50 };
	struct spinner *s = arg;
	struct timespec ts;
	long long due, late;

	pin(0);
	s->fifo = !pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		due = ts.tv_sec * 1000000000LL + ts.tv_nsec + 1000000;
		ts.tv_sec = due / 1000000000LL;
		ts.tv_nsec = due % 1000000000LL;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
				       NULL) == EINTR)
			;
		late = now_ns() - due;
		if (late > s->late_max_ns)
			s->late_max_ns = late;
	}
	return NULL;
}

FIXTURE(latency) {
	struct bp_tunables saved;
	struct bufpool_stats st;
	struct spinner sp;
	unsigned int n;		/* buffers a test takes */
	int fd;
};

FIXTURE_SETUP(latency)
{
	unsigned int limit;

	self->fd = bp_open(0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	ASSERT_EQ(0, bp_tunables_save(&self->saved));
	ASSERT_EQ(0, bp_stats(self->fd, &self->st));
	limit = LAT_BYTES / self->st.bufsize;
	if (limit > BUFPOOL_ALLOC_MAX)
		limit = BUFPOOL_ALLOC_MAX;
	ASSERT_LE(4U, limit);
	/*
	 * A limit of 1 first gives back what earlier tests left cached, then
	 * a reserve of 0: every buffer beyond the one cached is grown.
	 */
	ASSERT_EQ(0, bp_tunables_set(1, 0, 0));
	ASSERT_EQ(0, bp_tunables_set(limit, 0, 0));
	ASSERT_EQ(0, bp_stats(self->fd, &self->st));
	self->n = limit;
	self->sp.fd = bp_open(0);
	ASSERT_LE(0, self->sp.fd);
	pin(0);
	self->sp.tracing = preemptoff_start();
	ASSERT_EQ(0, pthread_create(&self->sp.thread, NULL, spin_stats,
				    &self->sp));
	ASSERT_EQ(0, pthread_create(&self->sp.sleeper, NULL, sleep_fifo,
				    &self->sp));
}

FIXTURE_TEARDOWN(latency)
{
	struct bufpool_stats st;

	__atomic_store_n(&self->sp.stop, true, __ATOMIC_RELAXED);
	pthread_join(self->sp.thread, NULL);
	pthread_join(self->sp.sleeper, NULL);
	if (self->sp.tracing)
		preemptoff_stop();
	bp_stats(self->fd, &st);
	ksft_print_msg("figure: bufsize %llu x %u: STATS waited %lld us at most (%lu calls)\n",
		       (unsigned long long)self->st.bufsize, self->n,
		       self->sp.max_ns / 1000, self->sp.calls);
	ksft_print_msg("figure: %s sleeper woke %lld us late at most; %llu page failures\n",
		       self->sp.fifo ? "SCHED_FIFO" : "SCHED_OTHER",
		       self->sp.late_max_ns / 1000,
		       (unsigned long long)st.page_alloc_failures);
	close(self->sp.fd);
	/* the buffers of a closed file come back after their zeroing */
	EXPECT_EQ(0, bp_wait_in_use(self->fd, 0, BP_PATIENCE_MS));
	close(self->fd);
	EXPECT_EQ(0, bp_tunables_restore(&self->saved));
}

/*
 * Every buffer reads zero at the first and last byte of every 16th page
 * and of its last page (a sample: faulting all of them in takes minutes
 * on the debug kernel).
 */
static bool all_zero(int fd, const __u32 *ids, unsigned int n, size_t bufsize)
{
	size_t page = sysconf(_SC_PAGESIZE), off;
	unsigned int i;
	bool ok = true;
	char *p;

	for (i = 0; i < n && ok; i++) {
		p = mmap(NULL, bufsize, PROT_READ, MAP_SHARED, fd,
			 (off_t)ids[i] * bufsize);
		if (p == MAP_FAILED)
			return false;
		for (off = 0; off < bufsize && ok; off += 16 * page)
			ok = !p[off] && !p[off + page - 1];
		ok = ok && !p[bufsize - 1] && !p[bufsize - page];
		munmap(p, bufsize);
	}
	return ok;
}

/*
 * Write the buffers through a mapping, which makes them dirty: each is
 * zeroed whole when it comes back.  The first, every 16th and the last
 * page are enough to be checked after.
 */
static bool scribble(int fd, const __u32 *ids, unsigned int n, size_t bufsize)
{
	size_t page = sysconf(_SC_PAGESIZE), off;
	unsigned int i;
	char *p;

	for (i = 0; i < n; i++) {
		p = mmap(NULL, bufsize, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 (off_t)ids[i] * bufsize);
		if (p == MAP_FAILED)
			return false;
		for (off = 0; off < bufsize; off += 16 * page) {
			p[off] = (char)(i + 1);
			p[off + page - 1] = (char)(i + 1);
		}
		p[bufsize - page] = (char)(i + 1);
		p[bufsize - 1] = (char)(i + 1);
		munmap(p, bufsize);
	}
	return true;
}

/* generous: the debug kernel zeroes 160 MiB slowly under emulation */
#define LAT_TIMEOUT	600

TEST_F_TIMEOUT(latency, grow_many_at_once, LAT_TIMEOUT)
{
	__u32 ids[BUFPOOL_ALLOC_MAX];
	struct bufpool_stats st;

	/* a fresh pool of n buffers in one call: all of them created */
	ASSERT_EQ(0, bp_alloc(self->fd, BP_CRIT, self->n, ids));
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	EXPECT_EQ(self->n, st.in_use);
	EXPECT_LE(self->n, st.allocated);
	EXPECT_TRUE(all_zero(self->fd, ids, self->n, st.bufsize));
	EXPECT_EQ(0, bp_release(self->fd, ids, self->n));
}

TEST_F_TIMEOUT(latency, close_many_written, LAT_TIMEOUT)
{
	__u32 ids[BUFPOOL_ALLOC_MAX];
	struct bufpool_stats st;
	int fd2 = bp_open(0);

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, bp_alloc(fd2, BP_CRIT, self->n, ids));
	ASSERT_TRUE(scribble(fd2, ids, self->n, self->st.bufsize));
	/* close zeroes all of them, yielding between two */
	close(fd2);
	ASSERT_EQ(0, bp_wait_in_use(self->fd, 0, BP_PATIENCE_MS));
	/* and the next holder sees zeroes only */
	ASSERT_EQ(0, bp_alloc(self->fd, BP_CRIT, self->n, ids));
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	EXPECT_TRUE(all_zero(self->fd, ids, self->n, st.bufsize));
	EXPECT_EQ(0, bp_release(self->fd, ids, self->n));
}

struct waiter_arg {
	int fd;
	unsigned int count;
	__u32 ids[BUFPOOL_ALLOC_MAX];
	int ret;
};

static void *wait_alloc(void *arg)
{
	struct waiter_arg *wa = arg;

	wa->ret = bp_alloc(wa->fd, BP_CRIT, wa->count, wa->ids);
	return NULL;
}

TEST_F_TIMEOUT(latency, release_grows_for_the_head, LAT_TIMEOUT)
{
	struct waiter_arg wa = { .count = self->n };
	struct bufpool_stats st;
	pthread_t t;
	__u32 id;

	/* one buffer held, so that a request for all of them must queue */
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	ASSERT_GE(1ULL, st.allocated) TH_LOG("an earlier test left a cache");
	ASSERT_EQ(0, bp_alloc(self->fd, BP_CRIT, 1, &id));
	wa.fd = bp_open(0);
	ASSERT_LE(0, wa.fd);
	ASSERT_EQ(0, pthread_create(&t, NULL, wait_alloc, &wa));
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_CRIT, 1, BP_PATIENCE_MS));
	/*
	 * Giving back the one lets the head in: the cache holds one of what
	 * it needs, the rest is grown by the backend's work item.
	 */
	ASSERT_EQ(0, bp_release(self->fd, &id, 1));
	pthread_join(t, NULL);
	ASSERT_EQ(0, wa.ret);
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	EXPECT_EQ(wa.count, st.in_use);
	EXPECT_TRUE(all_zero(wa.fd, wa.ids, wa.count, st.bufsize));
	close(wa.fd);
}

TEST_HARNESS_MAIN
