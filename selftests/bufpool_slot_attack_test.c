// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile user against the buffers a file keeps for itself (its slot):
 * the slot's buffers never reach another file with data in them, a file
 * shared by forked processes never hands one buffer to two callers, STATS
 * stay within the budget while slots fill and empty under them and the
 * tunables change, and a blocking ALLOC interrupted by signals on a
 * slotted file is granted once.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "bufpool_util.h"
#include "bufpool_sys_util.h"

#define LIMIT		64
#define RESERVE		2
#define ROUNDS		2000
#define MAXID		65536

static size_t bufsize(int fd)
{
	struct bufpool_info info;

	return bp_info(fd, &info) ? 0 : info.bufsize;
}

/* Every byte of buffer @id, mapped through @fd, is zero: 1, 0, or -errno. */
static int all_zero(int fd, __u32 id, size_t bs)
{
	unsigned char *p;
	size_t i;
	int ret = 1;

	p = mmap(NULL, bs, PROT_READ, MAP_SHARED, fd, (off_t)id * bs);
	if (p == MAP_FAILED)
		return -errno;
	for (i = 0; i < bs; i++)
		if (p[i]) {
			ret = 0;
			break;
		}
	munmap(p, bs);
	return ret;
}

FIXTURE(slot) {
	struct bp_tunables saved;
	int fd;
	size_t bs;
};

FIXTURE_SETUP(slot)
{
	self->fd = -1;
	ASSERT_EQ(0, bp_tunables_save(&self->saved));
	ASSERT_EQ(0, bp_tunables_set(LIMIT, RESERVE, 0));
	self->fd = bp_open(0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	self->bs = bufsize(self->fd);
	ASSERT_NE((size_t)0, self->bs);
}

FIXTURE_TEARDOWN(slot)
{
	if (self->fd >= 0)
		close(self->fd);
	bp_tunables_restore(&self->saved);
}

/*
 * A file writes into buffers that went through its slot, gives them back;
 * another file that then takes every buffer finds each one zeroed.
 */
TEST_F(slot, written_slot_buffers_reach_others_zeroed)
{
	__u32 ids[2], all[LIMIT];
	unsigned int n = 0, i, r;
	unsigned char *p;
	int a, b;

	a = bp_open(0);
	ASSERT_LE(0, a);
	for (r = 0; r < 4; r++) {
		/* joins, then is served by its slot */
		ASSERT_EQ(0, bp_try(a, BP_NORM, 2, ids));
		ASSERT_EQ(0, bp_release(a, ids, 2));
		ASSERT_EQ(0, bp_try(a, BP_NORM, 2, ids));
		for (i = 0; i < 2; i++) {
			p = mmap(NULL, self->bs, PROT_READ | PROT_WRITE,
				 MAP_SHARED, a, (off_t)ids[i] * self->bs);
			ASSERT_NE(MAP_FAILED, p);
			memset(p, 0xa5, self->bs);
			munmap(p, self->bs);
		}
		ASSERT_EQ(0, bp_release(a, ids, 2));
	}
	/* a clean file keeps two in its slot */
	b = bp_open(0);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, bp_try(b, BP_NORM, 2, ids));
	ASSERT_EQ(0, bp_release(b, ids, 2));
	ASSERT_EQ(0, bp_try(b, BP_NORM, 2, ids));
	ASSERT_EQ(0, bp_release(b, ids, 2));
	/* everything, the slots' too (the -EAGAIN drains) */
	while (n < LIMIT && !bp_try(self->fd, BP_CRIT, 1, &all[n]))
		n++;
	TH_LOG("took %u buffers", n);
	EXPECT_EQ((unsigned int)LIMIT, n);
	for (i = 0; i < n; i++) {
		__u32 id = all[i];

		ASSERT_EQ(1, all_zero(self->fd, id, self->bs))
			TH_LOG("buffer %u not zeroed", id);
	}
	ASSERT_EQ(0, bp_release_all(self->fd, all, n));
	close(a);
	close(b);
}

/* Who holds each id now, in memory shared by the forked users. */
struct owners {
	atomic_int owner[MAXID];
	atomic_int bad;
	atomic_int nonzero;
};

