// SPDX-License-Identifier: GPL-2.0
/*
 * Microbenchmark (printed, never asserted): ns per alloc+release pair of
 * one buffer, uncontended and with 2 threads contending for a pool of one
 * buffer (each waits on a condition variable signalled by ->wake()),
 * against a plain pthread mutex + condition variable pool doing the same
 * work (a free list, zeroing the page on release), in the same run; under
 * the hand-off and the adaptive policies.  For the contended runs: the
 * waits (p99, max), wake-ups per waited request, spurious wake-ups and
 * barges.  A timer thread plays the kernel's hrtimer for the adaptive
 * policy's park window: it sleeps until the timer's expiry and fires it.
 * Last, kbench's sessions on one thread playing 2 CPUs, far from the
 * limit: how often the magazines were drained, and the memory grown.
 *
 * Usage: bench [iterations [only]]: with @only, just the runs whose label
 * contains it (e.g. "limit 1 (adaptive)", "re-taking" or "sessions"), for
 * a profile.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <linux/err.h>
#include "harness.h"

#define BUFSZ	4096

static unsigned long iters = 200000;
static const char *only;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* ---- the plain pool ---- */
struct plain_buf {
	struct plain_buf *next;
	void *addr;
};

struct plain_pool {
	pthread_mutex_t m;
	pthread_cond_t cv;
	struct plain_buf *free;
};

static void plain_init(struct plain_pool *p, unsigned int n)
{
	pthread_mutex_init(&p->m, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->free = NULL;
	while (n--) {
		struct plain_buf *b = malloc(sizeof(*b));

		b->addr = calloc(1, BUFSZ);
		b->next = p->free;
		p->free = b;
	}
}

static void plain_fini(struct plain_pool *p)
{
	while (p->free) {
		struct plain_buf *b = p->free;

		p->free = b->next;
		free(b->addr);
		free(b);
	}
}

static struct plain_buf *plain_get(struct plain_pool *p)
{
	struct plain_buf *b;

	pthread_mutex_lock(&p->m);
	while (!p->free)
		pthread_cond_wait(&p->cv, &p->m);
	b = p->free;
	p->free = b->next;
	pthread_mutex_unlock(&p->m);
	return b;
}

static void plain_put(struct plain_pool *p, struct plain_buf *b)
{
	memset(b->addr, 0, BUFSZ);
	pthread_mutex_lock(&p->m);
	b->next = p->free;
	p->free = b;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->m);
}

static struct plain_pool pp;

static void *plain_loop(void *arg)
{
	unsigned long i;

	(void)arg;
	for (i = 0; i < iters; i++) {
		struct plain_buf *b = plain_get(&pp);

		((char *)b->addr)[0] = 1;
		plain_put(&pp, b);
	}
	return NULL;
}

/* ---- bufpool ---- */
struct bent {
	struct bufpool_entity e;
	pthread_mutex_t m;
	pthread_cond_t cv;
};

static struct bufpool *pool;
static int timer_stop;
static unsigned long long bp_barges_last;

/* The kernel's hrtimer: fire the park window's timer when it is due. */
static void *timer_loop(void *arg)
{
	struct timespec ts;
	u64 exp;

	(void)arg;
	/* an hrtimer has no slack: no 50 us of the default timer slack */
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	while (!__atomic_load_n(&timer_stop, __ATOMIC_RELAXED)) {
		if (!bp_park_pending(pool)) {
			ts = (struct timespec){ 0, 20000 };
			nanosleep(&ts, NULL);
			continue;
		}
		exp = bp_park_expires(pool);
		ts.tv_sec = exp / 1000000000ull;
		ts.tv_nsec = exp % 1000000000ull;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		bp_run_park(pool, false);
	}
	return NULL;
}

/* waits of the contended runs, ns, one array per thread */
static double *waits[2];
static unsigned long nwaits[2];

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void b_wake(struct bufpool_waiter *w)
{
	struct bent *b = w->target;

	pthread_mutex_lock(&b->m);
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->m);
}

static void *bp_loop(void *arg)
{
	unsigned int me = (unsigned int)(uintptr_t)arg;
	struct bufpool_buf *buf;
	struct bent b;
	unsigned long i;
	double t0;
	u32 id;

	pthread_mutex_init(&b.m, NULL);
	pthread_cond_init(&b.cv, NULL);
	bufpool_entity_init(pool, &b.e, b_wake, &b);
	for (i = 0; i < iters; i++) {
		if (bufpool_alloc(&b.e, BUFPOOL_CLASS_NORMAL, 1, 0, &buf)) {
			t0 = now();
			pthread_mutex_lock(&b.m);
			while (!bufpool_ready(&b.e))
				pthread_cond_wait(&b.cv, &b.m);
			pthread_mutex_unlock(&b.m);
			if (bufpool_alloc(&b.e, BUFPOOL_CLASS_NORMAL, 1, 0, &buf))
				abort();
			waits[me][nwaits[me]++] = now() - t0;
		}
		((char *)buf->addr)[0] = 1;
		id = buf->id;
		if (bufpool_release(&b.e, &id, 1))
			abort();
	}
	bufpool_entity_destroy(&b.e);
	return NULL;
}

