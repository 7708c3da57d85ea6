// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool mmap selftests: the data path.  Buffer id N is mapped at offset
 * N * bufsize of the fd that holds it, MAP_SHARED only (EINVAL otherwise);
 * a range may span several held buffers; anything not held by the fd is
 * EACCES.  RELEASE revokes the mappings (a later access is SIGBUS), the
 * next holder of a buffer sees only zeros, a forked child shares the
 * entity but not the mappings, and a mapping keeps the file, so its
 * buffers, alive after close() until munmap().
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/mman.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_sys_util.h"

FIXTURE(mmap) {
	int fd;
	struct bufpool_stats st;
	size_t bs;
	__u32 *ids;		/* room for limit ids */
};

/* The pool as found (the module's parameters), and a small one. */
FIXTURE_VARIANT(mmap) {
	struct bp_pool pool;
};

FIXTURE_VARIANT_ADD(mmap, loaded) {
	.pool = { .limit = 0 },
};

FIXTURE_VARIANT_ADD(mmap, small) {
	.pool = { .limit = 16, .reserve = 2 },
};

FIXTURE_SETUP(mmap)
{
	int ret;

	ret = bp_pool_setup(&variant->pool);
	if (ret == -ENODEV)
		SKIP(return, BP_POOL_NEEDS);
	ASSERT_EQ(0, ret);
	self->fd = bp_open(0);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", BP_DEV, strerror(errno));
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	ASSERT_EQ(0, bp_stats(self->fd, &self->st));
	self->bs = self->st.bufsize;
	self->ids = calloc(self->st.limit, sizeof(__u32));
	ASSERT_NE(NULL, self->ids);
}

FIXTURE_TEARDOWN(mmap)
{
	close(self->fd);
	free(self->ids);
	EXPECT_EQ(0, bp_pool_teardown());
}

