// SPDX-License-Identifier: GPL-2.0
/*
 * Multi-threaded stress of the bufpool core, meant for ThreadSanitizer:
 * threads alloc (blocking, with timeouts that cancel and so race with the
 * grant), release, release bogus ids, and destroy/re-create their
 * entities at random on a small pool whose page allocator fails now and
 * then; a retry thread plays the kernel's delayed work; a shrinker thread
 * gives cached buffers back as memory pressure would (a held buffer it
 * took would no longer be found, or hold its owner's data, at release);
 * a checker thread runs the invariant checker under the pool lock all
 * along.  ->wake()
 * signals a per-entity condition variable, as wake_up() would.
 *
 * Usage: stress [seconds] [threads] [adaptive|percpu]   (default 2 s, 4
 * threads, hand-off; "adaptive" runs the adaptive policy, the retry thread
 * then also fires the park window's timer when it is due; "percpu" a pool
 * large enough for the per-CPU magazines to serve, with two more threads
 * that share one entity, which marks what it writes and writes half of
 * its buffers, so that the others go back to its slot)
 *
 * Every thread runs on an emulated CPU of its own and migrates now and
 * then, so the magazines and their drains race with each other.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/err.h>
#include "harness.h"

#define ENTS_PER_THREAD	2
#define MAX_THREADS	16

struct sent {
	struct bufpool_entity e;
	pthread_mutex_t m;
	pthread_cond_t cv;
	unsigned int wakes;		/* under @m */
	u32 ids[BUFPOOL_ALLOC_MAX];	/* owner thread only */
	unsigned int nr;
};

static struct bufpool *pool;
static struct sent ents[MAX_THREADS * ENTS_PER_THREAD];
static unsigned int nr_ents;
static pthread_rwlock_t reg = PTHREAD_RWLOCK_INITIALIZER; /* entity set */
static int stop;
static bool adaptive;
static unsigned long long barges;
#define STOPPED()	__atomic_load_n(&stop, __ATOMIC_RELAXED)
#define STOP()		__atomic_store_n(&stop, 1, __ATOMIC_RELAXED)
static unsigned long nr_ops, nr_waits, nr_cancels, nr_races, nr_checks;
static int failed;
static bool tuning;	/* a thread changes limit and reserve */
static bool percpu;	/* a large pool: the magazines serve */
static struct sent shared;	/* used by the sharer threads at once */
static unsigned long nr_shared;	/* buffers they got and gave back */
static unsigned long nr_slotted;	/* their releases that left a slot full */

#define DIE(fmt, ...) do {						\
	fprintf(stderr, "stress: " fmt "\n", ##__VA_ARGS__);		\
	abort();							\
} while (0)

/* At the change of state, under the pool lock. */
static void s_notify(struct bufpool_waiter *w)
{
	struct bp_snap snap;

	if (!bp_pool_locked(pool))
		DIE("->notify() without the pool lock");
	bp_snapshot(pool, &snap);
	if (w->state == BUFPOOL_WAIT_GRANTED &&
	    snap.in_use + snap.headroom[w->class] > snap.limit)
		DIE("grant beyond the budget");
}

/* Once the lock is dropped: the sleeper looks at the state again. */
static void s_wake(struct bufpool_waiter *w)
{
	struct sent *s = w->target;

	if (bp_pool_locked(pool))
		DIE("->wake() with the pool lock held");
	pthread_mutex_lock(&s->m);
	s->wakes++;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->m);
}

static void take(struct sent *s, struct bufpool_buf **bufs, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!bp_mem_zeroed(bp_pool_mem(pool), bufs[i]))
			DIE("buffer %u handed out dirty", bufs[i]->id);
		if (bufs[i]->owner != &s->e)
			DIE("buffer %u handed out with owner %p", bufs[i]->id,
			    bufs[i]->owner);
		memset(bufs[i]->addr, 0x5a, 64);
		s->ids[s->nr++] = bufs[i]->id;
	}
}