/*
 * The threads of a run, each on a CPU of its own when there are enough:
 * "contended" must mean running at the same time, not taking turns on one
 * CPU as the scheduler happens to place them (which makes either pool
 * look uncontended, and the ratio a matter of luck).
 */
static double run(void *(*fn)(void *), unsigned int nthr)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_attr_t attr;
	pthread_t t[2];
	cpu_set_t set;
	unsigned int i;
	double t0 = now();

	for (i = 0; i < nthr; i++) {
		pthread_attr_init(&attr);
		if (nthr > 1 && ncpu >= nthr) {
			CPU_ZERO(&set);
			CPU_SET(i, &set);
			pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
		}
		pthread_create(&t[i], &attr, fn, (void *)(uintptr_t)i);
		pthread_attr_destroy(&attr);
	}
	for (i = 0; i < nthr; i++)
		pthread_join(t[i], NULL);
	return (now() - t0) / (iters * nthr);
}

static void bench(const char *what, unsigned int limit, unsigned int nthr,
		  unsigned int policy)
{
	struct bufpool_config cfg = { .limit = limit, .bufsize = BUFSZ };
	struct bufpool_tunables tun;
	struct bufpool_stats st;
	unsigned long i, n = 0;
	pthread_t timer;
	const char *why;
	double a, b, *all;

	if (only && !strstr(what, only))
		return;
	pool = bufpool_create(&cfg);
	if (IS_ERR(pool))
		abort();
	bufpool_get_tunables(pool, &tun);
	tun.policy = policy;
	if (bufpool_set_tunables(pool, &tun, &why))
		abort();
	for (i = 0; i < 2; i++) {
		waits[i] = malloc(iters * sizeof(double));
		nwaits[i] = 0;
	}
	timer_stop = 0;
	pthread_create(&timer, NULL, timer_loop, NULL);
	a = run(bp_loop, nthr);
	__atomic_store_n(&timer_stop, 1, __ATOMIC_RELAXED);
	pthread_join(timer, NULL);
	bufpool_get_stats(pool, &st);
	bp_barges_last = bp_barges(pool);
	bufpool_destroy(pool);
	plain_init(&pp, limit);
	b = run(plain_loop, nthr);
	plain_fini(&pp);
	printf("bench: %-34s bufpool %7.1f ns/pair   mutex+condvar pool %7.1f ns/pair   (%.1fx)\n",
	       what, a, b, a / b);
	all = malloc((nwaits[0] + nwaits[1] + 1) * sizeof(double));
	for (i = 0; i < 2; i++) {
		memcpy(all + n, waits[i], nwaits[i] * sizeof(double));
		n += nwaits[i];
		free(waits[i]);
	}
	qsort(all, n, sizeof(double), cmp_d);
	if (n)
		printf("bench:   %lu waits, %.3f wake-ups/wait, %llu spurious, %llu barges, wait p99 %.1f us, max %.1f us\n",
		       n, st.grants_waited ? (double)st.wakeups / st.grants_waited : 0.0,
		       (unsigned long long)st.spurious_wakeups,
		       bp_barges_last, all[n * 99 / 100] / 1000, all[n - 1] / 1000);
	free(all);
}

static double barge_woke;

static void barge_wake(struct bufpool_waiter *w)
{
	barge_woke = now();
}

/*
 * The adaptive bound on one thread, free of the scheduler: entity a
 * releases and re-takes the only buffer in a loop while b is queued,
 * firing the park timer once it is due, as the timer interrupt would,
 * and running its work;
 * how long until b is granted (the window), and how many barges before.
 */
static void bench_barge(void)
{
	struct bufpool_config cfg = { .limit = 1, .bufsize = BUFSZ };
	struct bufpool_entity a, b;
	struct bufpool_tunables tun;
	struct bufpool_buf *buf;
	unsigned long n = 0;
	const char *why;
	double t0;
	u32 id;

	if (only && !strstr("adaptive, one thread re-taking the buffer", only))
		return;
	pool = bufpool_create(&cfg);
	if (IS_ERR(pool))
		abort();
	bufpool_get_tunables(pool, &tun);
	tun.policy = BUFPOOL_POLICY_ADAPTIVE;
	if (bufpool_set_tunables(pool, &tun, &why))
		abort();
	bufpool_entity_init(pool, &a, barge_wake, NULL);
	bufpool_entity_init(pool, &b, barge_wake, NULL);
	if (bufpool_alloc(&a, BUFPOOL_CLASS_NORMAL, 1, 0, &buf))
		abort();
	barge_woke = 0;
	t0 = now();
	if (bufpool_alloc(&b, BUFPOOL_CLASS_NORMAL, 1, 0, &buf) != -EAGAIN)
		abort();
	for (;;) {
		id = buf->id;
		if (bufpool_release(&a, &id, 1))
			abort();
		/* the timer interrupt and its work, once due */
		bp_run_park(pool, false);
		if (bufpool_alloc(&a, BUFPOOL_CLASS_NORMAL, 1, 0, &buf))
			break;
		n++;
	}
	/* a queued between a release and its next try: the timer's grant */
	while (!barge_woke)
		bp_run_park(pool, false);
	printf("bench: adaptive, one thread re-taking the buffer: the queued entity granted after %.1f us, %lu barges\n",
	       (barge_woke - t0) / 1000, n);
	bufpool_entity_destroy(&a);
	bufpool_entity_destroy(&b);
	bufpool_destroy(pool);
}