static void *map_ids(int fd, __u32 first, unsigned int n, size_t bs,
		     int flags)
{
	return mmap(NULL, n * bs, PROT_READ | PROT_WRITE, flags, fd,
		    (off_t)first * bs);
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/*
 * Hold the whole pool on @fd, keep two buffers with consecutive ids and
 * give the rest back.  Returns the first id, or -1.
 */
static long hold_pair(int fd, const struct bufpool_stats *st, __u32 *ids)
{
	unsigned int i, n = (unsigned int)st->limit;
	long first = -1;

	if (bp_fill(fd, st, ids))
		return -1;
	qsort(ids, n, sizeof(*ids), cmp_u32);
	for (i = 0; i + 1 < n; i++) {
		if (ids[i + 1] == ids[i] + 1) {
			first = ids[i];
			memmove(&ids[i], &ids[i + 2], (n - i - 2) * sizeof(*ids));
			break;
		}
	}
	if (first < 0 || bp_release_all(fd, ids, n - 2))
		return -1;
	return first;
}

static __u64 in_use(int fd)
{
	struct bufpool_stats st;

	return bp_stats(fd, &st) ? ~0ULL : st.in_use;
}

TEST_F(mmap, read_write_multi_buffer_range)
{
	size_t bs = self->bs, i;
	char *p, *q0, *q1;
	long first;

	ASSERT_LE(2ULL, self->st.limit);
	first = hold_pair(self->fd, &self->st, self->ids);
	ASSERT_LE(0, first);

	/* one mapping spanning both buffers, and one per buffer */
	p = map_ids(self->fd, first, 2, bs, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	q0 = map_ids(self->fd, first, 1, bs, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, q0);
	q1 = map_ids(self->fd, first + 1, 1, bs, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, q1);

	/* fresh buffers are zero */
	for (i = 0; i < 2 * bs; i++)
		if (p[i])
			break;
	EXPECT_EQ(2 * bs, i);

	for (i = 0; i < 2 * bs; i++)
		p[i] = (char)(i * 7 + 1);
	/* the same memory through the other mappings */
	for (i = 0; i < bs; i++) {
		if (q0[i] != (char)(i * 7 + 1) ||
		    q1[i] != (char)((i + bs) * 7 + 1))
			break;
	}
	EXPECT_EQ(bs, i);
	q1[bs - 1] = 'z';
	EXPECT_EQ('z', p[2 * bs - 1]);

	/* the data stays while held: unmap and map again */
	ASSERT_EQ(0, munmap(p, 2 * bs));
	p = map_ids(self->fd, first, 2, bs, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ((char)(bs * 7 + 1), p[bs]);
	EXPECT_EQ('z', p[2 * bs - 1]);

	/* a part of a buffer, at a page offset inside it */
	if (bs > (size_t)getpagesize()) {
		char *part = mmap(NULL, getpagesize(), PROT_READ, MAP_SHARED,
				  self->fd, (off_t)first * bs + getpagesize());

		ASSERT_NE(MAP_FAILED, part);
		EXPECT_EQ((char)(getpagesize() * 7 + 1), part[0]);
		munmap(part, getpagesize());
	}

	/* three buffers where the third is not held: refused */
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map_ids(self->fd, first, 3, bs, MAP_SHARED));
	EXPECT_EQ(EACCES, errno);

	munmap(p, 2 * bs);
	munmap(q0, bs);
	munmap(q1, bs);
	self->ids[0] = first;
	self->ids[1] = first + 1;
	EXPECT_EQ(0, bp_release(self->fd, self->ids, 2));
}

TEST_F(mmap, refused_unheld_foreign_private)
{
	size_t bs = self->bs;
	int other = bp_open(0), empty = bp_open(0);
	__u32 mine[1], theirs[1], gone[1];
	void *m1, *m2;

	ASSERT_LE(0, other);
	ASSERT_LE(0, empty);
	ASSERT_EQ(0, bp_try(self->fd, BP_CRIT, 1, mine));
	ASSERT_EQ(0, bp_try(other, BP_CRIT, 1, theirs));
	ASSERT_EQ(0, bp_try(self->fd, BP_CRIT, 1, gone));
	ASSERT_EQ(0, bp_release(self->fd, gone, 1));

	/* held by another fd */
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map_ids(self->fd, theirs[0], 1, bs, MAP_SHARED));
	EXPECT_EQ(EACCES, errno);
	/* released, held by nobody */
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map_ids(self->fd, gone[0], 1, bs, MAP_SHARED));
	EXPECT_EQ(EACCES, errno);
	/* never allocated, far away */
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map_ids(self->fd, 1u << 30, 1, bs, MAP_SHARED));
	EXPECT_EQ(EACCES, errno);
	/* a fd that holds nothing */
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map_ids(empty, mine[0], 1, bs, MAP_SHARED));
	EXPECT_EQ(EACCES, errno);

	/* held, but private: EINVAL */
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map_ids(self->fd, mine[0], 1, bs, MAP_PRIVATE));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, bs, PROT_READ, MAP_PRIVATE, self->fd,
				   (off_t)mine[0] * bs));
	EXPECT_EQ(EINVAL, errno);

	/* and the owner may map its own */
	m1 = map_ids(self->fd, mine[0], 1, bs, MAP_SHARED);
	EXPECT_NE(MAP_FAILED, m1);
	m2 = map_ids(other, theirs[0], 1, bs, MAP_SHARED);
	EXPECT_NE(MAP_FAILED, m2);
	munmap(m1, bs);
	munmap(m2, bs);
	close(other);
	close(empty);
}