static struct owners *owners_new(void)
{
	void *p = mmap(NULL, sizeof(struct owners), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Rounds of alloc/release on @fd, which others use at the same time: no
 * id may be handed to two holders.  With @map set, one buffer in three is
 * mapped, must read zeroed, and is written before it goes back.
 */
struct cycler {
	int fd;
	int tag;
	bool map;
	size_t bs;
	struct owners *o;
};

static void cycle(const struct cycler *c, unsigned int rounds)
{
	unsigned int r, i, count;
	unsigned char *p;
	__u32 ids[2];
	int expect;

	for (r = 0; r < rounds; r++) {
		count = 1 + (r & 1);
		if (bp_try(c->fd, BP_NORM, count, ids))
			continue;
		for (i = 0; i < count; i++) {
			expect = 0;
			if (ids[i] >= MAXID ||
			    !atomic_compare_exchange_strong(&c->o->owner[ids[i]],
							    &expect, c->tag))
				atomic_fetch_add(&c->o->bad, 1);
		}
		if (c->map && (r % 3) == 0) {
			p = mmap(NULL, c->bs, PROT_READ | PROT_WRITE,
				 MAP_SHARED, c->fd, (off_t)ids[0] * c->bs);
			if (p != MAP_FAILED) {
				for (i = 0; i < c->bs; i += 64)
					if (p[i]) {
						atomic_fetch_add(&c->o->nonzero, 1);
						break;
					}
				memset(p, c->tag, c->bs);
				munmap(p, c->bs);
			}
		}
		for (i = 0; i < count; i++)
			if (ids[i] < MAXID)
				atomic_store(&c->o->owner[ids[i]], 0);
		if (bp_release(c->fd, ids, count))
			atomic_fetch_add(&c->o->bad, 1);
	}
}

static void *cycle_thread(void *arg)
{
	cycle(arg, ROUNDS);
	return NULL;
}

/* Two threads of this process on @fd, and others on @mfd. */
static void cyclers(int fd, int mfd, size_t bs, struct owners *o, int tag)
{
	struct cycler c[4] = {
		{ .fd = fd, .tag = tag, .bs = bs, .o = o },
		{ .fd = fd, .tag = tag + 1, .bs = bs, .o = o },
		{ .fd = mfd, .tag = tag + 2, .bs = bs, .o = o, .map = true },
		{ .fd = mfd, .tag = tag + 3, .bs = bs, .o = o, .map = true },
	};
	pthread_t t[4];
	int i;

	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, cycle_thread, &c[i]);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
}

/* @msg carries the one byte at @byte and room for one fd in @cbuf. */
static void one_fd_msg(struct msghdr *msg, struct iovec *iov, char *byte,
		       char *cbuf, size_t len)
{
	iov->iov_base = byte;
	iov->iov_len = 1;
	msg->msg_iov = iov;
	msg->msg_iovlen = 1;
	msg->msg_control = cbuf;
	msg->msg_controllen = len;
}

/*
 * A slotted file used by a forked child, by a process it was passed to
 * with SCM_RIGHTS and by dup()s at once, beside a file whose buffers are
 * mapped and written: no buffer has two holders, none is handed out with
 * data in it, and everything comes back.
 */
TEST_F(slot, fork_scm_dup_share_one_slot)
{
	struct bufpool_stats st;
	int sv[2], fd, mfd, dfd, got;
	struct owners *o;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr msg = { 0 };
	struct cmsghdr *cm;
	struct iovec iov;
	char byte = 'x';
	__u32 ids[2];
	pid_t kid[2];
	int k, status;

	o = owners_new();
	ASSERT_NE(NULL, o);
	fd = bp_open(0);
	mfd = bp_open(0);
	ASSERT_LE(0, fd);
	ASSERT_LE(0, mfd);
	/* slotted, two free buffers in its slot */
	ASSERT_EQ(0, bp_try(fd, BP_NORM, 2, ids));
	ASSERT_EQ(0, bp_release(fd, ids, 2));
	ASSERT_EQ(0, bp_try(fd, BP_NORM, 2, ids));
	ASSERT_EQ(0, bp_release(fd, ids, 2));
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		ASSERT_EQ(EAFNOSUPPORT, errno);
		close(fd);
		close(mfd);
		SKIP(return, "no AF_UNIX sockets in this kernel: no fd to pass");
	}