/*
 * Sessions as tools/bench/kbench runs them, on one thread that plays both
 * CPUs in a fixed pseudo-random order: 64 entities, 32 a CPU, each takes
 * a NORMAL buffer, waits for one of 8 server slots, is served a few
 * steps, takes a CRITICAL buffer and releases both; limit 2 * 64 + 5,
 * reserve 4, so the pool is never near its limit.  How often the
 * magazines were drained (each drain sends every CPU to the pool lock
 * until a refill), per 1e6 calls, and how much memory the pool grew to.
 */
static void bench_sessions(void)
{
	enum { NSESS = 64, MAXCONN = 8 };
	struct bufpool_config cfg = { .limit = 2 * NSESS + 5, .reserve = 4,
				      .bufsize = BUFSZ };
	static struct bufpool_entity e[NSESS];
	u32 ids[NSESS][2];
	unsigned char phase[NSESS] = { 0 };
	unsigned int seed = 1, i, s, busy = 0;
	unsigned long calls = 0, allocs = 0;
	unsigned long long fast0, drains0;
	struct bufpool_stats st;
	struct bufpool_buf *buf;
	int ret;

	if (only && !strstr("sessions", only))
		return;
	pool = bufpool_create(&cfg);
	if (IS_ERR(pool))
		abort();
	for (i = 0; i < NSESS; i++)
		bufpool_entity_init(pool, &e[i], barge_wake, NULL);
	bufpool_get_stats(pool, &st);
	drains0 = st.drains;
	fast0 = bp_fast_allocs(pool);
	while (calls < 2 * iters) {
		s = rand_r(&seed) % NSESS;
		bp_cpu = s / (NSESS / 2);
		switch (phase[s]) {
		case 0:		/* the request buffer */
		case 3:		/* the response buffer */
			ret = bufpool_alloc(&e[s], phase[s] ? BUFPOOL_CLASS_CRITICAL :
					    BUFPOOL_CLASS_NORMAL, 1, 0, &buf);
			calls++;
			allocs++;
			if (ret)	/* never waits: far from the limit */
				abort();
			ids[s][!!phase[s]] = buf->id;
			phase[s]++;
			break;
		case 1:		/* a server slot */
			if (busy < MAXCONN) {
				busy++;
				phase[s]++;
			}
			break;
		case 2:		/* served */
			phase[s] += rand_r(&seed) % 4 == 0;
			break;
		case 4:
			if (bufpool_release(&e[s], ids[s], 2))
				abort();
			calls++;
			busy--;
			phase[s] = 0;
			break;
		}
	}
	bp_cpu = 0;
	bufpool_get_stats(pool, &st);
	printf("bench: sessions (64 on 2 CPUs, maxconn 8, limit 133, reserve 4): %.1f drains per 1e6 calls, %llu of %lu allocations took the pool lock, %llu buffers allocated, %llu in use at most\n",
	       (st.drains - drains0) * 1e6 / calls,
	       allocs - (bp_fast_allocs(pool) - fast0), allocs,
	       (unsigned long long)st.allocated,
	       (unsigned long long)st.peak_in_use);
	for (i = 0; i < NSESS; i++)
		bufpool_entity_destroy(&e[i]);
	bufpool_destroy(pool);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		iters = strtoul(argv[1], NULL, 0);
	if (argc > 2)
		only = argv[2];
	printf("bench: %lu alloc+release pairs per thread, 4 KiB buffers zeroed on release\n",
	       iters);
	bench("uncontended (1 thread, limit 4)", 4, 1, BUFPOOL_POLICY_HANDOFF);
	bench("2 threads, limit 4 (lock only)", 4, 2, BUFPOOL_POLICY_HANDOFF);
	bench("2 threads, limit 1 (hand-off)", 1, 2, BUFPOOL_POLICY_HANDOFF);
	bench("2 threads, limit 4 (adaptive)", 4, 2, BUFPOOL_POLICY_ADAPTIVE);
	bench("2 threads, limit 1 (adaptive)", 1, 2, BUFPOOL_POLICY_ADAPTIVE);
	bench_barge();
	bench_sessions();
	return 0;
}
