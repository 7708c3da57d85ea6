// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool as a memory citizen.
 *
 * Under memory pressure the pool gives its cached free buffers back to the
 * kernel: STATS allocated falls to in_use + reserve, and shrunk counts what
 * went.  It never takes a held buffer (its mappings stay, with their
 * data), never the buffers a queued request will take, and allocation
 * works afterwards (the pool grows again, zeroed).  A limit whose
 * limit x bufsize is more than half of the machine's memory is refused:
 * a sysfs write fails with ERANGE (a lower limit always passes), and the
 * load is refused by a "!" phase of vm-phases.
 *
 * Pressure comes two ways: drop_caches (the kernel runs every shrinker at
 * once), and a memory hog, a child that touches anonymous memory a MiB at
 * a time until the kernel has to reclaim for it (direct reclaim, which
 * runs the shrinkers), and stops as soon as the pool is down to in_use +
 * reserve: what the pool gave back is then still free, so nothing falls
 * to the OOM killer.  (Without a shrinker it goes on until the OOM killer
 * takes it: oom_score_adj 1000 makes it the one.)  And an amount asked
 * for through memory.reclaim of the root cgroup (cgroup v2): the pool
 * gives back about that, not its whole cache, since the shrinker counts
 * what it frees to the reclaim that asked.
 *
 * The pool is sized from bufsize: about 16 MiB of buffers, at least four.
 * The tests set limit and reserve through sysfs and put them back.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>

#include "kselftest_harness.h"

#include "bufpool_sys_util.h"

#define POOL_BYTES	(16UL << 20)
#define RESERVE		2
#define HOLD		2
/* ids the tests hold at most: a pool of 2 x POOL_BYTES of one-page buffers */
#define MAX_BUFS	(2 * POOL_BYTES / 4096)
#define HOG_STEP	(1024UL * 1024)
/* memory.reclaim: what is asked for, of a cache of at least this much */
#define RECLAIM_ASK	(1024UL * 1024)
#define RECLAIM_CACHE	(32 * RECLAIM_ASK)
#define RECLAIM_MIN	8
/* it may give back what was asked and 1/RECLAIM_SLACK of the spare */
#define RECLAIM_SLACK	4