	kid[0] = fork();
	ASSERT_LE(0, kid[0]);
	if (!kid[0]) {
		cyclers(fd, mfd, self->bs, o, 10);
		_exit(0);
	}
	kid[1] = fork();
	ASSERT_LE(0, kid[1]);
	if (!kid[1]) {
		/* gets its own copy of fd over the socket, closes the rest */
		close(fd);
		one_fd_msg(&msg, &iov, &byte, cbuf, sizeof(cbuf));
		if (recvmsg(sv[1], &msg, 0) != 1)
			_exit(2);
		cm = CMSG_FIRSTHDR(&msg);
		if (!cm || cm->cmsg_type != SCM_RIGHTS)
			_exit(3);
		memcpy(&got, CMSG_DATA(cm), sizeof(int));
		cyclers(got, mfd, self->bs, o, 20);
		_exit(0);
	}
	one_fd_msg(&msg, &iov, &byte, cbuf, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	ASSERT_EQ(1, sendmsg(sv[0], &msg, 0));
	dfd = dup(fd);
	ASSERT_LE(0, dfd);
	cyclers(dfd, mfd, self->bs, o, 30);
	for (k = 0; k < 2; k++) {
		ASSERT_EQ(kid[k], waitpid(kid[k], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	}
	EXPECT_EQ(0, atomic_load(&o->bad));
	EXPECT_EQ(0, atomic_load(&o->nonzero));
	close(dfd);
	close(fd);
	close(mfd);
	close(sv[0]);
	close(sv[1]);
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	EXPECT_EQ(0ULL, st.in_use);
}

static atomic_bool churn_stop;
static atomic_int churn_bad;
static atomic_uint stats_max;

static void *churn_alloc(void *arg)
{
	int fd = bp_open(0);
	__u32 ids[2];

	if (fd < 0) {
		atomic_fetch_add(&churn_bad, 1);
		return NULL;
	}
	while (!atomic_load(&churn_stop)) {
		if (bp_try(fd, BP_LOW, 2, ids))
			continue;
		if (bp_release(fd, ids, 2))
			atomic_fetch_add(&churn_bad, 1);
	}
	close(fd);
	return NULL;
}

static void *churn_stats(void *arg)
{
	struct bufpool_stats st;
	int fd = *(int *)arg;

	while (!atomic_load(&churn_stop)) {
		if (bp_stats(fd, &st)) {
			atomic_fetch_add(&churn_bad, 1);
			continue;
		}
		/* 4 threads hold 8 buffers at most */
		if (st.in_use > 8) {
			atomic_fetch_add(&churn_bad, 1);
			if (st.in_use > atomic_load(&stats_max))
				atomic_store(&stats_max, st.in_use);
		}
	}
	return NULL;
}

/*
 * Slots fill and empty while STATS sum them, drop_caches empties them,
 * the quota and the thresholds change: STATS never count more in use than
 * is held, and every buffer comes back.
 */
TEST_F(slot, stats_tunables_drop_caches_under_slot_traffic)
{
	struct bufpool_stats st;
	pthread_t t[5];
	int i, r;

	atomic_store(&churn_stop, false);
	atomic_store(&churn_bad, 0);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, churn_alloc, NULL));
	ASSERT_EQ(0, pthread_create(&t[4], NULL, churn_stats, &self->fd));
	for (r = 0; r < 200; r++) {
		bp_sysfs_set("user_quota", (r & 1) ? 6 : 0);
		if ((r % 5) == 0)
			bp_write_file("/proc/sys/vm", "drop_caches", "2");
		bp_sysfs_set("threshold_low", (r & 2) ? 2 * RESERVE :
						      2 * RESERVE + 8);
		if ((r % 7) == 0)
			bp_sysfs_set("limit", (r & 8) ? LIMIT / 2 : LIMIT);
	}
	bp_sysfs_set("user_quota", 0);
	bp_sysfs_set("limit", LIMIT);
	atomic_store(&churn_stop, true);
	for (i = 0; i < 5; i++)
		pthread_join(t[i], NULL);
	EXPECT_EQ(0, atomic_load(&churn_bad))
		TH_LOG("most in use seen %u", atomic_load(&stats_max));
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	EXPECT_EQ(0ULL, st.in_use);
}

static atomic_int drainer_bad;

struct drainer {
	int fd;
	unsigned int limit;
	struct owners *o;
};

/*
 * Drains the magazines and slots again and again: a request that does not
 * fit fails with -EAGAIN (after a drain), and STATS, read in between,
 * never count more in use than the limit.
 */
static void *drain_thread(void *arg)
{
	struct drainer *d = arg;
	struct bufpool_stats st;
	__u32 ids[BUFPOOL_ALLOC_MAX];
	unsigned int r;
	int ret;

	for (r = 0; r < ROUNDS; r++) {
		/* the whole NORMAL budget: fits only an idle pool */
		ret = bp_try(d->fd, BP_NORM, d->limit - RESERVE, ids);
		if (!ret && bp_release_all(d->fd, ids, d->limit - RESERVE))
			atomic_fetch_add(&drainer_bad, 1);
		if (ret && ret != -EAGAIN)
			atomic_fetch_add(&drainer_bad, 1);
		if (bp_stats(d->fd, &st) || st.in_use > d->limit)
			atomic_fetch_add(&drainer_bad, 1);
		if (atomic_load(&d->o->bad))
			break;
	}
	return NULL;
}

/*
 * Slots and magazines fill and drain on both CPUs while files that map
 * their buffers check each one zeroed and write it: no buffer reaches two
 * holders, none arrives with data, and STATS stay within the limit.
 */
TEST_F(slot, drain_storm_with_writers)
{
	struct drainer d = { .limit = 16 };
	struct bufpool_stats st;
	struct cycler c[4];
	struct owners *o;
	pthread_t t[5];
	int i, s1, s2, m;

	ASSERT_EQ(0, bp_tunables_set(16, RESERVE, 0));
	o = owners_new();
	ASSERT_NE(NULL, o);
	d.o = o;
	atomic_store(&drainer_bad, 0);
	s1 = bp_open(0);
	s2 = bp_open(0);
	m = bp_open(0);
	d.fd = bp_open(0);
	ASSERT_LE(0, s1);
	ASSERT_LE(0, s2);
	ASSERT_LE(0, m);
	ASSERT_LE(0, d.fd);
	c[0] = (struct cycler){ .fd = s1, .tag = 1, .bs = self->bs, .o = o };
	c[1] = (struct cycler){ .fd = s2, .tag = 2, .bs = self->bs, .o = o };
	c[2] = (struct cycler){ .fd = m, .tag = 3, .bs = self->bs, .o = o,
				.map = true };
	c[3] = (struct cycler){ .fd = m, .tag = 4, .bs = self->bs, .o = o,
				.map = true };
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, cycle_thread, &c[i]));
	ASSERT_EQ(0, pthread_create(&t[4], NULL, drain_thread, &d));
	for (i = 0; i < 5; i++)
		pthread_join(t[i], NULL);
	EXPECT_EQ(0, atomic_load(&o->bad));
	EXPECT_EQ(0, atomic_load(&o->nonzero));
	EXPECT_EQ(0, atomic_load(&drainer_bad));
	close(s1);
	close(s2);
	close(m);
	close(d.fd);
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	EXPECT_EQ(0ULL, st.in_use);
}

