// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool isolation selftests: what a hostile holder tries in order to
 * reach a buffer it no longer holds, or to disturb another holder.
 *
 *  - an ALLOC whose ids cannot be copied out is undone; the copy itself
 *    (through an mremap()ed old mapping) or a sibling thread (while the
 *    copy is paused by userfaultfd) may have mapped a granted buffer
 *    meanwhile: that mapping must be revoked before the buffer goes to
 *    anyone else;
 *  - a sibling thread releasing the in-flight ids of such an ALLOC is
 *    legitimate and must cost nothing but the buffers it gave back (the
 *    VM run fails on any kernel warning);
 *  - the ids such an ALLOC wrote before the fault are put back, but never
 *    over what a sibling thread stored there meanwhile;
 *  - a refused RELEASE touches no mapping, of this fd or another;
 *  - a child never inherits a mapping, MADV_DOFORK or not, and
 *    get_user_pages() takes the pages only while the fd holds them;
 *  - an O_RDONLY fd may map what it holds for reading only.
 *
 * The pool is set to limit 2, reserve 0 through sysfs, and put back.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/userfaultfd.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_sys_util.h"

#define SECRET		'S'
#define RACE_ROUNDS	200

FIXTURE(iso) {
	int fd_a;		/* the hostile holder */
	int fd_h;		/* holds the pool while fd_a waits */
	int fd_b;		/* the next holder, whose data must stay its own */
	size_t bs, pg;
	struct bp_tunables saved;
};

FIXTURE_SETUP(iso)
{
	struct bufpool_stats st;

	self->fd_a = -1;
	self->fd_h = -1;
	self->fd_b = -1;
	ASSERT_EQ(0, bp_tunables_save(&self->saved));
	self->fd_a = bp_open(0);
	ASSERT_LE(0, self->fd_a) TH_LOG("open %s: %s", BP_DEV, strerror(errno));
	ASSERT_EQ(0, bp_wait_idle(self->fd_a));
	ASSERT_EQ(0, bp_tunables_set(2, 0, 0));
	self->fd_h = bp_open(0);
	self->fd_b = bp_open(0);
	ASSERT_LE(0, self->fd_h);
	ASSERT_LE(0, self->fd_b);
	ASSERT_EQ(0, bp_stats(self->fd_a, &st));
	ASSERT_EQ(2ULL, st.limit);
	self->bs = st.bufsize;
	self->pg = getpagesize();
}

FIXTURE_TEARDOWN(iso)
{
	close(self->fd_a);
	close(self->fd_h);
	close(self->fd_b);
	EXPECT_EQ(0, bp_tunables_restore(&self->saved));
}

struct blocked_alloc {
	pthread_t thread;
	int fd;
	unsigned int count;
	__u32 *ids;
	int ret;
};

static void *blocked_alloc_thread(void *arg)
{
	struct blocked_alloc *b = arg;

	b->ret = bp_alloc(b->fd, BP_NORM, b->count, b->ids);
	return NULL;
}

/*
 * After a failed ALLOC on fd_a: fd_b takes the whole pool, maps it and
 * writes SECRET everywhere.  Then no byte of @stale (a mapping made
 * through fd_a, @len bytes) may be reachable: every read must SIGBUS,
 * and the kernel must refuse to read it too (write() to a pipe).
 */
static void check_stale(struct __test_metadata *_metadata,
			struct _test_data_iso *self, char *stale, size_t len)
{
	__u32 ids[2];
	char *w[2], c = 0;
	int pipefd[2], i, sig;
	size_t off;