/* MemTotal in bytes (totalram_pages() in the kernel), 0 if unknown. */
static unsigned long long mem_total(void)
{
	unsigned long long kb = 0;
	char line[256];
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

/* The largest limit the module should accept: half the memory. */
static unsigned long long limit_max(unsigned long long bufsize)
{
	unsigned long long pg = getpagesize();
	unsigned long long pages = (bufsize + pg - 1) / pg;
	unsigned long long n = mem_total() / pg / 2 / pages;

	return n < 65536 ? n : 65536;
}

/* allocated == in_use + reserve, read from sysfs */
static bool at_reserve(void)
{
	unsigned long long a, u, r;

	return !bp_sysfs_read("stats/allocated", &a) &&
	       !bp_sysfs_read("stats/in_use", &u) &&
	       !bp_sysfs_read("reserve", &r) && a == u + r;
}

/*
 * The child: touch memory until the pool is down to its reserve, say so
 * on @out, and keep what it took (counted in @mib) until it is killed.
 */
static void hog(int out, unsigned long *mib)
{
	char *p, *last = NULL;

	/* if anything must go, it is this */
	bp_write_file("/proc/self", "oom_score_adj", "1000");
	while (!at_reserve()) {
		p = mmap(NULL, HOG_STEP, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			bp_msleep(5);
			continue;
		}
		memset(p, 0x77, HOG_STEP);
		__atomic_add_fetch(mib, 1, __ATOMIC_RELAXED);
		last = p;
	}
	/*
	 * Its last step may have taken what the pool gave back: leave it,
	 * so that saying so (a pipe page) cannot call the OOM killer.
	 */
	if (last)
		munmap(last, HOG_STEP);
	bp_put(out, 'R');
	for (;;)
		pause();
}

static bool all_bytes(const char *p, unsigned long long len, char c)
{
	while (len--)
		if (*p++ != c)
			return false;
	return true;
}

FIXTURE(memory)
{
	struct bp_tunables saved;
	int fd;
	unsigned long long bufsize;
	unsigned int nbuf;
	__u32 ids[MAX_BUFS];
	char *map[HOLD];
};

FIXTURE_SETUP(memory)
{
	struct bufpool_stats st;
	unsigned long long max;

	self->fd = -1;
	ASSERT_EQ(0, bp_tunables_save(&self->saved))
		TH_LOG("%s", BP_POOL_NEEDS);
	self->fd = bp_open(0);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", BP_DEV, strerror(errno));
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	self->bufsize = st.bufsize;
	self->nbuf = POOL_BYTES / st.bufsize;
	if (self->nbuf < 4)
		self->nbuf = 4;
	max = limit_max(st.bufsize);
	ASSERT_LE(2ULL * self->nbuf, max) TH_LOG("a %llu MiB machine", mem_total() >> 20);
	ASSERT_GE((unsigned int)MAX_BUFS, 2 * self->nbuf);
	ASSERT_EQ(0, bp_tunables_set(2 * self->nbuf, RESERVE, 0));
}

FIXTURE_TEARDOWN(memory)
{
	if (self->fd >= 0)
		close(self->fd);
	EXPECT_EQ(0, bp_tunables_restore(&self->saved));
}

static int stats(struct __test_metadata *_metadata, int fd,
		 struct bufpool_stats *st)
{
	int ret = bp_stats(fd, st);

	EXPECT_EQ(0, ret);
	return ret;
}

/*
 * Grow the pool to nbuf buffers on self->fd, keep HOLD of them mapped with
 * a pattern, give the rest back: they stay cached.
 */
static void fill(struct __test_metadata *_metadata,
		 struct _test_data_memory *self)
{
	unsigned int got, n, i;

	for (got = 0; got < self->nbuf; got += n) {
		n = self->nbuf - got;
		if (n > BUFPOOL_ALLOC_MAX)
			n = BUFPOOL_ALLOC_MAX;
		ASSERT_EQ(0, bp_alloc_t(self->fd, BP_NORM, n, 0,
					BP_PATIENCE_MS * 1000000ULL,
					self->ids + got));
	}
	for (i = 0; i < HOLD; i++) {
		self->map[i] = mmap(NULL, self->bufsize, PROT_READ | PROT_WRITE,
				    MAP_SHARED, self->fd,
				    (off_t)self->ids[i] * self->bufsize);
		ASSERT_NE(MAP_FAILED, self->map[i]);
		memset(self->map[i], 'A' + i, self->bufsize);
	}
	ASSERT_EQ(0, bp_release_all(self->fd, self->ids + HOLD,
				    self->nbuf - HOLD));
}

/* The held buffers are still held, mapped, and hold their pattern. */
static void check_held(struct __test_metadata *_metadata,
		       struct _test_data_memory *self)
{
	struct bufpool_stats st;
	unsigned long long off;
	unsigned int i;
	char c = 0;

	ASSERT_EQ(0, stats(_metadata, self->fd, &st));
	EXPECT_EQ((__u64)HOLD, st.in_use);
	for (i = 0; i < HOLD; i++) {
		for (off = 0; off < self->bufsize; off += getpagesize()) {
			ASSERT_EQ(0, bp_touch(self->map[i] + off, false, 0, &c))
				TH_LOG("held buffer %u gone at +%llu", i, off);
			ASSERT_EQ((char)('A' + i), c)
				TH_LOG("held buffer %u overwritten at +%llu", i,
				       off);
		}
		ASSERT_TRUE(all_bytes(self->map[i], self->bufsize, 'A' + i));
	}
}

/* Allocation works afterwards: every buffer again, each one zeroed. */
static void alloc_again(struct __test_metadata *_metadata,
			struct _test_data_memory *self)
{
	unsigned int got, n, want = self->nbuf - HOLD;
	char *p;

	for (got = 0; got < want; got += n) {
		n = want - got;
		if (n > BUFPOOL_ALLOC_MAX)
			n = BUFPOOL_ALLOC_MAX;
		ASSERT_EQ(0, bp_alloc_t(self->fd, BP_NORM, n, 0,
					BP_PATIENCE_MS * 1000000ULL,
					self->ids + HOLD + got));
	}
	p = mmap(NULL, self->bufsize, PROT_READ, MAP_SHARED, self->fd,
		 (off_t)self->ids[self->nbuf - 1] * self->bufsize);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_TRUE(all_bytes(p, self->bufsize, 0));
	munmap(p, self->bufsize);
	ASSERT_EQ(0, bp_release_all(self->fd, self->ids + HOLD, want));
}

/* STATS after fill(): everything beyond the held and the reserve cached. */
static void check_filled(struct __test_metadata *_metadata, int fd,
			 struct bufpool_stats *st)
{
	ASSERT_EQ(0, stats(_metadata, fd, st));
	ASSERT_EQ((__u64)HOLD, st->in_use);
	ASSERT_LT(st->in_use + st->reserve, st->allocated);
}

/* Wait until allocated == in_use + reserve; the last STATS in @st. */
static bool shrunk_to_reserve(int fd, struct bufpool_stats *st,
			      unsigned int ms)
{
	long long end = bp_now_ms() + ms;

	for (;;) {
		if (bp_stats(fd, st))
			return false;
		if (st->allocated == st->in_use + st->reserve)
			return true;
		if (bp_now_ms() > end)
			return false;
		bp_msleep(10);
	}
}

TEST_F_TIMEOUT(memory, drop_caches_gives_back_cached_buffers, 300)
{
	struct bufpool_stats st0, st1;

	fill(_metadata, self);
	check_filled(_metadata, self->fd, &st0);

	ASSERT_EQ(0, bp_write_file("/proc/sys/vm", "drop_caches", "2"));
	EXPECT_TRUE(shrunk_to_reserve(self->fd, &st1, BP_PATIENCE_MS))
		TH_LOG("allocated %llu, in_use %llu, reserve %llu",
		       st1.allocated, st1.in_use, st1.reserve);
	EXPECT_EQ(st0.allocated - st1.allocated, st1.shrunk - st0.shrunk);
	check_held(_metadata, self);
	alloc_again(_metadata, self);
	ASSERT_EQ(0, bp_release_all(self->fd, self->ids, HOLD));
}

TEST_F_TIMEOUT(memory, memory_hog_gives_back_cached_buffers, 600)
{
	struct bufpool_stats st0, st1;
	int pipefd[2], said;
	unsigned long *mib, last;
	pid_t pid;

	fill(_metadata, self);
	check_filled(_metadata, self->fd, &st0);
	mib = mmap(NULL, sizeof(*mib), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mib);
	*mib = 0;

	ASSERT_EQ(0, pipe2(pipefd, O_CLOEXEC));
	pid = bp_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(pipefd[0]);
		hog(pipefd[1], mib);
		_exit(0);
	}
	close(pipefd[1]);
	/* as long as it makes progress: it ends at the latest at MemTotal */
	do {
		last = __atomic_load_n(mib, __ATOMIC_RELAXED);
		said = bp_get(pipefd[0], BP_PATIENCE_MS);
	} while (said == -ETIMEDOUT &&
		 __atomic_load_n(mib, __ATOMIC_RELAXED) != last);
	ASSERT_EQ(0, stats(_metadata, self->fd, &st1));
	kill(pid, SIGKILL);
	bp_reap(pid);
	close(pipefd[0]);

	EXPECT_EQ('R', said)
		TH_LOG("hog %s after %lu MiB: allocated %llu, in_use %llu, reserve %llu",
		       said == -EPIPE ? "killed" : "stuck", *mib,
		       st1.allocated, st1.in_use, st1.reserve);
	/* not a check: how hard it had to push, for the log */
	printf("# the hog touched %lu MiB of %llu MiB; %llu buffers given back\n",
	       *mib, mem_total() >> 20, st1.shrunk - st0.shrunk);
	munmap(mib, sizeof(*mib));
	EXPECT_EQ(st1.in_use + st1.reserve, st1.allocated);
	EXPECT_EQ(st0.allocated - st1.allocated, st1.shrunk - st0.shrunk);
	check_held(_metadata, self);
	alloc_again(_metadata, self);
	ASSERT_EQ(0, bp_release_all(self->fd, self->ids, HOLD));
}

