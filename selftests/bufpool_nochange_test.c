// SPDX-License-Identifier: GPL-2.0
/*
 * "A failed call changes nothing": one test per errno row of the README's
 * error table.  A holder H maps two buffers and an attacker X (the caller)
 * maps one of its own, each page written with a pattern; the pool has one
 * buffer free.  Each test snapshots STATS, makes the failing call, and
 * checks that STATS did not move, that every mapping of H and X still
 * shows its pattern without a single page fault (no PTE was zapped), that
 * X has no request left, and at teardown that H and X still hold their
 * buffers.  A new row is one more TEST_F with a call in it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_sys_util.h"

#define NC_LIMIT	4
#define NC_UNHELD	1000	/* an id nobody holds */

struct nc_map {
	char *p;
	char pattern;
};

FIXTURE(nc) {
	struct bp_tunables saved;
	struct bufpool_stats before;
	int h, x;		/* holder, attacker */
	__u32 hid[2], xid;
	struct nc_map map[3];	/* H's two, X's one */
	size_t bufsize, page;
};

static void nc_fill(struct nc_map *m, size_t bufsize, size_t page)
{
	size_t off;

	for (off = 0; off < bufsize; off += page)
		m->p[off] = m->pattern;
}

FIXTURE_SETUP(nc)
{
	struct bufpool_stats st;
	unsigned int i;
	int fd;

	ASSERT_EQ(0, bp_tunables_save(&self->saved));
	self->h = bp_open(0);
	ASSERT_LE(0, self->h);
	ASSERT_EQ(0, bp_wait_idle(self->h));
	ASSERT_EQ(0, bp_tunables_set(NC_LIMIT, 0, 0));
	self->x = bp_open(0);
	ASSERT_LE(0, self->x);
	ASSERT_EQ(0, bp_stats(self->h, &st));
	self->bufsize = st.bufsize;
	self->page = sysconf(_SC_PAGESIZE);

	ASSERT_EQ(0, bp_alloc(self->h, BP_NORM, 2, self->hid));
	ASSERT_EQ(0, bp_alloc(self->x, BP_NORM, 1, &self->xid));
	for (i = 0; i < 3; i++) {
		fd = i < 2 ? self->h : self->x;
		self->map[i].pattern = (char)(0x11 * (i + 1));
		self->map[i].p = mmap(NULL, self->bufsize,
				      PROT_READ | PROT_WRITE, MAP_SHARED, fd,
				      (off_t)(i < 2 ? self->hid[i] : self->xid) *
				      self->bufsize);
		ASSERT_NE(MAP_FAILED, self->map[i].p);
		nc_fill(&self->map[i], self->bufsize, self->page);
	}
	ASSERT_EQ(0, bp_stats(self->h, &self->before));
	ASSERT_EQ(1ULL, self->before.free);
}

FIXTURE_TEARDOWN(nc)
{
	unsigned int i;

	/* both still hold what they had: these succeed */
	EXPECT_EQ(0, bp_release(self->h, self->hid, 2));
	EXPECT_EQ(0, bp_release(self->x, &self->xid, 1));
	for (i = 0; i < 3; i++)
		munmap(self->map[i].p, self->bufsize);
	close(self->x);
	close(self->h);
	EXPECT_EQ(0, bp_tunables_restore(&self->saved));
}

static long nc_minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_minflt;
}

/*
 * Every page of every mapping shows its pattern and is still mapped
 * (reading it faults nothing), and X has no request.
 */
static void nc_check_held(struct __test_metadata *_metadata,
			  struct _test_data_nc *self, const char *what)
{
	long faults;
	size_t off;
	unsigned int i, bad = 0;

	faults = nc_minflt();
	for (i = 0; i < 3; i++)
		for (off = 0; off < self->bufsize; off += self->page)
			bad += __atomic_load_n(&self->map[i].p[off],
					       __ATOMIC_RELAXED) !=
			       self->map[i].pattern;
	faults = nc_minflt() - faults;
	EXPECT_EQ(0U, bad) TH_LOG("%s: %u pages lost their data", what, bad);
	EXPECT_EQ(0, faults)
		TH_LOG("%s: %ld pages had to be faulted in again: a mapping was zapped",
		       what, faults);
	EXPECT_EQ(-ENOENT, bp_cancel(self->x)) TH_LOG("%s: X has a request",
						      what);
}

/* After the failing call: STATS as before, and nc_check_held(). */
static void nc_check(struct __test_metadata *_metadata,
		     struct _test_data_nc *self, const char *what)
{
	struct bufpool_stats st;

