// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool pin attack selftests: what a hostile holder does with pinnable
 * buffers and their quarantine.
 *
 *  - quarantine_counts_against_quota: a user vmsplice()s one page of each
 *    buffer it holds into a pipe it keeps, then releases the buffer; the
 *    buffer is quarantined, but it is still that user's (its pipe keeps
 *    it out of everyone's reach), so it must still count in the user's
 *    quota: the user must not get more than user_quota buffers that way,
 *    and another user must still get its own;
 *  - no_mapping_after_release_race: a thread faults a held buffer in
 *    (MADV_POPULATE_READ, again and again) while another releases it;
 *    once RELEASE has returned no page of the buffer may be mapped, the
 *    buffer must not be accessible, nor quarantined without a pin;
 *  - tee_after_release_keeps_quarantine: the pipe holding the pages is
 *    tee()d into a second pipe, the first drained: the buffer stays
 *    quarantined until the second is drained too, then comes back zeroed;
 *  - rdonly_force_write_refused: /proc/self/mem (FOLL_FORCE) cannot
 *    write into a mapping of an O_RDONLY fd, so its clean buffer, handed
 *    on without zeroing, never carries what was written;
 *  - hwpoison_mapped_twice: a page of a buffer mapped twice is poisoned
 *    (MADV_HWPOISON, as root: what a memory error does) through one
 *    mapping and faulted through the other: the fault must end in SIGBUS,
 *    not in the core's handling of a poisoned locked page, which unmaps
 *    it from its page cache mapping (it has none).  The poisoned page is
 *    the kernel's for good; its buffer, once released, must leave the
 *    quarantine (dropped from the pool), so the module can still unload.
 *    Skipped without CONFIG_MEMORY_FAILURE or madvise();
 *  - madvise_zoo_no_splat: the madvise() calls and /proc walks a user may
 *    throw at a mapped, spliced buffer, then RELEASE: nothing reaches a
 *    kernel warning (the VM run scans the log) and the buffer comes back.
 *
 * The pool is set through sysfs and put back.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_sys_util.h"

#define RACE_ROUNDS	1000
/* enough to show it; a fixed module runs every round */
#define RACE_HITS	3

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif
#ifndef MADV_COLD
#define MADV_COLD		20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif
#ifndef MADV_HWPOISON
#define MADV_HWPOISON		100
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif

FIXTURE(pa) {
	int fd;
	size_t bs, pg;
	struct bp_tunables saved;
	bool saved_ok, opened_up;
	bool poisoned;		/* a page kept for good: no waiting for it */
};

FIXTURE_SETUP(pa)
{
	struct bufpool_stats st;

	self->fd = -1;
	self->opened_up = false;
	self->poisoned = false;
	self->saved_ok = !bp_tunables_save(&self->saved);
	if (!self->saved_ok)
		SKIP(return, BP_POOL_NEEDS);
	self->fd = bp_open(0);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", BP_DEV, strerror(errno));
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	ASSERT_EQ(0ULL, st.quarantined);
	self->bs = st.bufsize;
	self->pg = getpagesize();
}

FIXTURE_TEARDOWN(pa)
{
	if (!self->saved_ok)
		return;
	if (!self->poisoned)
		EXPECT_EQ(0, bp_wait_quarantined(0));
	close(self->fd);
	if (self->opened_up)
		EXPECT_EQ(0, bp_dev_close_down());
	EXPECT_EQ(0, bp_tunables_restore(&self->saved));
}

static ssize_t splice_in(int pipe_w, void *p, size_t len)
{
	struct iovec iov = { .iov_base = p, .iov_len = len };

	return vmsplice(pipe_w, &iov, 1, 0);
}

/* Is the page at @p mapped in this process (pagemap's present bit)? */
static int page_present(const void *p, size_t pg)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	__u64 e = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, &e, sizeof(e), (off_t)((uintptr_t)p / pg) * 8);
	close(fd);
	if (n != sizeof(e))
		return -EIO;
	return !!(e & (1ULL << 63));
}

/* Does this kernel have madvise(@advice) (not every config has madvise)? */
static bool have_madvise(int advice)
{
	size_t pg = getpagesize();
	void *a = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool ok;

	if (a == MAP_FAILED)
		return false;
	ok = !madvise(a, pg, advice);
	munmap(a, pg);
	return ok;
}