/*
 * A request queued for the budget keeps the cached buffers it will
 * take: pressure gives back only what is beyond it and the reserve.
 */
TEST_F_TIMEOUT(memory, queued_request_keeps_its_buffers, 300)
{
	struct bufpool_stats st0, st1;
	unsigned int lim = 2 * self->nbuf, held, want = 3, i, n;
	__u32 got[3];
	int fd2;

	/*
	 * Take lim - RESERVE (the cache then holds the reserve), give 2
	 * back: lim - RESERVE - 2 held, RESERVE + 2 cached.
	 */
	held = lim - RESERVE;
	ASSERT_GE((unsigned int)MAX_BUFS, held);
	for (i = 0; i < held; i += n) {
		n = held - i < BUFPOOL_ALLOC_MAX ? held - i : BUFPOOL_ALLOC_MAX;
		ASSERT_EQ(0, bp_alloc_t(self->fd, BP_NORM, n, 0,
					BP_PATIENCE_MS * 1000000ULL,
					self->ids + i));
	}
	ASSERT_EQ(0, bp_release(self->fd, self->ids + held - 2, 2));
	held -= 2;
	fd2 = bp_open(O_NONBLOCK);
	ASSERT_LE(0, fd2);
	/* held + 3 + RESERVE = lim + 1: queued, for the budget */
	ASSERT_EQ(-EAGAIN, bp_alloc(fd2, BP_NORM, want, got));
	ASSERT_EQ(0, stats(_metadata, self->fd, &st0));
	ASSERT_EQ(1ULL, st0.queued[BP_NORM]);
	ASSERT_EQ((__u64)RESERVE + 2, st0.allocated - st0.in_use);

	ASSERT_EQ(0, bp_write_file("/proc/sys/vm", "drop_caches", "2"));
	ASSERT_EQ(0, stats(_metadata, self->fd, &st1));
	EXPECT_EQ(st0.allocated, st1.allocated);
	EXPECT_EQ(st0.shrunk, st1.shrunk);

	/* one more back: the queued request is served from the cache */
	ASSERT_EQ(0, bp_release(self->fd, self->ids + held - 1, 1));
	held--;
	ASSERT_TRUE(bp_readable(fd2, BP_PATIENCE_MS));
	ASSERT_EQ(0, bp_alloc(fd2, BP_NORM, want, got));
	ASSERT_EQ(0, stats(_metadata, self->fd, &st1));
	EXPECT_EQ(st0.allocated, st1.allocated);
	EXPECT_EQ(0, bp_release(fd2, got, want));
	close(fd2);
	EXPECT_EQ(0, bp_release_all(self->fd, self->ids, held));
}