/* Blocking alloc: wait on the condvar, give up (cancel) after a while. */
static void do_alloc(struct sent *s, unsigned int *seed)
{
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];
	unsigned int class = rand_r(seed) % BUFPOOL_NR_CLASSES;
	unsigned int count = 1 + rand_r(seed) % 3;
	struct timespec ts;
	int ret, tries = 0;

	if (s->nr + count > BUFPOOL_ALLOC_MAX)
		return;
	ret = bufpool_alloc(&s->e, class, count, 0, bufs);
	/* never fits, not without its own buffers, or CRITICAL refused */
	if (ret == -ENOSPC || ret == -EDEADLK || ret == -EPERM)
		return;
	if (ret == 0) {
		take(s, bufs, count);
		return;
	}
	if (ret != -EAGAIN)
		DIE("alloc: %d", ret);
	__atomic_add_fetch(&nr_waits, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&s->m);
	while (!bufpool_ready(&s->e) && tries++ < 3) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20000 + rand_r(seed) % 200000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&s->cv, &s->m, &ts);
	}
	pthread_mutex_unlock(&s->m);

	if (!bufpool_ready(&s->e) || rand_r(seed) % 8 == 0) {
		/* timeout or signal: withdraw, maybe after the grant */
		bool was_ready = bufpool_ready(&s->e);

		ret = bufpool_cancel(&s->e);
		if (ret)
			DIE("cancel of a pending request: %d", ret);
		__atomic_add_fetch(was_ready ? &nr_races : &nr_cancels, 1,
				   __ATOMIC_RELAXED);
		if (s->e.waiter.state != BUFPOOL_WAIT_IDLE)
			DIE("cancelled waiter in state %u", s->e.waiter.state);
		return;
	}
	ret = bufpool_alloc(&s->e, class, count, 0, bufs);
	if ((ret == -ENOSPC || ret == -EDEADLK) && tuning)
		return;		/* a lower limit made it hopeless */
	if (ret)
		DIE("collect after the wake-up: %d", ret);
	take(s, bufs, count);
}

static void do_release(struct sent *s, unsigned int *seed)
{
	unsigned int n, i;
	int ret;

	if (!s->nr)
		return;
	n = 1 + rand_r(seed) % s->nr;
	for (i = 0; i < s->nr; i++) {
		struct bufpool_buf *buf = bufpool_held_buf(&s->e, s->ids[i]);

		if (!buf || ((unsigned char *)buf->addr)[63] != 0x5a)
			DIE("held buffer %u lost or overwritten", s->ids[i]);
	}
	/* shuffle the ones to release to the tail */
	for (i = 0; i < n; i++) {
		unsigned int j = rand_r(seed) % (s->nr - i);
		u32 t = s->ids[j];

		s->ids[j] = s->ids[s->nr - 1 - i];
		s->ids[s->nr - 1 - i] = t;
	}
	ret = bufpool_release(&s->e, s->ids + s->nr - n, n);
	if (ret)
		DIE("release of %u held buffers: %d", n, ret);
	s->nr -= n;
}

static void do_bogus_release(struct sent *s, unsigned int *seed)
{
	u32 id = rand_r(seed) % 32, ids[2];
	unsigned int i;
	int ret;

	for (i = 0; i < s->nr; i++)
		if (s->ids[i] == id)
			return;
	ids[0] = id;
	ret = bufpool_release(&s->e, ids, 1);
	if (ret != -ENOENT && ret != -EPERM)
		DIE("release of id %u not held: %d", id, ret);
	if (s->nr) {
		ids[0] = ids[1] = s->ids[0];
		if (bufpool_release(&s->e, ids, 2) != -EINVAL)
			DIE("duplicate id accepted");
	}
}

static void do_destroy(struct sent *s)
{
	pthread_rwlock_rdlock(&reg);
	bufpool_entity_destroy(&s->e);
	bufpool_entity_init(pool, &s->e, s_wake, s);
	s->e.waiter.notify = s_notify;
	s->e.critical_exempt = (s - ents) % 2;
	pthread_rwlock_unlock(&reg);
	s->nr = 0;
}