/*
 * A user's buffers, held or kept quarantined by that user's own pipe, are
 * that user's: they must count in its quota.
 */
TEST_F(pa, quarantine_counts_against_quota)
{
	const unsigned int limit = 8, quota = 2;
	int res[2], done[2], got, b;
	unsigned long long q;
	pid_t a, pb;

	ASSERT_EQ(0, bp_tunables_set(limit, 0, quota));
	ASSERT_TRUE(bp_others_can_reach(BP_DEV)) TH_LOG("%s: %s", BP_DEV,
							BP_REACH_MSG);
	ASSERT_EQ(0, bp_dev_open_up());
	self->opened_up = true;
	ASSERT_EQ(0, pipe(res));
	ASSERT_EQ(0, pipe(done));

	a = bp_fork();
	ASSERT_LE(0, a);
	if (a == 0) {
		unsigned int n = 0;
		int fd, pfd[2];
		char *p;
		__u32 id;

		close(res[0]);
		close(done[1]);
		if (bp_become(BP_UID, BP_GID, 0, NULL))
			_exit(1);
		fd = bp_open(0);
		if (fd < 0 || pipe(pfd))
			_exit(2);
		/* as many as the pool has, if the quota lets it */
		while (n < limit && !bp_try(fd, BP_NORM, 1, &id)) {
			p = mmap(NULL, self->bs, PROT_READ | PROT_WRITE,
				 MAP_SHARED, fd, (off_t)id * self->bs);
			if (p == MAP_FAILED)
				_exit(3);
			memset(p, 'A', self->bs);
			if (splice_in(pfd[1], p, self->pg) != (ssize_t)self->pg)
				_exit(4);
			munmap(p, self->bs);
			if (bp_release(fd, &id, 1))
				_exit(5);
			n++;
		}
		bp_put(res[1], (char)n);
		/* keep the pipe, and with it the pages, until told */
		bp_get(done[0], -1);
		_exit(0);
	}
	close(res[1]);
	close(done[0]);
	got = bp_get(res[0], BP_PATIENCE_MS);
	q = bp_quarantined();

	/* another user, within its own quota */
	pb = bp_fork();
	ASSERT_LE(0, pb);
	if (pb == 0) {
		int fd, ret;
		__u32 id;

		if (bp_become(BP_UID2, BP_GID2, 0, NULL))
			_exit(1);
		fd = bp_open(0);
		if (fd < 0)
			_exit(2);
		ret = bp_try(fd, BP_NORM, 1, &id);
		_exit(ret ? 10 + (-ret & 0x7f) : 0);
	}
	b = bp_reap(pb);

	TH_LOG("uid %d got %d buffers into quarantine with user_quota %u",
	       BP_UID, got, quota);
	TH_LOG("quarantined %llu of limit %u; uid %d's ALLOC: %s",
	       q, limit, BP_UID2,
	       b == 0 ? "ok" : b > 10 ? strerror(b - 10) : "child failed");
	EXPECT_LE(0, got);
	EXPECT_GE((int)quota, got)
		TH_LOG("quarantined buffers are not charged to the user whose pipe keeps them");
	EXPECT_EQ(0, b) TH_LOG("another user starved by one user's quarantine");

	close(done[1]);
	EXPECT_EQ(0, bp_reap(a));
	close(res[0]);
}

struct race {
	char *p;		/* written before go, read after it */
	size_t bs;
	int go;			/* round number the faulter is to run */
	int done;		/* last round the faulter finished */
	int released;		/* RELEASE of this round has returned */
	int faults;		/* populate calls in this round */
	int stop;
};