/*
 * Mount cgroup v2 on a new directory under /tmp, its path in @dir: 0, or
 * -errno (-ENODEV: a kernel without cgroup v2).
 */
static int cgroup2_mount(char *dir, size_t len)
{
	int ret;

	snprintf(dir, len, "/tmp/bufpool-cg-XXXXXX");
	if (!mkdtemp(dir))
		return -errno;
	if (!mount("cgroup2", dir, "cgroup2", 0, NULL))
		return 0;
	ret = -errno;
	rmdir(dir);
	return ret;
}

static void cgroup2_umount(const char *dir)
{
	umount2(dir, 0);
	rmdir(dir);
}

static bool cgroup_has(const char *dir, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return !access(path, F_OK);
}

/*
 * Ask reclaim of the root cgroup for @bytes through memory.reclaim, as
 * an operator does: 0, -errno of the write (-EAGAIN: reclaim gave up
 * short of it), or a reason to skip in @why.  The root's reclaim is the
 * whole machine's, and walks every shrinker; a child cgroup's calls only
 * the memcg-aware ones, which the pool's is not.
 */
static int reclaim_root(unsigned long long bytes, const char **why)
{
	char cg[64], val[32];
	int ret;

	*why = NULL;
	ret = cgroup2_mount(cg, sizeof(cg));
	if (ret == -ENODEV) {
		*why = "no cgroup v2 in this kernel (CONFIG_CGROUPS)";
		return 0;
	}
	if (ret)
		return ret;
	if (!cgroup_has(cg, "memory.reclaim")) {
		*why = "no memory.reclaim (CONFIG_MEMCG, 5.19 or later)";
	} else if (cgroup_has(cg, "memory.current")) {
		/* a cgroup namespace: its root is a child cgroup */
		*why = "cgroup v2 mounts a child cgroup here, not the root";
	} else {
		snprintf(val, sizeof(val), "%llu", bytes);
		ret = bp_write_file(cg, "memory.reclaim", val);
	}
	cgroup2_umount(cg);
	return ret;
}