	ASSERT_EQ(0, bp_stats(self->h, &st));
	EXPECT_TRUE(bp_stats_same(&self->before, &st))
		TH_LOG("%s: STATS moved: in_use %llu->%llu queued %llu->%llu releases %llu->%llu",
		       what, (unsigned long long)self->before.in_use,
		       (unsigned long long)st.in_use,
		       (unsigned long long)bp_nr_queued(&self->before),
		       (unsigned long long)bp_nr_queued(&st),
		       (unsigned long long)self->before.releases,
		       (unsigned long long)st.releases);
	nc_check_held(_metadata, self, what);
}

#define NC(err, call) do {						\
	EXPECT_EQ(err, (call)) TH_LOG("%s", #call);			\
	nc_check(_metadata, self, #call);				\
} while (0)

static int nc_alloc(int fd, __u32 size, __u32 flags, __u32 class,
		    __u32 count, __u64 timeout_ns, __u64 ids_ptr, __u64 rsv)
{
	struct bufpool_alloc a = {
		.size = size, .flags = flags, .alloc_class = class,
		.count = count, .timeout_ns = timeout_ns, .ids_ptr = ids_ptr,
		.__reserved = { rsv },
	};

	return bp_ioctl(fd, BUFPOOL_IOC_ALLOC, &a);
}

static int nc_release(int fd, __u32 flags, const __u32 *ids, __u32 count)
{
	struct bufpool_release r = {
		.size = sizeof(r), .flags = flags, .count = count,
		.ids_ptr = bp_ptr(ids),
	};

	return bp_ioctl(fd, BUFPOOL_IOC_RELEASE, &r);
}

TEST_F(nc, enotty)
{
	struct bufpool_stats st = { .size = sizeof(st) };

	NC(-ENOTTY, bp_ioctl(self->x, _IOWR(BUFPOOL_IOC_MAGIC, 0x3f,
					    struct bufpool_stats), &st));
	NC(-ENOTTY, bp_ioctl(self->x, _IOR(BUFPOOL_IOC_MAGIC, 0x01,
					   struct bufpool_alloc), &st));
}

TEST_F(nc, efault)
{
	NC(-EFAULT, bp_ioctl(self->x, BUFPOOL_IOC_ALLOC, NULL));
	NC(-EFAULT, bp_ioctl(self->x, BUFPOOL_IOC_RELEASE, NULL));
	NC(-EFAULT, bp_ioctl(self->x, BUFPOOL_IOC_CANCEL, NULL));
	NC(-EFAULT, bp_ioctl(self->x, BUFPOOL_IOC_STATS, NULL));
	NC(-EFAULT, bp_ioctl(self->x, BUFPOOL_IOC_INFO, NULL));
	/* the free buffer is not taken for ids that cannot be written */
	NC(-EFAULT, nc_alloc(self->x, sizeof(struct bufpool_alloc), 0,
			     BP_CRIT, 1, 0, 0, 0));
	NC(-EFAULT, nc_release(self->x, 0, NULL, 1));
	NC(-EFAULT, nc_release(self->x, 0, (const __u32 *)8, 2));
}

TEST_F(nc, einval)
{
	size_t as = sizeof(struct bufpool_alloc);
	__u32 ids[2] = { self->xid, self->xid };
	__u32 mine_then_h[2] = { self->xid, self->hid[0] };

	NC(-EINVAL, nc_alloc(self->x, as, 1U << 7, BP_NORM, 1, 0,
			     bp_ptr(ids), 0));
	NC(-EINVAL, nc_alloc(self->x, as, 0, BP_NORM, 1, 0, bp_ptr(ids), 1));
	NC(-EINVAL, nc_alloc(self->x, as, 0, BUFPOOL_NR_CLASSES, 1, 0,
			     bp_ptr(ids), 0));
	NC(-EINVAL, nc_alloc(self->x, as, 0, BP_NORM, 0, 0, bp_ptr(ids), 0));
	NC(-EINVAL, nc_alloc(self->x, as, 0, BP_NORM, BUFPOOL_ALLOC_MAX + 1, 0,
			     bp_ptr(ids), 0));
	NC(-EINVAL, nc_alloc(self->x, 4, 0, BP_NORM, 1, 0, bp_ptr(ids), 0));
	/* X's own mapped buffer listed twice: X keeps it, mapped */
	NC(-EINVAL, nc_release(self->x, 0, ids, 2));
	NC(-EINVAL, nc_release(self->x, 1, mine_then_h, 2));
	NC(-EINVAL, nc_release(self->x, 0, ids, 0));
	NC(-EINVAL, nc_release(self->x, 0, ids, BUFPOOL_ALLOC_MAX + 1));
}

/*
 * ALLOC's ids must be aligned for __u32: its probe and its put-back
 * compare-and-exchange the caller's words, and one split across two cache
 * lines is a split lock, which a CPU that detects them traps on in the
 * kernel too.  Refused before anything is touched, the words untouched.
 */
TEST_F(nc, einval_unaligned_ids)
{
	size_t as = sizeof(struct bufpool_alloc);
	unsigned char *line, before[16];
	unsigned int off;

	/* the worst case: the words straddle a cache line */
	line = aligned_alloc(128, 128);
	ASSERT_NE(NULL, line);
	for (off = 1; off < sizeof(__u32); off++) {
		memset(line, 0x5a, 128);
		memcpy(before, line + 56, sizeof(before));
		NC(-EINVAL, nc_alloc(self->x, as, 0, BP_CRIT, 1, 0,
				     bp_ptr(line + 60 + off), 0));
		EXPECT_EQ(0, memcmp(before, line + 56, sizeof(before)))
			TH_LOG("offset %u: the caller's words changed", off);
	}
	free(line);
}

/*
 * When several errors apply, ALLOC answers in a fixed order: the
 * structure's own fields (EINVAL, the alignment of ids_ptr included),
 * then the ids array (EFAULT), then the status-page flag (EINVAL), then
 * the pool.  Each pair below has both errors; the first one wins.
 */
TEST_F(nc, errno_order)
{
	size_t as = sizeof(struct bufpool_alloc);
	__u32 st = BUFPOOL_ALLOC_STATUS | BUFPOOL_ALLOC_NOQUEUE;
	__u32 ids[1];

	/* unaligned and unmapped: refused for the alignment */
	NC(-EINVAL, nc_alloc(self->x, as, 0, BP_CRIT, 1, 0, 1, 0));
	/* a reserved field set and no array */
	NC(-EINVAL, nc_alloc(self->x, as, 0, BP_CRIT, 1, 0, 0, 1));
	/* the status flag without the page mapped, and no array */
	NC(-EFAULT, nc_alloc(self->x, as, st, BP_CRIT, 1, 0, 0, 0));
	NC(-EINVAL, nc_alloc(self->x, as, st, BP_CRIT, 1, 0, bp_ptr(ids), 0));
}

TEST_F(nc, e2big)
{
	unsigned char *big = calloc(1, 8192);
	struct bufpool_alloc *a = (struct bufpool_alloc *)big;
	__u32 ids[1];

	ASSERT_NE(NULL, big);
	a->alloc_class = BP_CRIT;
	a->count = 1;
	a->ids_ptr = bp_ptr(ids);
	a->size = BUFPOOL_ARG_SIZE_MAX + 1;
	NC(-E2BIG, bp_ioctl(self->x, BUFPOOL_IOC_ALLOC, a));
	a->size = sizeof(*a) + 8;
	big[sizeof(*a) + 3] = 1;
	NC(-E2BIG, bp_ioctl(self->x, BUFPOOL_IOC_ALLOC, a));
	free(big);
}

TEST_F(nc, eagain_noqueue)
{
	__u32 ids[2];

	NC(-EAGAIN, bp_try(self->x, BP_NORM, 2, ids));
}

TEST_F(nc, eagain_already_queued_ebusy)
{
	int y = bp_open(O_NONBLOCK);
	__u32 ids[2];

	ASSERT_LE(0, y);
	/* queued: that is what EAGAIN on a non-blocking fd changes */
	ASSERT_EQ(-EAGAIN, bp_alloc(y, BP_NORM, 2, ids));
	ASSERT_EQ(0, bp_stats(self->h, &self->before));
	/* asking again for the same: still queued, once */
	NC(-EAGAIN, bp_alloc(y, BP_NORM, 2, ids));
	NC(-EBUSY, bp_alloc(y, BP_NORM, 1, ids));
	NC(-EBUSY, bp_alloc(y, BP_CRIT, 2, ids));
	EXPECT_EQ(0, bp_cancel(y));
	close(y);
}

TEST_F(nc, enospc)
{
	__u32 ids[NC_LIMIT + 1];

	NC(-ENOSPC, bp_alloc(self->x, BP_CRIT, NC_LIMIT + 1, ids));
	NC(-ENOSPC, bp_try(self->x, BP_CRIT, NC_LIMIT + 1, ids));
}

TEST_F(nc, edeadlk)
{
	__u32 ids[NC_LIMIT];

	/* X holds 1: 1 + 4 > 4 could only fit once X gives back */
	NC(-EDEADLK, bp_alloc(self->x, BP_NORM, NC_LIMIT, ids));
	NC(-EDEADLK, bp_try(self->x, BP_NORM, NC_LIMIT, ids));
}

TEST_F(nc, edquot)
{
	__u32 ids[1];

	/* H and X are the same user: 3 held, a quota of 3 */
	ASSERT_EQ(0, bp_sysfs_set("user_quota", 3));
	NC(-EDQUOT, bp_alloc(self->x, BP_CRIT, 1, ids));
	NC(-EDQUOT, bp_try(self->x, BP_CRIT, 1, ids));
	ASSERT_EQ(0, bp_sysfs_set("user_quota", 0));
}

TEST_F(nc, etimedout)
{
	__u32 ids[2];

	NC(-ETIMEDOUT, bp_alloc_t(self->x, BP_NORM, 2, 0, 20 * 1000 * 1000,
				  ids));
}

struct nc_blocked {
	int fd;
	int ret;
	__u32 *ids;	/* nc_block_ids() */
};

static void nc_sigusr1(int sig)
{
}

static void *nc_block(void *arg)
{
	struct nc_blocked *b = arg;
	__u32 ids[2];

	b->ret = bp_alloc(b->fd, BP_NORM, 2, ids);
	return NULL;
}

static void *nc_block_ids(void *arg)
{
	struct nc_blocked *b = arg;

	b->ret = bp_alloc(b->fd, BP_NORM, 2, b->ids);
	return NULL;
}

/*
 * EFAULT late: X's ALLOC of 2 has checked its ids array, which straddles
 * two pages, and waits; meanwhile another thread makes the second page
 * read-only.  The grant's copy-out writes the first id and faults on the
 * second: the grant is undone, and the word on the first page must be
 * what it was, not the id of a buffer X no longer holds.
 */
TEST_F(nc, efault_late)
{
	struct nc_blocked b = { .fd = self->x, .ret = 1 };
	struct bufpool_stats st;
	pthread_t t;
	char *r;

	r = mmap(NULL, 2 * self->page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r);
	b.ids = (__u32 *)(r + self->page) - 1;
	b.ids[0] = 0x5a5a5a5a;
	b.ids[1] = 0x6b6b6b6b;
	ASSERT_EQ(0, pthread_create(&t, NULL, nc_block_ids, &b));
	ASSERT_EQ(0, bp_wait_queued(self->h, BP_NORM, 1, BP_PATIENCE_MS));
	ASSERT_EQ(0, mprotect(r + self->page, self->page, PROT_READ));
	/* a larger budget: X is granted at once */
	ASSERT_EQ(0, bp_tunables_set(NC_LIMIT + 1, 0, 0));
	pthread_join(t, NULL);
	EXPECT_EQ(-EFAULT, b.ret);
	EXPECT_EQ(0x5a5a5a5aU, b.ids[0])
		TH_LOG("the failed ALLOC left id %u in the caller's memory",
		       b.ids[0]);
	EXPECT_EQ(0x6b6b6b6bU, b.ids[1]);
	ASSERT_EQ(0, bp_tunables_set(NC_LIMIT, 0, 0));
	/* the grant came and went: only what X and H held is in use */
	ASSERT_EQ(0, bp_stats(self->h, &st));
	EXPECT_EQ(self->before.in_use, st.in_use);
	EXPECT_EQ(self->before.free, st.free);
	EXPECT_EQ(0ULL, bp_nr_queued(&st));
	nc_check_held(_metadata, self, "late EFAULT");
	munmap(r, 2 * self->page);
}

TEST_F(nc, eintr)
{
	struct sigaction sa = { .sa_handler = nc_sigusr1 };	/* no SA_RESTART */
	struct nc_blocked b = { .fd = self->x, .ret = 1 };
	pthread_t t;

	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, pthread_create(&t, NULL, nc_block, &b));
	ASSERT_EQ(0, bp_wait_queued(self->h, BP_NORM, 1, BP_PATIENCE_MS));
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
	EXPECT_EQ(-EINTR, b.ret);
	/* the request stays queued in its place (README): withdraw it */
	EXPECT_EQ(0, bp_cancel(self->x));
	nc_check(_metadata, self, "EINTR, then CANCEL");
}

TEST_F(nc, enoent)
{
	__u32 unheld = NC_UNHELD;
	__u32 unheld_then_h[2] = { NC_UNHELD, self->hid[0] };
	__u32 mine_then_unheld[2] = { self->xid, NC_UNHELD };

	NC(-ENOENT, nc_release(self->x, 0, &unheld, 1));
	/* H's id after an unknown one: H keeps it, mapped */
	NC(-ENOENT, nc_release(self->x, 0, unheld_then_h, 2));
	/* X's own mapped buffer before an unknown one: X keeps it, mapped */
	NC(-ENOENT, nc_release(self->x, 0, mine_then_unheld, 2));
	NC(-ENOENT, bp_cancel(self->x));
}

TEST_F(nc, eperm)
{
	__u32 h_then_mine[2] = { self->hid[1], self->xid };

	NC(-EPERM, nc_release(self->x, 0, &self->hid[0], 1));
	NC(-EPERM, nc_release(self->x, 0, self->hid, 2));
	NC(-EPERM, nc_release(self->x, 0, h_then_mine, 2));
}

TEST_HARNESS_MAIN