static void pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void nap_us(long us)
{
	struct timespec ts = { .tv_nsec = us * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void *faulter_fn(void *arg)
{
	struct race *r = arg;
	int round = 0, g;

	pin_to(0);
	for (;;) {
		while ((g = __atomic_load_n(&r->go, __ATOMIC_ACQUIRE)) == round)
			if (__atomic_load_n(&r->stop, __ATOMIC_RELAXED))
				return NULL;
		round = g;
		for (;;) {
			madvise(r->p, r->bs, MADV_POPULATE_READ);
			__atomic_add_fetch(&r->faults, 1, __ATOMIC_RELAXED);
			/* a present page now was mapped after the revocation */
			if (__atomic_load_n(&r->released, __ATOMIC_ACQUIRE))
				break;
			madvise(r->p, r->bs, MADV_DONTNEED);
		}
		__atomic_store_n(&r->done, round, __ATOMIC_RELEASE);
	}
}

/*
 * The fault handler finds the buffer held and returns its page with a
 * reference, dropping map_lock; the page table entry is installed after
 * (and lock_page() in between is a preemption point).  A RELEASE in
 * between zaps nothing, and the entry appears afterwards.  The releaser
 * shares the faulter's CPU and wakes from a short sleep, SCHED_FIFO, so
 * it runs where the faulter happens to be: sometimes in that window.
 */
TEST_F_TIMEOUT(pa, no_mapping_after_release_race, 600)
{
	struct sched_param sp = { .sched_priority = 1 };
	struct race r = { .bs = self->bs };
	unsigned int hits = 0, first = 0, round, i;
	unsigned long long q_at_hit = 0;
	int sig_at_hit = -1;
	pthread_t faulter;
	__u32 id;

	if (!have_madvise(MADV_POPULATE_READ))
		SKIP(return, "no madvise(MADV_POPULATE_READ): %s",
		     strerror(errno));
	ASSERT_EQ(0, bp_tunables_set(2, 0, 0));
	pin_to(0);
	ASSERT_EQ(0, pthread_create(&faulter, NULL, faulter_fn, &r));
	if (sched_setscheduler(0, SCHED_FIFO, &sp))
		TH_LOG("no SCHED_FIFO (%s): the race is hit less often",
		       strerror(errno));

	for (round = 1; round <= RACE_ROUNDS; round++) {
		char *p;
		int present = -1;

		ASSERT_EQ(0, bp_try(self->fd, BP_NORM, 1, &id));
		p = mmap(NULL, self->bs, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->fd, (off_t)id * self->bs);
		ASSERT_NE(MAP_FAILED, p);
		r.p = p;
		__atomic_store_n(&r.released, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&r.faults, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&r.go, round, __ATOMIC_RELEASE);
		/* the faulter runs meanwhile; wake at a varying point of it */
		do
			nap_us(20 + (round * 7919) % 300);
		while (!__atomic_load_n(&r.faults, __ATOMIC_RELAXED));
		ASSERT_EQ(0, bp_release(self->fd, &id, 1));
		__atomic_store_n(&r.released, 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&r.done, __ATOMIC_ACQUIRE) != (int)round)
			nap_us(50);
		for (i = 0; present < 0 && i < self->bs / self->pg; i++)
			if (page_present(p + i * self->pg, self->pg) == 1)
				present = i;
		if (present >= 0 && !hits++) {
			first = round;
			q_at_hit = bp_quarantined();
			sig_at_hit = bp_read_at(p + present * self->pg);
		}
		munmap(p, self->bs);
		/* the stale mapping's reference is gone with munmap() */
		ASSERT_EQ(0, bp_wait_quarantined(0));
		if (hits >= RACE_HITS)
			break;
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
	sp.sched_priority = 0;
	sched_setscheduler(0, SCHED_OTHER, &sp);
	pthread_join(faulter, NULL);

	TH_LOG("%u of %u rounds left a page mapped after RELEASE returned",
	       hits, round > RACE_ROUNDS ? RACE_ROUNDS : round);
	if (hits)
		TH_LOG("first in round %u: quarantined %llu with no pin taken, a read of it %s",
		       first, q_at_hit,
		       sig_at_hit ? "faulted" : "succeeded (no SIGBUS)");
	EXPECT_EQ(0U, hits);
}

/* tee() the pipe's pages into another pipe, drain the first. */
TEST_F(pa, tee_after_release_keeps_quarantine)
{
	int p1[2], p2[2], fd_b;
	char *p, buf[64];
	__u32 x, y, two[2];
	size_t i;

	ASSERT_EQ(0, bp_tunables_set(2, 0, 0));
	ASSERT_EQ(0, pipe(p1));
	ASSERT_EQ(0, pipe(p2));
	ASSERT_EQ(0, bp_try(self->fd, BP_NORM, 1, &x));
	p = mmap(NULL, self->bs, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		 (off_t)x * self->bs);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 'O', self->bs);
	ASSERT_EQ((ssize_t)self->pg, splice_in(p1[1], p, self->pg));
	munmap(p, self->bs);
	ASSERT_EQ(0, bp_release(self->fd, &x, 1));
	ASSERT_EQ(1LL, bp_quarantined());
	ASSERT_EQ((ssize_t)self->pg, tee(p1[0], p2[1], self->pg, 0));
	/* drain the first pipe: the second still holds the page */
	for (i = 0; i < self->pg; i += sizeof(buf))
		ASSERT_EQ((ssize_t)sizeof(buf), read(p1[0], buf, sizeof(buf)));
	close(p1[0]);
	close(p1[1]);
	bp_msleep(BP_QUIET_MS);
	EXPECT_EQ(1LL, bp_quarantined())
		TH_LOG("back from quarantine while a tee()d pipe holds its page");
	fd_b = bp_open(0);
	ASSERT_LE(0, fd_b);
	ASSERT_EQ(0, bp_try(fd_b, BP_NORM, 1, &y));
	EXPECT_NE(x, y);
	ASSERT_EQ((ssize_t)sizeof(buf), read(p2[0], buf, sizeof(buf)));
	EXPECT_EQ('O', buf[0]);
	close(p2[0]);
	close(p2[1]);
	ASSERT_EQ(0, bp_wait_quarantined(0));
	ASSERT_EQ(0, bp_release(fd_b, &y, 1));
	ASSERT_EQ(0, bp_try(fd_b, BP_NORM, 2, two));
	close(fd_b);
}

/* FOLL_FORCE writes through /proc/self/mem into an O_RDONLY fd's map. */
TEST_F(pa, rdonly_force_write_refused)
{
	int ro = open(BP_DEV, O_RDONLY | O_CLOEXEC), mem, fd_b;
	char *p, *q, c = 'F';
	__u32 x, y;
	size_t i;
	bool clean = true;

	ASSERT_LE(0, ro);
	ASSERT_EQ(0, bp_tunables_set(1, 0, 0));
	ASSERT_EQ(0, bp_try(ro, BP_NORM, 1, &x));
	p = mmap(NULL, self->bs, PROT_READ, MAP_SHARED, ro,
		 (off_t)x * self->bs);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, bp_read_at(p));
	mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, mem);
	EXPECT_GT(0, pwrite(mem, &c, 1, (off_t)(uintptr_t)p))
		TH_LOG("FOLL_FORCE wrote into a read-only mapping");
	EXPECT_EQ(-1, process_vm_writev(getpid(),
					&(struct iovec){ &c, 1 }, 1,
					&(struct iovec){ p, 1 }, 1, 0));
	close(mem);
	munmap(p, self->bs);
	ASSERT_EQ(0, bp_release(ro, &x, 1));
	fd_b = bp_open(0);
	ASSERT_LE(0, fd_b);
	ASSERT_EQ(0, bp_try(fd_b, BP_NORM, 1, &y));
	q = mmap(NULL, self->bs, PROT_READ, MAP_SHARED, fd_b,
		 (off_t)y * self->bs);
	ASSERT_NE(MAP_FAILED, q);
	for (i = 0; i < self->bs; i++)
		clean &= !q[i];
	EXPECT_TRUE(clean);
	munmap(q, self->bs);
	EXPECT_EQ(0, bp_release(fd_b, &y, 1));
	close(fd_b);
	close(ro);
}

