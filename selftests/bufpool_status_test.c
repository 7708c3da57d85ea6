// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool status page selftests: an event loop learns the ids of its
 * grant from the page it maps at BUFPOOL_STATUS_OFFSET, without an ALLOC
 * to collect them, and nothing else can be learnt or done through it:
 *
 *  - a request queued with BUFPOOL_ALLOC_STATUS is granted onto the page:
 *    the fd holds the buffer, has no request left, and poll() says so;
 *  - each fd's page shows that fd's grants only;
 *  - the page cannot be written: not mapped writable, not mprotect()ed
 *    writable, not through /proc/self/mem, not by a write to it;
 *  - a child does not inherit it (fork, MADV_DOFORK), mremap() cannot
 *    grow it, and it stays readable while mapped after close();
 *  - requests without the flag (blocking, collect by ALLOC) are as
 *    before, and the flag is refused where no event loop could read it;
 *  - how a grant is delivered is fixed when its request is queued: no
 *    later call (refused with EBUSY, or the same class and count with
 *    the flag set otherwise), nor a sibling thread's, changes it, so a
 *    grant is never taken silently under an id the program never sees.
 *
 * The pool is set to limit 2, reserve 0 through sysfs, and put back.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "bufpool_util.h"
#include "bufpool_sys_util.h"

#define ST_PAGE_OFF	((off_t)BUFPOOL_STATUS_OFFSET)

FIXTURE(st) {
	struct bp_tunables saved;
	int h;			/* holds the pool */
	int a, b;		/* O_NONBLOCK event loop fds */
	__u32 held[2];
	size_t pg;
};

FIXTURE_SETUP(st)
{
	struct bufpool_info info;

	self->h = -1;
	self->a = -1;
	self->b = -1;
	ASSERT_EQ(0, bp_tunables_save(&self->saved));
	self->h = bp_open(0);
	ASSERT_LE(0, self->h) TH_LOG("open %s: %s", BP_DEV, strerror(errno));
	ASSERT_EQ(0, bp_info(self->h, &info));
	ASSERT_NE(0ULL, info.features & BUFPOOL_FEAT_STATUS);
	ASSERT_EQ(0, bp_wait_idle(self->h));
	ASSERT_EQ(0, bp_tunables_set(2, 0, 0));
	self->a = bp_open(O_NONBLOCK);
	self->b = bp_open(O_NONBLOCK);
	ASSERT_LE(0, self->a);
	ASSERT_LE(0, self->b);
	self->pg = getpagesize();
	/* the pool is empty: what a and b ask for waits */
	ASSERT_EQ(0, bp_alloc(self->h, BP_NORM, 2, self->held));
}

FIXTURE_TEARDOWN(st)
{
	close(self->a);
	close(self->b);
	close(self->h);
	if (self->saved.limit)
		bp_tunables_restore(&self->saved);
}

static const struct bufpool_status *st_map(int fd)
{
	void *p = mmap(NULL, getpagesize(), PROT_READ, MAP_SHARED, fd,
		       ST_PAGE_OFF);

	return p == MAP_FAILED ? NULL : p;
}