/*
 * memory.reclaim of the root cgroup, asked for 1 MiB while 32 MiB of
 * spare buffers are cached (at least 8), succeeds and gets about that
 * from the pool.  Reclaim counts as progress the LRU pages it frees and
 * the pages it is told of (current->reclaim_state), never what a
 * shrinker returns: the shrinker tells it what it gave back, and it
 * stops.  The kernel scans a shrinker in batches of 128 pages, a batch
 * freeing whole buffers, and in proportion to its size (6.12's MGLRU may
 * start at priority 6: a 16th of the cache in its first pass), hence a
 * quarter of the cache as slack.  Untold, reclaim went on at rising
 * priority until the cache was empty, and the write failed (EAGAIN) with
 * no progress counted.  The VM has neither swap nor page cache to speak
 * of: the pool's cache is what there is to reclaim.
 */
TEST_F_TIMEOUT(memory, memory_reclaim_takes_what_it_asks_for, 300)
{
	unsigned long long pg = getpagesize(), bufpages, asked, given, max;
	unsigned int n, got, k, spare;
	struct bufpool_stats st0, st1;
	const char *why;
	int ret;

	bufpages = (self->bufsize + pg - 1) / pg;
	n = RECLAIM_CACHE / self->bufsize;
	if (n < RECLAIM_MIN)
		n = RECLAIM_MIN;
	if (n > MAX_BUFS - RESERVE)
		n = MAX_BUFS - RESERVE;
	n += RESERVE;
	ASSERT_LE(2ULL * n, limit_max(self->bufsize));
	ASSERT_EQ(0, bp_tunables_set(2 * n, RESERVE, 0));
	for (got = 0; got < n; got += k) {
		k = n - got < BUFPOOL_ALLOC_MAX ? n - got : BUFPOOL_ALLOC_MAX;
		ASSERT_EQ(0, bp_alloc_t(self->fd, BP_NORM, k, 0,
					BP_PATIENCE_MS * 1000000ULL,
					self->ids + got));
	}
	ASSERT_EQ(0, bp_release_all(self->fd, self->ids, n));
	ASSERT_EQ(0, stats(_metadata, self->fd, &st0));
	ASSERT_EQ(0ULL, st0.in_use);
	ASSERT_LE((unsigned long long)n, st0.allocated);
	spare = st0.allocated - st0.reserve;

	asked = RECLAIM_ASK / pg;
	ret = reclaim_root(RECLAIM_ASK, &why);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, stats(_metadata, self->fd, &st1));
	given = st1.shrunk - st0.shrunk;
	printf("# memory.reclaim of %llu pages: %llu of %u spare buffers (%llu pages) back%s%s\n",
	       asked, given, spare, bufpages, ret ? ", write: " : "",
	       ret ? strerror(-ret) : "");
	EXPECT_EQ(0, ret) TH_LOG("memory.reclaim: %s", strerror(-ret));
	EXPECT_EQ(st0.allocated - st1.allocated, given);
	max = (asked + spare * bufpages / RECLAIM_SLACK + bufpages - 1) /
	      bufpages;
	EXPECT_GE(max, given)
		TH_LOG("%llu buffers given back for %llu pages asked", given,
		       asked);
}

/*
 * limit x bufsize above half of the machine's memory: ERANGE, nothing
 * changes; at most half passes, and a lower limit always does.
 */
TEST_F(memory, limit_above_half_of_memory_is_refused)
{
	unsigned long long max = limit_max(self->bufsize);

	if (max >= 65536)
		SKIP(return, "a machine where every limit fits (%llu MiB)",
		     mem_total() >> 20);
	ASSERT_LT(0ULL, max);
	EXPECT_EQ(-ERANGE, bp_sysfs_set("limit", max + 1));
	EXPECT_EQ(2ULL * self->nbuf, bp_sysfs_get("limit"));
	EXPECT_EQ(-ERANGE, bp_sysfs_set("limit", 65536));
	EXPECT_EQ(2ULL * self->nbuf, bp_sysfs_get("limit"));
	EXPECT_EQ(0, bp_sysfs_set("limit", max));
	EXPECT_EQ(max, bp_sysfs_get("limit"));
	/* other tunables still change at the largest limit */
	EXPECT_EQ(0, bp_sysfs_set("reserve", RESERVE + 1));
	EXPECT_EQ(0, bp_sysfs_set("reserve", RESERVE));
	EXPECT_EQ(0, bp_sysfs_set("limit", 2 * self->nbuf));
	EXPECT_EQ(2ULL * self->nbuf, bp_sysfs_get("limit"));
}

TEST_HARNESS_MAIN