/* What a user may throw at a mapped, spliced buffer: no kernel warning. */
TEST_F_TIMEOUT(pa, madvise_zoo_no_splat, 300)
{
	static const int advice[] = {
		MADV_COLD, MADV_PAGEOUT, MADV_WILLNEED, MADV_POPULATE_WRITE,
		MADV_POPULATE_READ, MADV_COLLAPSE, MADV_MERGEABLE,
		MADV_HUGEPAGE, MADV_DOFORK, MADV_DONTFORK, MADV_DONTNEED,
		MADV_POPULATE_WRITE, MADV_SEQUENTIAL, MADV_RANDOM,
		MADV_NORMAL, MADV_REMOVE, MADV_FREE,
	};
	static const char * const walks[] = {
		"/proc/self/smaps", "/proc/self/smaps_rollup",
		"/proc/self/numa_maps",
	};
	unsigned char vec[64];
	char buf[4096];
	int pfd[2], f;
	size_t i;
	char *p;
	__u32 x;
	pid_t c;

	ASSERT_EQ(0, bp_tunables_set(2, 0, 0));
	ASSERT_EQ(0, pipe(pfd));
	ASSERT_EQ(0, bp_try(self->fd, BP_NORM, 1, &x));
	p = mmap(NULL, self->bs, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		 (off_t)x * self->bs);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 'Z', self->bs);
	ASSERT_EQ((ssize_t)self->pg, splice_in(pfd[1], p, self->pg));
	for (i = 0; i < ARRAY_SIZE(advice); i++) {
		madvise(p, self->bs, advice[i]);
		memset(p, 'Z', self->bs);
	}
	EXPECT_EQ(0, mincore(p, self->bs, vec));
	EXPECT_EQ(1, page_present(p, self->pg));
	for (i = 0; i < ARRAY_SIZE(walks); i++) {
		f = open(walks[i], O_RDONLY | O_CLOEXEC);
		if (f < 0)
			continue;
		while (read(f, buf, sizeof(buf)) > 0)
			;
		close(f);
	}
	f = open("/proc/sys/vm/compact_memory", O_WRONLY | O_CLOEXEC);
	if (f >= 0) {
		EXPECT_EQ(1, write(f, "1", 1));
		close(f);
	}
	/* VM_DONTCOPY lifted: a fork copy, cut off */
	if (!madvise(p, self->bs, MADV_DOFORK)) {
		c = bp_fork();
		ASSERT_LE(0, c);
		if (c == 0)
			_exit(bp_read_at(p) == SIGBUS ? 0 : 1);
		EXPECT_EQ(0, bp_reap(c))
			TH_LOG("the fork copy reached the buffer");
	} else {
		TH_LOG("no madvise(): %s; only the /proc walks ran",
		       strerror(errno));
	}
	munmap(p, self->bs);
	ASSERT_EQ(0, bp_release(self->fd, &x, 1));
	EXPECT_EQ(1LL, bp_quarantined());
	close(pfd[0]);
	close(pfd[1]);
	ASSERT_EQ(0, bp_wait_quarantined(0));
}