	ASSERT_EQ(0, bp_wait_in_use(self->fd_b, 0, BP_PATIENCE_MS));
	ASSERT_EQ(0, bp_try(self->fd_b, BP_NORM, 2, ids));
	for (i = 0; i < 2; i++) {
		w[i] = mmap(NULL, self->bs, PROT_READ | PROT_WRITE, MAP_SHARED,
			    self->fd_b, (off_t)ids[i] * self->bs);
		ASSERT_NE(MAP_FAILED, w[i]);
		memset(w[i], SECRET, self->bs);
	}
	for (off = 0; off < len; off += self->pg) {
		sig = bp_touch(stale + off, false, 0, &c);
		EXPECT_EQ(SIGBUS, sig)
			TH_LOG("stale mapping +%zu readable after the undo: '%c'",
			       off, c);
		if (!sig)
			EXPECT_NE(SECRET, c)
				TH_LOG("and it shows the next holder's data");
	}
	ASSERT_EQ(0, pipe(pipefd));
	EXPECT_EQ(-1, write(pipefd[1], stale, 1))
		TH_LOG("the kernel read through the stale mapping");
	close(pipefd[0]);
	close(pipefd[1]);
	for (i = 0; i < 2; i++)
		munmap(w[i], self->bs);
	EXPECT_EQ(0, bp_release(self->fd_b, ids, 2));
}

/*
 * The copy of the ids faults a granted buffer in itself: the first id
 * lands in the old mapping of a buffer fd_a once held, moved with
 * mremap() over the ids array, the second one in a hole.
 */
TEST_F(iso, efault_undo_revokes_mremap)
{
	size_t bs = self->bs, pg = self->pg;
	struct blocked_alloc b = { .fd = self->fd_a, .count = 2 };
	__u32 x, held[2];
	char *v, *r, *moved;

	ASSERT_EQ(0, bp_alloc(self->fd_a, BP_NORM, 1, &x));
	v = mmap(NULL, bs, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd_a,
		 (off_t)x * bs);
	ASSERT_NE(MAP_FAILED, v);
	ASSERT_EQ(0, bp_release(self->fd_a, &x, 1));	/* v stays, no PTE */
	ASSERT_EQ(0, bp_alloc(self->fd_h, BP_NORM, 2, held));

	r = mmap(NULL, bs + pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r);
	b.ids = (__u32 *)(r + bs - sizeof(__u32));
	ASSERT_EQ(0, pthread_create(&b.thread, NULL, blocked_alloc_thread, &b));
	ASSERT_EQ(0, bp_wait_queued(self->fd_h, BP_NORM, 1, BP_PATIENCE_MS));

	moved = mremap(v, bs, bs, MREMAP_MAYMOVE | MREMAP_FIXED, r);
	ASSERT_EQ(r, moved);
	ASSERT_EQ(0, munmap(r + bs, pg));
	ASSERT_EQ(0, bp_release(self->fd_h, held, 2));
	ASSERT_EQ(0, pthread_join(b.thread, NULL));
	ASSERT_EQ(-EFAULT, b.ret);

	check_stale(_metadata, self, r, bs);
	munmap(r, bs);
}

/*
 * The copy-out of a grant, paused by userfaultfd: what a sibling thread
 * does while ALLOC waits for the ids page, after which the page is gone
 * and ALLOC fails with EFAULT.
 */
enum sibling_act {
	SIB_MAP,	/* map the grant and touch it */
	SIB_RELEASE_ONE,	/* give one of the two back */
	SIB_REGRANT,	/* give both back, allocate two again, map one */
	SIB_STORE,	/* store into the id written already (straddle) */
};

#define SIB_STORED	0x77777777U
#define SIB_BEFORE	0x5a5a5a5aU

struct uffd_helper {
	pthread_t thread;
	int uffd, fd;
	enum sibling_act act;
	char *page;		/* the ids, registered with uffd */
	bool straddle;		/* the first id on the page before it */
	char *base;		/* straddle: that page */
	size_t pg, bs;
	__u32 ids[2];		/* what the grant must be */
	__u32 again[2];		/* SIB_REGRANT: the second grant */
	char *m[2];		/* the sibling's mappings */
	int err;
};

static int sibling_map(struct uffd_helper *u, int i, __u32 id)
{
	u->m[i] = mmap(NULL, u->bs, PROT_READ | PROT_WRITE, MAP_SHARED, u->fd,
		       (off_t)id * u->bs);
	if (u->m[i] == MAP_FAILED) {
		u->m[i] = NULL;
		return -1;
	}
	u->m[i][0] = 1;
	return 0;
}