TEST_F(mmap, release_revokes_sigbus)
{
	size_t bs = self->bs;
	__u32 id[2];
	char *p, *untouched, c = 0;

	ASSERT_EQ(0, bp_try(self->fd, BP_CRIT, 2, id));
	p = map_ids(self->fd, id[0], 1, bs, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	untouched = map_ids(self->fd, id[1], 1, bs, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, untouched);

	EXPECT_EQ(0, bp_write_at(p, 'x'));
	EXPECT_EQ(0, bp_write_at(p + bs - 1, 'y'));
	EXPECT_EQ(0, bp_touch(p, false, 0, &c));
	EXPECT_EQ('x', c);

	ASSERT_EQ(0, bp_release(self->fd, id, 2));
	/* pages mapped before: revoked; never mapped: refused at fault */
	EXPECT_EQ(SIGBUS, bp_read_at(p));
	EXPECT_EQ(SIGBUS, bp_write_at(p + bs - 1, 'w'));
	EXPECT_EQ(SIGBUS, bp_read_at(untouched));
	EXPECT_EQ(SIGBUS, bp_write_at(untouched, 'w'));
	EXPECT_EQ(0ULL, in_use(self->fd));

	/* held again (maybe the same ids): the old mapping stays dead */
	ASSERT_EQ(0, bp_try(self->fd, BP_CRIT, 2, id));
	EXPECT_EQ(0, munmap(p, bs));
	EXPECT_EQ(0, munmap(untouched, bs));
	EXPECT_EQ(0, bp_release(self->fd, id, 2));
}

TEST_F(mmap, next_holder_sees_zeros)
{
	size_t bs = self->bs, i;
	unsigned int n = (unsigned int)self->st.limit;
	int next = bp_open(0);
	__u32 x, got[1];
	char *p, *q;

	ASSERT_LE(0, next);
	/* hold the whole pool so that the buffer given back is the only one */
	ASSERT_EQ(0, bp_fill(self->fd, &self->st, self->ids));
	x = self->ids[n - 1];
	p = map_ids(self->fd, x, 1, bs, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0xa5, bs);

	ASSERT_EQ(0, bp_release(self->fd, &x, 1));
	EXPECT_EQ(SIGBUS, bp_read_at(p));

	ASSERT_EQ(0, bp_try(next, BP_CRIT, 1, got));
	ASSERT_EQ(x, got[0]) TH_LOG("got buffer %u, expected %u", got[0], x);
	q = map_ids(next, x, 1, bs, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, q);
	for (i = 0; i < bs; i++)
		if (q[i])
			break;
	EXPECT_EQ(bs, i) TH_LOG("byte %zu of the next holder's buffer is %#x",
				i, (unsigned char)q[i]);
	/* the new holder's data never shows through the old mapping */
	memset(q, 0x5a, bs);
	EXPECT_EQ(SIGBUS, bp_read_at(p));
	/* nor may the old holder map it again */
	errno = 0;
	EXPECT_EQ(MAP_FAILED, map_ids(self->fd, x, 1, bs, MAP_SHARED));
	EXPECT_EQ(EACCES, errno);

	munmap(p, bs);
	munmap(q, bs);
	close(next);
	EXPECT_EQ(0, bp_release_all(self->fd, self->ids, n - 1));
}

/*
 * The child shares the open file (the same entity and buffers) but not
 * the parent's mapping: touching it is SIGSEGV.  It may map the buffer
 * again and sees the parent's data; the parent sees what it writes.
 */
TEST_F(mmap, fork_child_maps_again)
{
	size_t bs = self->bs;
	__u32 id[1];
	char *p, *q, c = 0;
	pid_t pid;

	ASSERT_EQ(0, bp_try(self->fd, BP_CRIT, 1, id));
	p = map_ids(self->fd, id[0], 1, bs, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	memcpy(p, "parent", sizeof("parent"));

	pid = bp_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (bp_read_at(p) != SIGSEGV)
			_exit(1);
		q = map_ids(self->fd, id[0], 1, bs, MAP_SHARED);
		if (q == MAP_FAILED)
			_exit(2);
		if (strcmp(q, "parent"))
			_exit(3);
		memcpy(q + 64, "child", sizeof("child"));
		/* same entity: the child can see STATS and its holding */
		if (bp_touch(q + bs - 1, false, 0, &c))
			_exit(4);
		_exit(0);
	}
	EXPECT_EQ(0, bp_reap(pid));
	EXPECT_STREQ("child", p + 64);
	/* the parent's mapping was never affected */
	EXPECT_EQ(0, bp_touch(p, false, 0, &c));
	EXPECT_EQ('p', c);

	/* a RELEASE in the child revokes the parent's mapping too */
	pid = bp_fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(bp_release(self->fd, id, 1) ? 1 : 0);
	EXPECT_EQ(0, bp_reap(pid));
	EXPECT_EQ(SIGBUS, bp_read_at(p));
	munmap(p, bs);
}

/*
 * A mapping holds the file: close() does not give the buffers back while
 * it exists, and they stay usable; munmap() then releases the file.
 */
TEST_F(mmap, close_with_mapping_keeps_entity)
{
	size_t bs = self->bs;
	int fd = bp_open(0);
	__u32 id[2];
	char *p;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bp_try(fd, BP_CRIT, 2, id));
	p = map_ids(fd, id[0], 1, bs, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	memcpy(p, "still here", sizeof("still here"));
	EXPECT_EQ(2ULL, in_use(self->fd));

	ASSERT_EQ(0, close(fd));
	/* nothing given back, the mapping still works */
	EXPECT_EQ(2ULL, in_use(self->fd));
	EXPECT_EQ(0, bp_write_at(p + bs - 1, 'q'));
	EXPECT_STREQ("still here", p);
	EXPECT_EQ(-ETIMEDOUT, bp_wait_in_use(self->fd, 0, BP_QUIET_MS));

	ASSERT_EQ(0, munmap(p, bs));
	EXPECT_EQ(0, bp_wait_in_use(self->fd, 0, BP_PATIENCE_MS));
}

TEST_HARNESS_MAIN