TEST_F(pa, hwpoison_mapped_twice)
{
	char *p1, *p2;
	int ret, sig;
	__u32 x;

	if (!have_madvise(MADV_NORMAL))
		SKIP(return, "no madvise(): %s", strerror(errno));
	ASSERT_EQ(0, bp_tunables_set(2, 0, 0));
	ASSERT_EQ(0, bp_try(self->fd, BP_NORM, 1, &x));
	p1 = mmap(NULL, self->bs, PROT_READ | PROT_WRITE, MAP_SHARED,
		  self->fd, (off_t)x * self->bs);
	p2 = mmap(NULL, self->bs, PROT_READ | PROT_WRITE, MAP_SHARED,
		  self->fd, (off_t)x * self->bs);
	ASSERT_NE(MAP_FAILED, p1);
	ASSERT_NE(MAP_FAILED, p2);
	ASSERT_EQ(0, bp_write_at(p1, 'P'));
	ret = madvise(p1, self->pg, MADV_HWPOISON) ? -errno : 0;
	if (ret == -EPERM || ret == -EINVAL)
		SKIP(return, "no MADV_HWPOISON: %s", strerror(-ret));
	self->poisoned = true;
	TH_LOG("MADV_HWPOISON through the first mapping: %s",
	       ret ? strerror(-ret) : "done");
	/* the first still maps the page; fault it through the second */
	sig = bp_read_at(p2);
	EXPECT_EQ(SIGBUS, sig) TH_LOG("a fault on the poisoned page: %d", sig);
	munmap(p1, self->bs);
	munmap(p2, self->bs);
	EXPECT_EQ(0, bp_release(self->fd, &x, 1));
	/* never zeroed nor reused: it leaves the pool, not stuck there */
	EXPECT_EQ(0, bp_wait_quarantined(0))
		TH_LOG("a buffer with a poisoned page stays quarantined");
}

TEST_HARNESS_MAIN
