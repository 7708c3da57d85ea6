// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool kill storm: rounds of 24 processes that contend for the pool in
 * every state an entity can be in (blocked in ALLOC, queued on a
 * non-blocking fd and polling, holding, granted but never collecting,
 * holding with the buffers mapped and touched, sharing the fd with a
 * forked child) are SIGKILLed at random moments, in random order.  After
 * each round: nothing in use, nothing queued, the pool owns no more than
 * its limit.  The runner then checks that the module unloads.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/mman.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_sys_util.h"

#define NPROCS		24
#define ROUNDS		12

enum role { BLOCKER, QUEUER, HOLDER, HOARDER, MAPPER, FORKER, NR_ROLES };

static unsigned long long rng_state;

static unsigned int rnd(unsigned int n)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned int)((rng_state >> 33) % n);
}

static void map_and_touch(int fd, const __u32 *ids, unsigned int n,
			  size_t bs)
{
	unsigned int i;
	char *p;

	for (i = 0; i < n; i++) {
		p = mmap(NULL, bs, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 (off_t)ids[i] * bs);
		if (p != MAP_FAILED)
			memset(p, 0x42, bs);
	}
}

/* A worker: loops in its role until killed. */
static void worker(enum role role, size_t bs, unsigned int seed)
{
	int fd = bp_open(role == QUEUER || role == HOARDER ? O_NONBLOCK : 0);
	unsigned int n, cls;
	__u32 ids[4];

	rng_state = seed;
	if (fd < 0)
		_exit(1);
	if (role == FORKER && bp_fork() == 0)
		role = MAPPER;	/* the child shares the entity */
	for (;;) {
		n = 1 + rnd(3);
		cls = rnd(3);
		switch (role) {
		case BLOCKER:
			if (!bp_alloc(fd, cls, n, ids)) {
				bp_msleep(rnd(5));
				bp_release(fd, ids, n);
			}
			break;
		case QUEUER:
			if (bp_alloc(fd, cls, n, ids) == -EAGAIN) {
				bp_readable(fd, -1);
				if (bp_alloc(fd, cls, n, ids))
					break;
			}
			bp_msleep(rnd(3));
			bp_release(fd, ids, n);
			break;
		case HOARDER:
			/* queue, and never collect the grant */
			bp_alloc(fd, cls, n, ids);
			bp_msleep(1000);
			break;
		case HOLDER:
		case FORKER:
			if (!bp_alloc(fd, BP_CRIT, n, ids))
				bp_msleep(1000);
			break;
		case MAPPER:
			if (!bp_alloc_t(fd, cls, n, 0, 2000000, ids)) {
				map_and_touch(fd, ids, n, bs);
				bp_msleep(rnd(4));
				if (rnd(2))
					bp_release(fd, ids, n);
			}
			break;
		default:
			_exit(2);
		}
	}
}

FIXTURE(storm) {
	int fd;
	struct bufpool_stats st;
	struct bp_tunables saved;
};

/*
 * A small pool whatever the module was loaded with, so that the storm's
 * processes really contend: the test asserts that they waited.
 */
FIXTURE_SETUP(storm)
{
	self->fd = bp_open(0);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", BP_DEV, strerror(errno));
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	ASSERT_EQ(0, bp_tunables_save(&self->saved));
	ASSERT_EQ(0, bp_tunables_set(16, 2, 0));
	ASSERT_EQ(0, bp_stats(self->fd, &self->st));
}

FIXTURE_TEARDOWN(storm)
{
	EXPECT_EQ(0, bp_tunables_restore(&self->saved));
	close(self->fd);
}

TEST_F_TIMEOUT(storm, sigkill_rounds, 600)
{
	unsigned int round, i, j, kills = 0;
	unsigned long long peak_queued = 0;
	struct bufpool_stats st;
	pid_t pid[NPROCS], t;

	rng_state = 12345;
	for (round = 0; round < ROUNDS; round++) {
		for (i = 0; i < NPROCS; i++) {
			pid[i] = bp_fork();
			ASSERT_LE(0, pid[i]);
			if (pid[i] == 0) {
				setpgid(0, 0);
				worker(i % NR_ROLES, self->st.bufsize,
				       round * 1000 + i);
			}
		}
		/* let them get into their states, then kill in random order */
		bp_msleep(20 + rnd(200));
		ASSERT_EQ(0, bp_stats(self->fd, &st));
		EXPECT_GE(st.limit, st.in_use);
		EXPECT_GE(st.limit, st.allocated);
		if (bp_nr_queued(&st) > peak_queued)
			peak_queued = bp_nr_queued(&st);
		for (i = NPROCS; i > 1; i--) {
			j = rnd(i);
			t = pid[j];
			pid[j] = pid[i - 1];
			pid[i - 1] = t;
		}
		for (i = 0; i < NPROCS; i++) {
			/* the worker and a child it forked */
			kill(-pid[i], SIGKILL);
			kill(pid[i], SIGKILL);
			kills++;
			if (!rnd(4))
				bp_msleep(rnd(5));
		}
		for (i = 0; i < NPROCS; i++)
			EXPECT_EQ(128 + SIGKILL, bp_reap(pid[i]));

		EXPECT_EQ(0, bp_wait_idle(self->fd)) TH_LOG("round %u", round);
		ASSERT_EQ(0, bp_stats(self->fd, &st));
		EXPECT_EQ(0ULL, st.in_use);
		EXPECT_EQ(0ULL, bp_nr_queued(&st));
		EXPECT_EQ(st.limit, st.free);
		EXPECT_GE(st.limit, st.allocated);
	}
	ksft_print_msg("kill storm: %u rounds, %u processes killed\n",
		       ROUNDS, kills);
	ksft_print_msg("kill storm: most queued at a look %llu, peak %llu\n",
		       peak_queued, st.peak_queued);
	ksft_print_msg("kill storm: allocations %llu, waited %llu, releases %llu\n",
		       st.allocations - self->st.allocations,
		       st.grants_waited - self->st.grants_waited,
		       st.releases - self->st.releases);
	fflush(stdout);
	/* the storm did make them wait; one wake-up per grant */
	EXPECT_LT(self->st.grants_waited, st.grants_waited);
	EXPECT_LT(0ULL, peak_queued);
	EXPECT_EQ(st.wakeups - self->st.wakeups,
		  st.grants_waited - self->st.grants_waited);
}

TEST_HARNESS_MAIN