static void *worker(void *arg)
{
	unsigned int idx = (unsigned int)(uintptr_t)arg;
	unsigned int seed = 0x9e3779b9u * (idx + 1);
	struct sent *mine = &ents[idx * ENTS_PER_THREAD];

	bp_cpu = idx;
	while (!STOPPED()) {
		struct sent *s = &mine[rand_r(&seed) % ENTS_PER_THREAD];
		unsigned int op = rand_r(&seed) % 100;

		if (rand_r(&seed) % 64 == 0)
			bp_cpu++;	/* migrated */
		if (op < 45)
			do_alloc(s, &seed);
		else if (op < 85)
			do_release(s, &seed);
		else if (op < 95)
			do_bogus_release(s, &seed);
		else
			do_destroy(s);
		__atomic_add_fetch(&nr_ops, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * Two threads on one entity, each giving back at once what it got, by
 * release or by detach and finish: nobody else may ever take or give
 * back one of its buffers, so every call of theirs must succeed or be
 * refused as a whole.
 */
static void *sharer(void *arg)
{
	unsigned int idx = (unsigned int)(uintptr_t)arg;
	unsigned int seed = 0x85ebca6bu * (idx + 1), i, count, class;
	struct bufpool_buf *bufs[BUFPOOL_ALLOC_MAX];
	struct bufpool_returning r;
	u32 ids[BUFPOOL_ALLOC_MAX];
	int ret;

	bp_cpu = idx;
	while (!STOPPED()) {
		if (rand_r(&seed) % 64 == 0)
			bp_cpu++;
		class = 1 + rand_r(&seed) % 2;
		count = 1 + rand_r(&seed) % 2;
		ret = bufpool_alloc(&shared.e, class, count,
				    BUFPOOL_ALLOC_NOQUEUE, bufs);
		if (ret == -EAGAIN || ((ret == -ENOSPC || ret == -EDEADLK) &&
				       tuning))
			continue;
		if (ret)
			DIE("shared alloc: %d", ret);
		for (i = 0; i < count; i++) {
			if (!bp_mem_zeroed(bp_pool_mem(pool), bufs[i]))
				DIE("shared buffer %u handed out dirty",
				    bufs[i]->id);
			ids[i] = bufs[i]->id;
			/* half the time clean: back to the slot or a magazine */
			if (rand_r(&seed) % 2) {
				bufpool_buf_mark_dirty(bufs[i]);
				memset(bufs[i]->addr, 0x77, 64);
			}
		}
		if (rand_r(&seed) % 2) {
			ret = bufpool_release(&shared.e, ids, count);
		} else {
			ret = bufpool_release_detach(&shared.e, ids, count, &r);
			bufpool_release_finish(pool, &r);
		}
		if (ret)
			DIE("shared release of its own %u: %d", count, ret);
		__atomic_add_fetch(&nr_shared, count, __ATOMIC_RELAXED);
		if (bp_slot_nr(&shared.e, NULL))
			__atomic_add_fetch(&nr_slotted, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static struct bufpool_entity *ent_ptrs[MAX_THREADS * ENTS_PER_THREAD + 1];

static void *checker(void *arg)
{
	char why[256];

	(void)arg;
	while (!STOPPED()) {
		pthread_rwlock_wrlock(&reg);
		if (bp_check(pool, ent_ptrs, nr_ents, 0, why, sizeof(why))) {
			fprintf(stderr, "stress: invariant: %s\n", why);
			failed = 1;
			STOP();
		}
		pthread_rwlock_unlock(&reg);
		nr_checks++;
		usleep(100);
	}
	return NULL;
}

static void *tuner(void *arg)
{
	struct bufpool_tunables t;
	unsigned int seed = 777;
	const char *why;

	(void)arg;
	while (!STOPPED()) {
		bufpool_get_tunables(pool, &t);
		t.limit = percpu ? 20 + rand_r(&seed) % 40 :
				   3 + rand_r(&seed) % 6;
		t.reserve = rand_r(&seed) % 3;
		bufpool_default_headroom(&t);
		if (bufpool_set_tunables(pool, &t, &why) &&
		    !bp_mem_retry_pending(bp_pool_mem(pool)))
			;	/* -ENOMEM from an injected failure is fine */
		usleep(500);
	}
	return NULL;
}

static unsigned long nr_shrunk;

static void *shrinker(void *arg)
{
	unsigned int seed = 4242;

	(void)arg;
	while (!STOPPED()) {
		nr_shrunk += bufpool_shrink(pool, 1 + rand_r(&seed) % 4);
		usleep(200);
	}
	return NULL;
}

static void *retrier(void *arg)
{
	(void)arg;
	while (!STOPPED()) {
		bp_mem_run_retry(bp_pool_mem(pool));
		bp_run_park(pool, false);
		usleep(50);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct bufpool_config cfg = { .limit = 6, .reserve = 2, .bufsize = 64 };
	unsigned int secs = argc > 1 ? atoi(argv[1]) : 2;
	unsigned int nthr = argc > 2 ? atoi(argv[2]) : 4;
	pthread_t thr[MAX_THREADS], chk, rt, tu, sh, shr[2];
	struct bp_mem_stats ms;
	struct bp_snap snap;
	char why[256];
	unsigned int i;

	if (nthr < 1 || nthr > MAX_THREADS)
		nthr = 4;
	percpu = argc > 3 && !strcmp(argv[3], "percpu");
	if (percpu)
		cfg.limit = 40;
	pool = bufpool_create(&cfg);
	if (IS_ERR(pool))
		DIE("create");
	if (argc > 3 && !strcmp(argv[3], "adaptive")) {
		struct bufpool_tunables t;
		const char *why;

		bufpool_get_tunables(pool, &t);
		t.policy = BUFPOOL_POLICY_ADAPTIVE;
		if (bufpool_set_tunables(pool, &t, &why))
			DIE("adaptive policy");
		adaptive = true;
	}
	bp_mem_fail_rate(bp_pool_mem(pool), 100, 12345);
	nr_ents = nthr * ENTS_PER_THREAD;
	for (i = 0; i < nr_ents; i++) {
		pthread_mutex_init(&ents[i].m, NULL);
		pthread_cond_init(&ents[i].cv, NULL);
		bufpool_entity_init(pool, &ents[i].e, s_wake, &ents[i]);
		ents[i].e.waiter.notify = s_notify;
		ents[i].e.critical_exempt = i % 2;
		ent_ptrs[i] = &ents[i].e;
	}
	if (percpu) {
		bufpool_entity_init(pool, &shared.e, s_wake, &shared);
		shared.e.waiter.notify = s_notify;
		/* it marks what it writes: its clean buffers use its slot */
		shared.e.tracks_dirty = true;
		pthread_mutex_init(&shared.m, NULL);
		pthread_cond_init(&shared.cv, NULL);
		ent_ptrs[nr_ents++] = &shared.e;
	}
	pthread_create(&chk, NULL, checker, NULL);
	pthread_create(&rt, NULL, retrier, NULL);
	tuning = true;
	pthread_create(&tu, NULL, tuner, NULL);
	pthread_create(&sh, NULL, shrinker, NULL);
	for (i = 0; i < nthr; i++)
		pthread_create(&thr[i], NULL, worker, (void *)(uintptr_t)i);
	for (i = 0; percpu && i < 2; i++)
		pthread_create(&shr[i], NULL, sharer, (void *)(uintptr_t)i);
	sleep(secs);
	STOP();
	for (i = 0; i < nthr; i++)
		pthread_join(thr[i], NULL);
	for (i = 0; percpu && i < 2; i++)
		pthread_join(shr[i], NULL);
	pthread_join(chk, NULL);
	pthread_join(rt, NULL);
	pthread_join(tu, NULL);
	pthread_join(sh, NULL);
	/* the timer would fire: nothing stays parked */
	while (bp_run_park(pool, true))
		;

	/* quiescent now: exact accounting, no lost wake-up */
	bp_mem_fail_rate(bp_pool_mem(pool), 0, 0);
	while (bp_mem_run_retry(bp_pool_mem(pool)))
		;
	if (bp_check(pool, ent_ptrs, nr_ents, BP_CHECK_QUIESCENT |
		     BP_CHECK_ZERO | BP_CHECK_WAKEUP, why, sizeof(why))) {
		fprintf(stderr, "stress: final invariant: %s\n", why);
		failed = 1;
	}
	bp_snapshot(pool, &snap);
	barges = bp_barges(pool);
	for (i = 0; i < nr_ents; i++)
		bufpool_entity_destroy(ent_ptrs[i]);
	bp_mem_get_stats(bp_pool_mem(pool), &ms);
	bufpool_destroy(pool);
	if (bp_warnings)
		failed = 1;
	if (adaptive)
		printf("stress: adaptive policy, %llu barges\n", barges);
	if (percpu)
		printf("stress: per-CPU magazines, %lu buffers through the shared entity (%lu releases left its slot holding some), %llu allocations\n",
		       nr_shared, nr_slotted, snap.allocations);
	printf("stress: %u threads%s, %lu ops, %lu waits, %lu cancels, %lu cancels after the grant, %lu checks, %llu wake-ups, %lu page failures, %lu shrunk\n",
	       nthr, tuning ? " (+ limit/reserve changes)" : "", nr_ops, nr_waits, nr_cancels, nr_races, nr_checks,
	       snap.wakeups, ms.create_failures, nr_shrunk);
	printf("stress: %s\n", failed ? "FAILED" : "ok");
	return failed;
}