/* A consistent copy of @p (the kernel may be updating it). */
static void st_read(const struct bufpool_status *p, struct bufpool_status *out)
{
	__u32 seq;

	do {
		seq = __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE);
		memcpy(out, (const void *)p, sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((seq & 1) || seq != __atomic_load_n(&p->seq, __ATOMIC_RELAXED));
}

/* Wait for @p's grants counter to reach @n. */
static bool st_wait_grants(const struct bufpool_status *p, __u32 n)
{
	long long end = bp_now_ms() + BP_PATIENCE_MS;

	while (__atomic_load_n(&p->grants, __ATOMIC_ACQUIRE) < n) {
		if (bp_now_ms() > end)
			return false;
		bp_msleep(1);
	}
	return true;
}

static int st_queue(int fd, unsigned int class, __u32 *id)
{
	return bp_alloc_t(fd, class, 1, BUFPOOL_ALLOC_STATUS, 0, id);
}

static sigjmp_buf st_jmp;

static void st_segv(int sig)
{
	siglongjmp(st_jmp, sig);
}

/* Write to @p here: the signal it raised, 0 if none. */
static int st_try_write(const __u32 *p)
{
	struct sigaction sa = { .sa_handler = st_segv }, old;
	int sig;

	sigaction(SIGSEGV, &sa, &old);
	sig = sigsetjmp(st_jmp, 1);
	if (!sig)
		__atomic_store_n((__u32 *)p, 0xdeadbeef, __ATOMIC_RELAXED);
	sigaction(SIGSEGV, &old, NULL);
	return sig;
}

TEST_F(st, shows_grant)
{
	const struct bufpool_status *p = st_map(self->a);
	struct bufpool_status s;
	struct bufpool_stats x;
	__u32 id = ~0U, again;
	void *m;

	ASSERT_NE(NULL, p) TH_LOG("mmap status: %s", strerror(errno));
	st_read(p, &s);
	EXPECT_EQ(0U, s.grants);
	EXPECT_EQ(0U, s.count);
	EXPECT_EQ(-EAGAIN, st_queue(self->a, BP_NORM, &id));
	EXPECT_EQ(~0U, id);
	EXPECT_FALSE(bp_readable(self->a, 0));

	ASSERT_EQ(0, bp_release(self->h, &self->held[0], 1));
	ASSERT_TRUE(st_wait_grants(p, 1));
	st_read(p, &s);
	EXPECT_EQ(0U, s.seq & 1);
	EXPECT_EQ(1U, s.grants);
	EXPECT_EQ((__u32)BP_NORM, s.alloc_class);
	EXPECT_EQ(1U, s.count);
	EXPECT_EQ(self->held[0], s.ids[0]);
	EXPECT_EQ(0U, s.ids[1]);
	/* poll says so until the next call */
	EXPECT_TRUE(bp_readable(self->a, BP_PATIENCE_MS));
	/* a holds it already: no request left, no collect call needed */
	EXPECT_EQ(-ENOENT, bp_cancel(self->a));
	EXPECT_FALSE(bp_readable(self->a, 0));
	/* and can map and release it */
	ASSERT_EQ(0, bp_stats(self->h, &x));
	m = mmap(NULL, x.bufsize, PROT_READ | PROT_WRITE, MAP_SHARED, self->a,
		 (off_t)s.ids[0] * x.bufsize);
	ASSERT_NE(MAP_FAILED, m);
	munmap(m, x.bufsize);
	EXPECT_EQ(0, bp_release(self->a, &s.ids[0], 1));
	/* the same class and count again is a new request, served at once */
	EXPECT_EQ(0, st_queue(self->a, BP_NORM, &again));
	EXPECT_EQ(self->held[0], again);
	st_read(p, &s);
	EXPECT_EQ(1U, s.grants);
	EXPECT_EQ(0, bp_release(self->a, &again, 1));
}

TEST_F(st, only_this_fd)
{
	const struct bufpool_status *pa = st_map(self->a);
	const struct bufpool_status *pb = st_map(self->b);
	struct bufpool_status s;
	__u32 id, zero[BUFPOOL_ALLOC_MAX] = { 0 };

	ASSERT_NE(NULL, pa);
	ASSERT_NE(NULL, pb);
	EXPECT_EQ(-EAGAIN, st_queue(self->a, BP_NORM, &id));
	EXPECT_EQ(-EAGAIN, st_queue(self->b, BP_NORM, &id));

	/* the first buffer goes to a (FIFO): b's page stays as it was */
	ASSERT_EQ(0, bp_release(self->h, &self->held[0], 1));
	ASSERT_TRUE(st_wait_grants(pa, 1));
	bp_msleep(BP_QUIET_MS);
	st_read(pb, &s);
	EXPECT_EQ(0U, s.grants);
	EXPECT_EQ(0U, s.count);
	EXPECT_EQ(0, memcmp(s.ids, zero, sizeof(zero)));
	EXPECT_FALSE(bp_readable(self->b, 0));

	/* the second to b: a's page still shows a's own grant */
	ASSERT_EQ(0, bp_release(self->h, &self->held[1], 1));
	ASSERT_TRUE(st_wait_grants(pb, 1));
	st_read(pb, &s);
	EXPECT_EQ(self->held[1], s.ids[0]);
	st_read(pa, &s);
	EXPECT_EQ(1U, s.grants);
	EXPECT_EQ(self->held[0], s.ids[0]);
	/* each holds its own: a cannot release b's */
	EXPECT_EQ(-EPERM, bp_release(self->a, &self->held[1], 1));
	EXPECT_EQ(0, bp_release(self->a, &self->held[0], 1));
	EXPECT_EQ(0, bp_release(self->b, &self->held[1], 1));
}

TEST_F(st, read_only)
{
	const struct bufpool_status *p;
	void *w;
	int mem;

	w = mmap(NULL, self->pg, PROT_READ | PROT_WRITE, MAP_SHARED, self->a,
		 ST_PAGE_OFF);
	EXPECT_EQ(MAP_FAILED, w);
	EXPECT_EQ(EACCES, errno);
	w = mmap(NULL, self->pg, PROT_READ | PROT_EXEC, MAP_SHARED, self->a,
		 ST_PAGE_OFF);
	EXPECT_EQ(MAP_FAILED, w);
	/* EPERM: refused before the driver, on a noexec /dev */
	EXPECT_TRUE(errno == EACCES || errno == EPERM) TH_LOG("errno %d", errno);
	w = mmap(NULL, self->pg, PROT_READ, MAP_PRIVATE, self->a, ST_PAGE_OFF);
	EXPECT_EQ(MAP_FAILED, w);
	EXPECT_EQ(EINVAL, errno);
	w = mmap(NULL, 2 * self->pg, PROT_READ, MAP_SHARED, self->a,
		 ST_PAGE_OFF);
	EXPECT_EQ(MAP_FAILED, w);
	EXPECT_EQ(EINVAL, errno);

	p = st_map(self->a);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(-1, mprotect((void *)p, self->pg, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(-1, mprotect((void *)p, self->pg, PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	/* a write through the mapping faults */
	EXPECT_EQ(SIGSEGV, st_try_write(&p->grants));
	/* so does one through /proc/self/mem (get_user_pages refuses it) */
	mem = open("/proc/self/mem", O_RDWR);
	if (mem >= 0) {
		__u32 v = 0xdeadbeef;

		EXPECT_EQ(-1, pwrite(mem, &v, sizeof(v),
				     (off_t)(uintptr_t)&p->grants));
		close(mem);
	}
	EXPECT_EQ(0U, p->grants);
	EXPECT_EQ(0U, p->seq);
}

TEST_F(st, not_inherited)
{
	const struct bufpool_status *p = st_map(self->a);
	int status;
	pid_t pid;

	ASSERT_NE(NULL, p);
	/* a kernel without madvise() (CONFIG_ADVISE_SYSCALLS=n) has no DOFORK */
	if (madvise(NULL, 0, MADV_NORMAL)) {
		TH_LOG("no madvise(): %s; only the fork without MADV_DOFORK",
		       strerror(errno));
	} else {
		EXPECT_EQ(-1, madvise((void *)p, self->pg, MADV_DOFORK));
		EXPECT_EQ(EINVAL, errno);
	}
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* not mapped in the child: the read faults */
		_exit(__atomic_load_n(&p->grants, __ATOMIC_RELAXED) == 1234);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV)
		TH_LOG("the child could read the status page (status %#x)",
		       status);
}

TEST_F(st, mremap_and_close)
{
	const struct bufpool_status *p = st_map(self->a);
	struct bufpool_status s;
	void *q;
	__u32 id;

	ASSERT_NE(NULL, p);
	/* it cannot grow past its page */
	q = mremap((void *)p, self->pg, 2 * self->pg, MREMAP_MAYMOVE);
	EXPECT_EQ(MAP_FAILED, q);
	/* moved, it is still this fd's page */
	q = mremap((void *)p, self->pg, self->pg, MREMAP_MAYMOVE | MREMAP_FIXED,
		   (char *)mmap(NULL, self->pg, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	ASSERT_NE(MAP_FAILED, q);
	p = q;
	EXPECT_EQ(-EAGAIN, st_queue(self->a, BP_NORM, &id));
	ASSERT_EQ(0, bp_release(self->h, &self->held[0], 1));
	ASSERT_TRUE(st_wait_grants(p, 1));
	/* the mapping keeps the page after close, still showing the grant */
	close(self->a);
	self->a = -1;
	st_read(p, &s);
	EXPECT_EQ(1U, s.grants);
	EXPECT_EQ(self->held[0], s.ids[0]);
	EXPECT_EQ(0, munmap((void *)p, self->pg));
	/* the buffer came back with a's close */
	EXPECT_EQ(0, bp_alloc(self->h, BP_NORM, 1, &self->held[0]));
}

TEST_F(st, flag_rules)
{
	int blk = bp_open(0);
	__u32 id = 0;

	ASSERT_LE(0, blk);
	/* no page mapped: nothing could show the grant */
	EXPECT_EQ(-EINVAL, st_queue(self->a, BP_NORM, &id));
	EXPECT_EQ(-ENOENT, bp_cancel(self->a));
	ASSERT_NE(NULL, st_map(blk));
	/* a sleeper gets its ids from the call */
	EXPECT_EQ(-EINVAL, st_queue(blk, BP_NORM, &id));
	EXPECT_EQ(-EAGAIN, bp_alloc_t(blk, BP_NORM, 1,
				      BUFPOOL_ALLOC_STATUS |
				      BUFPOOL_ALLOC_NOQUEUE, 0, &id));
	EXPECT_EQ(-ENOENT, bp_cancel(blk));
	close(blk);
}

/* Without the flag, a mapped page changes nothing: ALLOC collects. */
TEST_F(st, without_flag)
{
	const struct bufpool_status *p = st_map(self->a);
	struct bufpool_status s;
	__u32 id = ~0U;

	ASSERT_NE(NULL, p);
	EXPECT_EQ(-EAGAIN, bp_alloc(self->a, BP_NORM, 1, &id));
	ASSERT_EQ(0, bp_release(self->h, &self->held[0], 1));
	ASSERT_TRUE(bp_readable(self->a, BP_PATIENCE_MS));
	st_read(p, &s);
	EXPECT_EQ(0U, s.grants);
	EXPECT_EQ(0, bp_alloc(self->a, BP_NORM, 1, &id));
	EXPECT_EQ(self->held[0], id);
	EXPECT_EQ(0, bp_release(self->a, &id, 1));
	EXPECT_EQ(0, bp_alloc(self->h, BP_NORM, 1, &self->held[0]));
}

/*
 * The request of a queued with @queued_flags (0 or BUFPOOL_ALLOC_STATUS)
 * meets another call of a, @class x @count with the other flag: refused
 * (EBUSY) when it is a different request, EAGAIN when it is the same.
 * Then a buffer comes back and the grant is delivered as the request was
 * queued: by ALLOC with its id, or onto the page.  Either way a ends up
 * holding exactly the buffer it was told of, and nothing is queued.
 */
static void st_mode_kept(struct __test_metadata *_metadata,
			 struct _test_data_st *self, __u32 queued_flags,
			 unsigned int class, unsigned int count)
{
	const struct bufpool_status *p = st_map(self->a);
	__u32 other = queued_flags ^ BUFPOOL_ALLOC_STATUS;
	__u32 id = ~0U, ids[2] = { ~0U, ~0U };
	bool same = class == BP_NORM && count == 1;
	struct bufpool_status s;
	struct bufpool_stats x;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(-EAGAIN, bp_alloc_t(self->a, BP_NORM, 1, queued_flags, 0,
				      &id));
	EXPECT_EQ(same ? -EAGAIN : -EBUSY,
		  bp_alloc_t(self->a, class, count, other, 0, ids));
	EXPECT_EQ(~0U, ids[0]);
	ASSERT_EQ(0, bp_release(self->h, &self->held[0], 1));
	ASSERT_TRUE(bp_readable(self->a, BP_PATIENCE_MS));
	st_read(p, &s);
	if (queued_flags) {
		EXPECT_EQ(1U, s.grants)
			TH_LOG("queued with the flag, the grant did not go to the page");
		EXPECT_EQ(self->held[0], s.ids[0]);
		/* a holds it: no request left to collect */
		EXPECT_EQ(-ENOENT, bp_cancel(self->a));
		id = s.ids[0];
	} else {
		EXPECT_EQ(0U, s.grants)
			TH_LOG("queued without the flag, the grant went to the page");
		/* collected by ALLOC, as it was queued: its id */
		EXPECT_EQ(0, bp_alloc(self->a, BP_NORM, 1, &id))
			TH_LOG("the collecting ALLOC was a new request");
		EXPECT_EQ(self->held[0], id);
	}
	ASSERT_EQ(0, bp_stats(self->h, &x));
	EXPECT_EQ(2ULL, x.in_use) TH_LOG("a holds a buffer it was not told of");
	EXPECT_EQ(0ULL, bp_nr_queued(&x));
	EXPECT_EQ(0, bp_release(self->a, &id, 1));
	ASSERT_EQ(0, bp_stats(self->h, &x));
	EXPECT_EQ(1ULL, x.in_use);
	EXPECT_EQ(-ENOENT, bp_cancel(self->a));
}

/* A refused ALLOC with the flag does not send a pending grant to the page. */
TEST_F(st, refused_flag_keeps_collect)
{
	st_mode_kept(_metadata, self, 0, BP_NORM, 2);
}

/* A refused ALLOC without the flag does not take a grant off the page. */
TEST_F(st, refused_no_flag_keeps_page)
{
	st_mode_kept(_metadata, self, BUFPOOL_ALLOC_STATUS, BP_NORM, 2);
}

/* The same class and count with the flag finds the request as queued. */
TEST_F(st, same_request_flag_keeps_collect)
{
	st_mode_kept(_metadata, self, 0, BP_NORM, 1);
}

/* And without it, the request queued with it still goes to the page. */
TEST_F(st, same_request_no_flag_keeps_page)
{
	st_mode_kept(_metadata, self, BUFPOOL_ALLOC_STATUS, BP_NORM, 1);
}

struct st_sleeper {
	pthread_t thread;
	int fd;
	__u32 id;
	int ret;
};

static void *st_sleep(void *arg)
{
	struct st_sleeper *t = arg;

	/* a deadline only so that a lost grant ends the test */
	t->ret = bp_alloc_t(t->fd, BP_NORM, 1, 0,
			    BP_PATIENCE_MS * 1000000ULL, &t->id);
	return NULL;
}

/*
 * A thread sleeps in ALLOC on a blocking fd whose page is mapped; a
 * sibling's ALLOC with the flag (NOQUEUE: it never sleeps) is refused.
 * The grant is still the sleeper's, returned by its call.
 */
TEST_F(st, sibling_refused_keeps_sleeper)
{
	struct st_sleeper t = { .fd = bp_open(0), .id = ~0U };
	const struct bufpool_status *p;
	struct bufpool_status s;
	struct bufpool_stats x;
	__u32 ids[2] = { ~0U, ~0U };

	ASSERT_LE(0, t.fd);
	p = st_map(t.fd);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, pthread_create(&t.thread, NULL, st_sleep, &t));
	ASSERT_EQ(0, bp_wait_queued(self->h, BP_NORM, 1, BP_PATIENCE_MS));
	EXPECT_EQ(-EBUSY, bp_alloc_t(t.fd, BP_LOW, 2,
				     BUFPOOL_ALLOC_STATUS | BUFPOOL_ALLOC_NOQUEUE,
				     0, ids));
	ASSERT_EQ(0, bp_release(self->h, &self->held[0], 1));
	ASSERT_EQ(0, pthread_join(t.thread, NULL));
	EXPECT_EQ(0, t.ret) TH_LOG("the sleeper lost its grant: %s",
				   strerror(-t.ret));
	EXPECT_EQ(self->held[0], t.id);
	st_read(p, &s);
	EXPECT_EQ(0U, s.grants);
	ASSERT_EQ(0, bp_stats(self->h, &x));
	EXPECT_EQ(2ULL, x.in_use);
	EXPECT_EQ(0ULL, bp_nr_queued(&x));
	EXPECT_EQ(0, bp_release(t.fd, &t.id, 1));
	EXPECT_EQ(-ENOENT, bp_cancel(t.fd));
	close(t.fd);
}

TEST_HARNESS_MAIN