static void sibling_act(struct uffd_helper *u)
{
	switch (u->act) {
	case SIB_MAP:
		if (sibling_map(u, 0, u->ids[0]) || sibling_map(u, 1, u->ids[1]))
			u->err = 3;
		break;
	case SIB_RELEASE_ONE:
		if (bp_release(u->fd, &u->ids[1], 1))
			u->err = 4;
		break;
	case SIB_REGRANT:
		if (bp_release(u->fd, u->ids, 2) ||
		    bp_try(u->fd, BP_NORM, 2, u->again) ||
		    sibling_map(u, 0, u->again[0]))
			u->err = 5;
		break;
	case SIB_STORE:
		__atomic_store_n((__u32 *)u->page - 1, SIB_STORED,
				 __ATOMIC_RELAXED);
		break;
	}
}

static void *uffd_thread(void *arg)
{
	struct uffd_helper *u = arg;
	struct uffdio_range wake = {
		.start = (unsigned long)u->page, .len = u->pg,
	};
	struct uffdio_copy copy;
	struct pollfd pfd = { .fd = u->uffd, .events = POLLIN };
	struct uffd_msg msg;
	char *zero;
	int faults;

	zero = calloc(1, u->pg);
	for (faults = 0; faults < 2;) {
		if (poll(&pfd, 1, BP_PATIENCE_MS) != 1) {
			u->err = 1;
			break;
		}
		if (read(u->uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		if (++faults == 1) {
			/* ALLOC checking the ids array: let it through */
			copy = (struct uffdio_copy) {
				.dst = (unsigned long)u->page,
				.src = (unsigned long)zero,
				.len = u->pg,
			};
			if (ioctl(u->uffd, UFFDIO_COPY, &copy))
				u->err = 2;
			continue;
		}
		/* the copy-out of the grant: the fd holds it now */
		sibling_act(u);
		munmap(u->page, u->pg);
		ioctl(u->uffd, UFFDIO_WAKE, &wake);
	}
	free(zero);
	return NULL;
}

/*
 * fd_h holds the pool; fd_a's blocking ALLOC of 2 has its ids page
 * registered with userfaultfd (with @u->straddle, the page of its second
 * id: the first is the last word of the page before, not registered);
 * fd_h gives the pool back; @u->act runs while the copy-out waits; ALLOC
 * fails with EFAULT.  Returns false (the test is skipped) without
 * userfaultfd or madvise().
 */
static bool paused_alloc(struct __test_metadata *_metadata,
			 struct _test_data_iso *self, struct uffd_helper *u)
{
	struct blocked_alloc b = { .fd = self->fd_a, .count = 2 };
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;

	u->fd = self->fd_a;
	u->pg = self->pg;
	u->bs = self->bs;
	if (madvise(NULL, 0, MADV_NORMAL)) {
		TH_LOG("no madvise(): %s", strerror(errno));
		return false;
	}
	u->uffd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (u->uffd < 0)
		return false;
	EXPECT_EQ(0, ioctl(u->uffd, UFFDIO_API, &api));
	u->base = mmap(NULL, 2 * u->pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT_NE(MAP_FAILED, u->base);
	u->page = u->base + u->pg;
	if (u->straddle)
		*((__u32 *)u->page - 1) = SIB_BEFORE;
	reg = (struct uffdio_register) {
		.range = { .start = (unsigned long)u->page, .len = u->pg },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	EXPECT_EQ(0, ioctl(u->uffd, UFFDIO_REGISTER, &reg));

	EXPECT_EQ(0, bp_alloc(self->fd_h, BP_NORM, 2, u->ids));
	EXPECT_EQ(0, pthread_create(&u->thread, NULL, uffd_thread, u));
	b.ids = (__u32 *)u->page - u->straddle;
	EXPECT_EQ(0, pthread_create(&b.thread, NULL, blocked_alloc_thread, &b));
	EXPECT_EQ(0, bp_wait_queued(self->fd_h, BP_NORM, 1, BP_PATIENCE_MS));
	/* missing again: the copy-out of the grant waits for uffd_thread */
	EXPECT_EQ(0, madvise(u->page, u->pg, MADV_DONTNEED));
	EXPECT_EQ(0, bp_release(self->fd_h, u->ids, 2));
	EXPECT_EQ(0, pthread_join(b.thread, NULL));
	EXPECT_EQ(0, pthread_join(u->thread, NULL));
	EXPECT_EQ(0, u->err);
	EXPECT_EQ(-EFAULT, b.ret);
	close(u->uffd);
	if (!u->straddle)
		munmap(u->base, u->pg);
	return true;
}

/*
 * The copy-out wrote the first id and waits for the second's page; the
 * sibling stores into the first: the put-back of that id after the fault
 * must leave the sibling's value, not write back the one from before.
 */
TEST_F(iso, efault_putback_spares_sibling_store)
{
	struct uffd_helper u = { .act = SIB_STORE, .straddle = true };
	struct bufpool_stats st;

	if (!paused_alloc(_metadata, self, &u))
		SKIP(return, "userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, u.err);
	EXPECT_EQ(SIB_STORED, *((__u32 *)u.page - 1))
		TH_LOG("the put-back overwrote the sibling's store");
	ASSERT_EQ(0, bp_stats(self->fd_a, &st));
	EXPECT_EQ(0ULL, st.in_use);
	munmap(u.base, self->pg);
}

/* The sibling mapped the grant while the copy-out waited. */
TEST_F(iso, efault_undo_revokes_sibling_uffd)
{
	struct uffd_helper u = { .act = SIB_MAP };
	int i;

	if (!paused_alloc(_metadata, self, &u))
		SKIP(return, "userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, u.err);
	for (i = 0; i < 2; i++) {
		check_stale(_metadata, self, u.m[i], self->bs);
		munmap(u.m[i], self->bs);
	}
}

/* The sibling gave one back: the undo gives back the other, no more. */
TEST_F(iso, efault_undo_after_sibling_released_one)
{
	struct uffd_helper u = { .act = SIB_RELEASE_ONE };
	struct bufpool_stats st;

	if (!paused_alloc(_metadata, self, &u))
		SKIP(return, "userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, bp_stats(self->fd_a, &st));
	EXPECT_EQ(0ULL, st.in_use) TH_LOG("the undo lost a buffer");
	EXPECT_EQ(-ENOENT, bp_release(self->fd_a, &u.ids[0], 1));
}

/*
 * The sibling gave both back and allocated two again: that second grant
 * is the sibling's, the undo of the first must not touch it.
 */
TEST_F(iso, efault_undo_spares_a_later_grant)
{
	struct uffd_helper u = { .act = SIB_REGRANT };
	struct bufpool_stats st;
	char c = 0;

	if (!paused_alloc(_metadata, self, &u))
		SKIP(return, "userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, u.err);
	ASSERT_EQ(0, bp_stats(self->fd_a, &st));
	EXPECT_EQ(2ULL, st.in_use) TH_LOG("the undo took the later grant");
	EXPECT_EQ(0, bp_touch(u.m[0], false, 0, &c));
	EXPECT_EQ(1, c);
	EXPECT_EQ(0, bp_release(self->fd_a, u.again, 2));
	munmap(u.m[0], self->bs);
}

/*
 * A sibling thread releasing the ids of an ALLOC whose copy-out fails:
 * whoever wins, every buffer comes back exactly once and the kernel log
 * stays clean.
 */
struct racer {
	pthread_t thread;
	int fd;
	const __u32 *ids;
	bool stop;
	bool won;
};

static void *racer_thread(void *arg)
{
	struct racer *r = arg;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		if (!bp_release(r->fd, r->ids, 2)) {
			r->won = true;
			break;
		}
	}
	return NULL;
}

TEST_F(iso, efault_undo_races_sibling_release)
{
	size_t pg = self->pg;
	unsigned int round, wins = 0;
	struct bufpool_stats a, z;

	ASSERT_EQ(0, bp_stats(self->fd_a, &a));
	for (round = 0; round < RACE_ROUNDS; round++) {
		struct blocked_alloc b = { .fd = self->fd_a, .count = 2 };
		struct racer rc = { .fd = self->fd_a };
		__u32 held[2];
		char *r;

		ASSERT_EQ(0, bp_alloc(self->fd_h, BP_NORM, 2, held));
		r = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, r);
		b.ids = (__u32 *)(r + pg - sizeof(__u32));
		rc.ids = held;
		ASSERT_EQ(0, pthread_create(&b.thread, NULL,
					    blocked_alloc_thread, &b));
		ASSERT_EQ(0, bp_wait_queued(self->fd_h, BP_NORM, 1,
					    BP_PATIENCE_MS));
		ASSERT_EQ(0, munmap(r + pg, pg));
		/* a fault before the one that fails: a wider window */
		madvise(r, pg, MADV_DONTNEED);
		ASSERT_EQ(0, pthread_create(&rc.thread, NULL, racer_thread,
					    &rc));
		ASSERT_EQ(0, bp_release(self->fd_h, held, 2));
		ASSERT_EQ(0, pthread_join(b.thread, NULL));
		__atomic_store_n(&rc.stop, true, __ATOMIC_RELAXED);
		ASSERT_EQ(0, pthread_join(rc.thread, NULL));
		ASSERT_EQ(-EFAULT, b.ret);
		wins += rc.won;
		/* both buffers back, from the racer or from the undo */
		ASSERT_EQ(0, bp_wait_in_use(self->fd_a, 0, BP_PATIENCE_MS));
		EXPECT_EQ(-ENOENT, bp_release(self->fd_a, held, 2));
		munmap(r, pg);
	}
	ASSERT_EQ(0, bp_stats(self->fd_a, &z));
	ksft_print_msg("sibling RELEASE won %u of %u rounds\n", wins,
		       RACE_ROUNDS);
	EXPECT_EQ(0ULL, z.in_use);
	/* 2 requests served per round, 4 buffers: each came back once */
	EXPECT_EQ(z.allocations - a.allocations, 2ULL * RACE_ROUNDS);
	EXPECT_EQ(z.releases - a.releases, 4ULL * RACE_ROUNDS);
}

static long minor_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* A refused RELEASE must not zap anybody's mapping. */
TEST_F(iso, refused_release_keeps_mappings)
{
	const unsigned int rounds = 100;
	__u32 x, y, both[2], twice[2];
	char *pb, *pa;
	unsigned int i;
	long before, cost;

	ASSERT_EQ(0, bp_alloc(self->fd_b, BP_NORM, 1, &x));
	ASSERT_EQ(0, bp_alloc(self->fd_a, BP_NORM, 1, &y));
	pb = mmap(NULL, self->bs, PROT_READ | PROT_WRITE, MAP_SHARED,
		  self->fd_b, (off_t)x * self->bs);
	pa = mmap(NULL, self->bs, PROT_READ | PROT_WRITE, MAP_SHARED,
		  self->fd_a, (off_t)y * self->bs);
	ASSERT_NE(MAP_FAILED, pb);
	ASSERT_NE(MAP_FAILED, pa);
	pb[0] = 1;
	pa[0] = 2;
	both[0] = y;
	both[1] = x;
	twice[0] = y;
	twice[1] = y;
	/* warm every page this loop touches */
	ASSERT_EQ(-EPERM, bp_release(self->fd_a, &x, 1));
	ASSERT_EQ(-EPERM, bp_release(self->fd_a, both, 2));
	ASSERT_EQ(-EINVAL, bp_release(self->fd_a, twice, 2));
	pb[0]++;
	pa[0]++;

	before = minor_faults();
	for (i = 0; i < rounds; i++) {
		if (bp_release(self->fd_a, &x, 1) != -EPERM ||
		    bp_release(self->fd_a, both, 2) != -EPERM ||
		    bp_release(self->fd_a, twice, 2) != -EINVAL)
			break;
		pb[0]++;
		pa[0]++;
	}
	cost = minor_faults() - before;
	ASSERT_EQ(rounds, i);
	ksft_print_msg("%u refused RELEASEs x3: %ld minor faults\n", rounds,
		       cost);
	EXPECT_GT((long)rounds / 10, cost)
		TH_LOG("refused RELEASEs tore down the holders' mappings");
	EXPECT_EQ((char)(1 + rounds + 1), pb[0]);
	EXPECT_EQ((char)(2 + rounds + 1), pa[0]);
	munmap(pa, self->bs);
	munmap(pb, self->bs);
	EXPECT_EQ(0, bp_release(self->fd_a, &y, 1));
	EXPECT_EQ(0, bp_release(self->fd_b, &x, 1));
}

/*
 * A child never inherits a mapping: VM_DONTCOPY leaves it out (SIGSEGV
 * there), and the copy fork() makes once MADV_DOFORK has lifted that is
 * cut off from the buffer (SIGBUS there).  Never the data.
 */
TEST_F(iso, no_mapping_across_fork)
{
	__u32 x;
	char *p;
	pid_t pid;
	int round, sig[2] = { SIGSEGV, SIGBUS };

	ASSERT_EQ(0, bp_alloc(self->fd_a, BP_NORM, 1, &x));
	p = mmap(NULL, self->bs, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->fd_a, (off_t)x * self->bs);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = SECRET;
	for (round = 0; round < 2; round++) {
		if (round && madvise(p, self->bs, MADV_DOFORK)) {
			TH_LOG("MADV_DOFORK refused (%d): fork only", errno);
			break;
		}
		pid = bp_fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			char c = 0;
			int s = bp_touch(p, false, 0, &c);

			_exit(s ? s : (c == SECRET ? 100 : 101));
		}
		EXPECT_EQ(sig[round], bp_reap(pid))
			TH_LOG("round %d, 100: the child read the parent's mapping",
			       round);
	}
	EXPECT_EQ(SECRET, p[0]);
	munmap(p, self->bs);
	EXPECT_EQ(0, bp_release(self->fd_a, &x, 1));
}

/*
 * The mappings are ordinary pages: get_user_pages() takes them while the
 * fd holds the buffer (process_vm_readv() reads it), and fails (EFAULT)
 * once it is released, like any other access.
 */
TEST_F(iso, gup_while_held_only)
{
	char *p, c = 0;
	struct iovec local = { .iov_base = &c, .iov_len = 1 }, remote;
	__u32 x;

	if (process_vm_readv(getpid(), &local, 0, &local, 0, 0))
		SKIP(return, "no process_vm_readv() in this kernel");
	ASSERT_EQ(0, bp_alloc(self->fd_a, BP_NORM, 1, &x));
	p = mmap(NULL, self->bs, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->fd_a, (off_t)x * self->bs);
	ASSERT_NE(MAP_FAILED, p);
	p[self->bs - 1] = SECRET;
	remote = (struct iovec) { .iov_base = p + self->bs - 1, .iov_len = 1 };
	EXPECT_EQ(1, process_vm_readv(getpid(), &local, 1, &remote, 1, 0))
		TH_LOG("get_user_pages() refused a held buffer: %d", errno);
	EXPECT_EQ(SECRET, c);
	ASSERT_EQ(0, bp_release(self->fd_a, &x, 1));
	c = 0;
	EXPECT_EQ(-1, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, c);
	munmap(p, self->bs);
}

/*
 * An O_RDONLY fd allocates and maps what it holds, read-only: PROT_WRITE
 * and a later mprotect() to it are EACCES, MAP_PRIVATE is EINVAL, and
 * RELEASE revokes its mapping like any other.
 */
TEST_F(iso, read_only_fd_maps_read_only)
{
	int fd = open(BP_DEV, O_RDONLY | O_CLOEXEC);
	char *p, c = 1;
	__u32 x;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bp_alloc(fd, BP_NORM, 1, &x));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, self->bs, PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, (off_t)x * self->bs));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, self->bs, PROT_READ, MAP_PRIVATE,
				   fd, (off_t)x * self->bs));
	EXPECT_EQ(EINVAL, errno);

	p = mmap(NULL, self->bs, PROT_READ, MAP_SHARED, fd,
		 (off_t)x * self->bs);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("PROT_READ: %s", strerror(errno));
	EXPECT_EQ(0, bp_touch(p + self->bs - 1, false, 0, &c));
	EXPECT_EQ(0, c);
	EXPECT_EQ(SIGSEGV, bp_write_at(p, SECRET));
	EXPECT_EQ(-1, mprotect(p, self->bs, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);

	EXPECT_EQ(0, bp_release(fd, &x, 1));
	EXPECT_EQ(SIGBUS, bp_read_at(p));
	munmap(p, self->bs);
	close(fd);
}

TEST_HARNESS_MAIN