/*
 * Files with full slots when a quota is set: what their slots kept is not
 * charged to the user, so it must not serve past the quota either.  The
 * user (root here, which has a quota like anyone) gets exactly the quota.
 */
TEST_F(slot, quota_set_while_slots_are_full)
{
	__u32 ids[2], got[3][LIMIT];
	unsigned int n[3] = { 0 }, total = 0, i;
	bool more = true;
	int fds[3], ret;

	for (i = 0; i < 3; i++) {
		fds[i] = bp_open(0);
		ASSERT_LE(0, fds[i]);
		ASSERT_EQ(0, bp_try(fds[i], BP_NORM, 2, ids));
		ASSERT_EQ(0, bp_release(fds[i], ids, 2));
		ASSERT_EQ(0, bp_try(fds[i], BP_NORM, 2, ids));
		ASSERT_EQ(0, bp_release(fds[i], ids, 2));
	}
	ASSERT_EQ(0, bp_sysfs_set("user_quota", 4));
	while (more) {
		more = false;
		for (i = 0; i < 3; i++) {
			ret = bp_try(fds[i], BP_NORM, 1, &got[i][n[i]]);
			if (!ret) {
				n[i]++;
				total++;
				more = total < LIMIT;
			} else {
				EXPECT_EQ(-EDQUOT, ret);
			}
		}
	}
	EXPECT_EQ(4U, total);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, bp_release_all(fds[i], got[i], n[i]));
		close(fds[i]);
	}
	ASSERT_EQ(0, bp_sysfs_set("user_quota", 0));
}

static atomic_uint probe_word;
static atomic_bool probe_done;
static atomic_uint probe_lost;

static void *probe_writer(void *arg)
{
	unsigned int v = 0, seen;

	while (!atomic_load(&probe_done)) {
		atomic_store(&probe_word, ++v);
		seen = atomic_load(&probe_word);
		if (seen != v) {
			atomic_fetch_add(&probe_lost, 1);
			v = seen;
		}
	}
	return NULL;
}

/*
 * A failed ALLOC must leave the caller's ids array as it was: also a word
 * of it another thread stores to meanwhile.  The pool is full, so every
 * ALLOC fails with -EAGAIN; a store the call undid shows as the word
 * going back.
 */
TEST_F(slot, failed_alloc_keeps_concurrent_stores_to_ids)
{
	struct bufpool_stats st0, st1;
	__u32 all[LIMIT], *ro;
	unsigned int n = 0, i;
	pthread_t t;
	int fd, ret;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs 2 CPUs");
	fd = bp_open(0);
	ASSERT_LE(0, fd);
	/* the probe still writes: a read-only array fails, nothing taken */
	ro = mmap(NULL, getpagesize(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		  -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(0U, ro[0]);
	ASSERT_EQ(0, bp_stats(fd, &st0));
	EXPECT_EQ(-EFAULT, bp_try(fd, BP_NORM, 1, ro));
	EXPECT_EQ(-EFAULT, bp_try(fd, BP_NORM, 2, ro + 100));
	ASSERT_EQ(0, bp_stats(fd, &st1));
	EXPECT_TRUE(bp_stats_same(&st0, &st1));
	munmap(ro, getpagesize());
	while (n < LIMIT && !bp_try(self->fd, BP_CRIT, 1, &all[n]))
		n++;
	atomic_store(&probe_done, false);
	atomic_store(&probe_lost, 0);
	ASSERT_EQ(0, pthread_create(&t, NULL, probe_writer, NULL));
	for (i = 0; i < 200000; i++) {
		ret = bp_try(fd, BP_NORM, 1, (__u32 *)&probe_word);
		if (ret != -EAGAIN) {
			EXPECT_EQ(-EAGAIN, ret);
			break;
		}
	}
	atomic_store(&probe_done, true);
	pthread_join(t, NULL);
	EXPECT_EQ(0U, atomic_load(&probe_lost))
		TH_LOG("%u stores to the ids array undone by failed ALLOCs",
		       atomic_load(&probe_lost));
	ASSERT_EQ(0, bp_release_all(self->fd, all, n));
	close(fd);
}

static void on_usr1(int sig)
{
}

struct blocker {
	int fd;
	int ret;
	atomic_bool started;
	__u32 ids[2];
};

static void *block_alloc(void *arg)
{
	struct blocker *b = arg;

	atomic_store(&b->started, true);
	do {
		b->ret = bp_alloc(b->fd, BP_NORM, 2, b->ids);
	} while (b->ret == -EINTR);
	return NULL;
}

/*
 * A slotted file's blocking ALLOC, interrupted by signals again and again
 * and resumed, is granted once: it holds two buffers, the pool counts two.
 */
TEST_F(slot, signals_on_a_slotted_blocking_alloc)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct blocker b = { 0 };
	struct bufpool_stats st;
	__u32 all[LIMIT], ids[2];
	unsigned int n = 0, i;
	pthread_t t;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	b.fd = bp_open(0);
	ASSERT_LE(0, b.fd);
	ASSERT_EQ(0, bp_try(b.fd, BP_NORM, 2, ids));
	ASSERT_EQ(0, bp_release(b.fd, ids, 2));
	ASSERT_EQ(0, bp_try(b.fd, BP_NORM, 2, ids));
	ASSERT_EQ(0, bp_release(b.fd, ids, 2));
	/* everything else, slot included */
	while (n < LIMIT && !bp_try(self->fd, BP_CRIT, 1, &all[n]))
		n++;
	ASSERT_EQ(0, pthread_create(&t, NULL, block_alloc, &b));
	ASSERT_EQ(0, bp_wait_queued(self->fd, BP_NORM, 1, BP_PATIENCE_MS));
	for (i = 0; i < 200; i++) {
		pthread_kill(t, SIGUSR1);
		usleep(500);
	}
	ASSERT_EQ(0, bp_release_all(self->fd, all, n));
	pthread_join(t, NULL);
	ASSERT_EQ(0, b.ret);
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	EXPECT_EQ(2ULL, st.in_use);
	EXPECT_EQ(0ULL, bp_nr_queued(&st));
	ASSERT_EQ(0, bp_release(b.fd, b.ids, 2));
	close(b.fd);
	ASSERT_EQ(0, bp_wait_idle(self->fd));
}

TEST_HARNESS_MAIN
