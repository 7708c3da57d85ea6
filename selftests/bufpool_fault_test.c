// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool_fault_test: bufpool under injected allocation failures.
 *
 * Needs a kernel with CONFIG_FAILSLAB and CONFIG_FAIL_PAGE_ALLOC (and
 * FAULT_INJECTION_DEBUG_FS), that is the debug kernel of tools/vm/; it
 * SKIPs elsewhere.  Injection is limited to the module's allocations by
 * the fault-attr knobs that exist on x86_64 6.1 (require-start/end need
 * FAULT_INJECTION_STACKTRACE_FILTER, which is !X86_64):
 *  - task-filter=Y: only tasks with /proc/<pid>/make-it-fail=1, that is
 *    this test's workers, in process context (not the retry kworker);
 *  - ignore-gfp-wait=Y: only allocations that cannot sleep.  bufpool
 *    allocates under its spinlock with GFP_NOWAIT; everything else those
 *    workers make the kernel allocate (fork, pipes, page faults) may sleep
 *    and is left alone.  The module's GFP_KERNEL retry work is thus never
 *    failed, so queued requests are still served.
 * Checks: no error but -ETIMEDOUT from the workload, in_use back to 0,
 * page_alloc_failures grew (injection hit), CRITICAL requests up to the
 * reserve are served at 100% injection while a NORMAL one that needs new
 * memory is not, and nothing is left held or queued at the end.
 *
 * A pool that already owns its limit (earlier tests grew it) is trimmed
 * first by lowering and restoring /sys/class/misc/bufpool/limit.
 *
 * Knobs: BUFPOOL_FAULT_PROB (percent, default 20), BUFPOOL_FAULT_SECONDS
 * (workload length, default 3), BUFPOOL_DEV (default /dev/bufpool).
 * Build: gcc -static -I uapi -I <linux>/tools/testing/selftests
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/bufpool.h>

#include "kselftest_harness.h"

#include "bufpool_util.h"

#define DEBUGFS		"/sys/kernel/debug"
#define SYSFS_POOL	"/sys/class/misc/" BUFPOOL_DEVICE_NAME
#define NR_WORKERS	4
#define MAX_HOLD	64
#define LIMIT_MAX	65536	/* the module's BUFPOOL_LIMIT_MAX */

static const char *const fault_attrs[] = {
	DEBUGFS "/failslab",
	DEBUGFS "/fail_page_alloc",
};

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -EIO;
}

/* @path's first line into @buf, without its newline. */
static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int write_attr(const char *dir, const char *name, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return write_file(path, val);
}

/* Arm (prob > 0) or disarm both fault attributes. */
static int fault_set(unsigned int prob)
{
	char p[16];
	unsigned int i;
	int ret = 0;

	snprintf(p, sizeof(p), "%u", prob);
	for (i = 0; i < ARRAY_SIZE(fault_attrs); i++) {
		const char *d = fault_attrs[i];

		ret |= write_attr(d, "probability", "0");
		ret |= write_attr(d, "task-filter", prob ? "Y" : "N");
		ret |= write_attr(d, "ignore-gfp-wait", "Y");
		ret |= write_attr(d, "verbose", "0");
		ret |= write_attr(d, "interval", "1");
		ret |= write_attr(d, "space", "0");
		ret |= write_attr(d, "times", "-1");
		if (strstr(d, "fail_page_alloc"))
			ret |= write_attr(d, "min-order", "0");
		ret |= write_attr(d, "probability", p);
	}
	return ret;
}

/*
 * A pool that already owns its limit never allocates again, so nothing
 * could be injected: lower the limit through sysfs (the pool frees its
 * cached buffers down to it) and put it back.  The thresholds follow the
 * limit when they are the defaults, as here.
 */
static int trim_pool(const struct bufpool_stats *st)
{
	char small[16], orig[16];
	int ret;

	snprintf(small, sizeof(small), "%llu",
		 (unsigned long long)(2 * st->reserve + 2));
	snprintf(orig, sizeof(orig), "%llu", (unsigned long long)st->limit);
	if (2 * st->reserve + 2 >= st->limit)
		return -ERANGE;
	ret = write_file(SYSFS_POOL "/limit", small);
	if (ret)
		return ret;
	return write_file(SYSFS_POOL "/limit", orig);
}

static int make_it_fail(int on)
{
	return write_file("/proc/self/make-it-fail", on ? "1" : "0");
}

static const char *dev_path(void)
{
	const char *p = getenv("BUFPOOL_DEV");

	return p ? p : "/dev/" BUFPOOL_DEVICE_NAME;
}

static unsigned int env_uint(const char *name, unsigned int def)
{
	const char *v = getenv(name);

	return v && *v ? (unsigned int)strtoul(v, NULL, 0) : def;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Shared between the workers and the test. */
struct counters {
	unsigned long served[BUFPOOL_NR_CLASSES];
	unsigned long timeouts;
	unsigned long errors;
	int last_error;
};

/*
 * One worker: with make-it-fail set, allocate buffers of mixed classes
 * (one request in five CRITICAL), hold up to @hold, release in random
 * chunks, and now and then close the fd while holding.
 */
static void worker(unsigned int idx, unsigned int hold, double until,
		   struct counters *cnt)
{
	__u32 ids[MAX_HOLD];
	unsigned int nheld = 0, iter = 0, seed = 0x9e3779b9u * (idx + 1);
	int fd, ret;

	if (make_it_fail(1))
		_exit(2);
	fd = open(dev_path(), O_RDWR);
	if (fd < 0)
		_exit(3);

	while (now_s() < until) {
		unsigned int class, count;

		iter++;
		class = (rand_r(&seed) % 5 == 0) ? BUFPOOL_CLASS_CRITICAL :
			1 + rand_r(&seed) % 2;
		count = 1 + rand_r(&seed) % (class ? 8 : 2);
		if (nheld + count <= hold) {
			ret = bp_alloc_t(fd, class, count, 0, 2000000000ull,
					 ids + nheld);
			if (!ret) {
				nheld += count;
				__atomic_add_fetch(&cnt->served[class], 1,
						   __ATOMIC_RELAXED);
			} else if (ret == -ETIMEDOUT) {
				__atomic_add_fetch(&cnt->timeouts, 1,
						   __ATOMIC_RELAXED);
			} else {
				__atomic_add_fetch(&cnt->errors, 1,
						   __ATOMIC_RELAXED);
				cnt->last_error = ret;
			}
		}
		if (nheld && (nheld + 8 > hold || rand_r(&seed) % 3 == 0)) {
			unsigned int n = 1 + rand_r(&seed) % nheld;

			ret = bp_release(fd, ids + nheld - n, n);
			if (ret) {
				__atomic_add_fetch(&cnt->errors, 1,
						   __ATOMIC_RELAXED);
				cnt->last_error = ret;
			} else {
				nheld -= n;
			}
		}
		if (iter % 16 == 0) {
			/* closing gives back whatever the fd holds */
			close(fd);
			nheld = 0;
			fd = open(dev_path(), O_RDWR);
			if (fd < 0)
				_exit(3);
		}
	}
	if (nheld && bp_release_all(fd, ids, nheld)) {
		__atomic_add_fetch(&cnt->errors, 1, __ATOMIC_RELAXED);
		cnt->last_error = -EIO;
	}
	close(fd);
	make_it_fail(0);
	_exit(0);
}

/* Poll until in_use and every queue are 0, up to 5 s; fills @st. */
static int wait_idle(int fd, struct bufpool_stats *st)
{
	double end = now_s() + 5;
	int ret;

	do {
		ret = bp_stats(fd, st);
		if (ret)
			return ret;
		if (!st->in_use && !st->queued[0] && !st->queued[1] &&
		    !st->queued[2])
			return 0;
		usleep(10000);
	} while (now_s() < end);
	return -EBUSY;
}

FIXTURE(fault) {
	int fd;
	char skip[128];
	char quota[24];		/* user_quota to put back, if set */
};

FIXTURE_SETUP(fault)
{
	unsigned int i;
	struct stat sb;

	self->fd = -1;
	if (geteuid() != 0) {
		snprintf(self->skip, sizeof(self->skip), "needs root");
		return;
	}
	if (stat(DEBUGFS "/failslab", &sb))
		mount("debugfs", DEBUGFS, "debugfs", 0, NULL);
	for (i = 0; i < ARRAY_SIZE(fault_attrs); i++) {
		if (stat(fault_attrs[i], &sb)) {
			snprintf(self->skip, sizeof(self->skip),
				 "no %s: kernel without FAILSLAB/FAIL_PAGE_ALLOC debugfs",
				 fault_attrs[i]);
			return;
		}
	}
	if (access("/proc/self/make-it-fail", W_OK)) {
		snprintf(self->skip, sizeof(self->skip),
			 "no /proc/self/make-it-fail");
		return;
	}
	self->fd = open(dev_path(), O_RDWR);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", dev_path(),
				      strerror(errno));
}

FIXTURE_TEARDOWN(fault)
{
	if (!self->skip[0])
		fault_set(0);
	if (self->quota[0])
		write_file(SYSFS_POOL "/user_quota", self->quota);
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * Several processes allocate and release while a share of the module's
 * non-sleeping allocations fail: every request is still served (the
 * retry work allocates with GFP_KERNEL), the failures are counted, and
 * everything comes back.
 */
TEST_F_TIMEOUT(fault, workload_under_injection, 180)
{
	unsigned int prob = env_uint("BUFPOOL_FAULT_PROB", 20);
	unsigned int secs = env_uint("BUFPOOL_FAULT_SECONDS", 3);
	struct bufpool_stats st0, st1;
	struct counters *cnt;
	unsigned int i, hold, bad = 0;
	pid_t pids[NR_WORKERS];
	double until;
	int status;

	if (self->skip[0])
		SKIP(return, "%s", self->skip);

	ASSERT_EQ(0, bp_stats(self->fd, &st0));
	ASSERT_EQ(0ULL, st0.in_use) TH_LOG("pool busy before the test");
	if (st0.allocated + 8 * NR_WORKERS >= st0.limit) {
		/* earlier tests grew it: make room to allocate again */
		int ret = trim_pool(&st0);

		ASSERT_EQ(0, bp_stats(self->fd, &st0));
		TH_LOG("trim through sysfs: %d; allocated %llu, limit %llu",
		       ret, (unsigned long long)st0.allocated,
		       (unsigned long long)st0.limit);
	}
	if (st0.allocated >= st0.limit)
		SKIP(return, "%s (%llu buffers): %s",
		     "pool already owns its limit",
		     (unsigned long long)st0.limit,
		     "no page allocation left to fail; load the module afresh");

	/* what each worker may hold, so that all fit next to the LOW headroom */
	hold = st0.limit > 2 * st0.reserve + 8 * NR_WORKERS ?
	       (st0.limit - 2 * st0.reserve - 8 * NR_WORKERS) / NR_WORKERS : 1;
	if (hold > MAX_HOLD)
		hold = MAX_HOLD;
	if (hold < 8)
		hold = 8;

	cnt = mmap(NULL, sizeof(*cnt), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, cnt);
	memset(cnt, 0, sizeof(*cnt));

	ASSERT_EQ(0, fault_set(prob)) TH_LOG("cannot arm fault injection");
	until = now_s() + secs;
	for (i = 0; i < NR_WORKERS; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			worker(i, hold, until, cnt);
		ASSERT_LT(0, pids[i]);
	}
	for (i = 0; i < NR_WORKERS; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			TH_LOG("worker %u: status 0x%x", i, status);
			bad++;
		}
	}
	ASSERT_EQ(0, fault_set(0));

	ASSERT_EQ(0, wait_idle(self->fd, &st1))
		TH_LOG("in_use %llu queued %llu/%llu/%llu after the workload",
		       (unsigned long long)st1.in_use,
		       (unsigned long long)st1.queued[0],
		       (unsigned long long)st1.queued[1],
		       (unsigned long long)st1.queued[2]);
	TH_LOG("prob %u%%, %us, hold %u: served crit/normal/low %lu/%lu/%lu",
	       prob, secs, hold, cnt->served[0], cnt->served[1],
	       cnt->served[2]);
	TH_LOG("timeouts %lu, errors %lu; page_alloc_failures %llu -> %llu",
	       cnt->timeouts, cnt->errors,
	       (unsigned long long)st0.page_alloc_failures,
	       (unsigned long long)st1.page_alloc_failures);
	TH_LOG("allocated %llu -> %llu, waited %llu",
	       (unsigned long long)st0.allocated,
	       (unsigned long long)st1.allocated,
	       (unsigned long long)(st1.grants_waited - st0.grants_waited));
	EXPECT_EQ(0U, bad);
	EXPECT_EQ(0UL, cnt->errors) TH_LOG("last error %d", cnt->last_error);
	EXPECT_LT(0UL, cnt->served[BUFPOOL_CLASS_CRITICAL]);
	EXPECT_LT(0UL, cnt->served[BUFPOOL_CLASS_NORMAL] +
		     cnt->served[BUFPOOL_CLASS_LOW]);
	/* injection really hit the module */
	EXPECT_LT(st0.page_alloc_failures, st1.page_alloc_failures);
	munmap(cnt, sizeof(*cnt));
}

/*
 * At 100% injection: a NORMAL request that needs new memory is refused
 * (and counted as a page allocation failure), but CRITICAL requests up to
 * the reserve are served from the preallocated reserve.
 */
TEST_F_TIMEOUT(fault, critical_served_at_100_percent, 120)
{
	__u32 held[LIMIT_MAX], crit[MAX_HOLD], one;
	struct bufpool_stats st0, st1, st2;
	unsigned int n, i, c;
	int pipefd[2], res[3] = { -1, -1, -1 }, status;
	pid_t pid;

	if (self->skip[0])
		SKIP(return, "%s", self->skip);

	/*
	 * Exact counts: with a quota the per-CPU caches stay off, so taking
	 * every cached buffer below grows the pool for nobody (while they
	 * serve, an allocation far from the limit grows the cache instead).
	 */
	ASSERT_EQ(0, read_file(SYSFS_POOL "/user_quota", self->quota,
			       sizeof(self->quota)));
	ASSERT_EQ(0, write_file(SYSFS_POOL "/user_quota", "65536"));
	/* let a retry queued by an earlier failure finish adopting */
	usleep(200000);
	ASSERT_EQ(0, wait_idle(self->fd, &st0));
	if (!st0.reserve)
		SKIP(return, "module loaded with reserve=0");
	ASSERT_GE((__u64)MAX_HOLD, st0.reserve);
	ASSERT_LE(st0.reserve, st0.allocated);

	/* Without injection, hold every cached buffer NORMAL may take. */
	n = st0.allocated - st0.reserve;
	ASSERT_GE((unsigned int)LIMIT_MAX, n);
	for (i = 0; i < n; i += c) {
		c = n - i < BUFPOOL_ALLOC_MAX ? n - i : BUFPOOL_ALLOC_MAX;
		ASSERT_EQ(0, bp_alloc_t(self->fd, BUFPOOL_CLASS_NORMAL, c,
					BUFPOOL_ALLOC_NOQUEUE, 0, held + i));
	}

	ASSERT_EQ(0, pipe(pipefd));
	ASSERT_EQ(0, fault_set(100));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = open(dev_path(), O_RDWR);

		close(pipefd[0]);
		if (fd < 0 || make_it_fail(1))
			_exit(2);
		/* needs a new buffer: every attempt fails */
		res[0] = bp_alloc_t(fd, BUFPOOL_CLASS_NORMAL, 1,
				    BUFPOOL_ALLOC_NOQUEUE, 0, &one);
		/* the reserve: must be served */
		res[1] = bp_alloc_t(fd, BUFPOOL_CLASS_CRITICAL, st0.reserve,
				    BUFPOOL_ALLOC_NOQUEUE, 0, crit);
		make_it_fail(0);
		res[2] = res[1] ? 0 : bp_release(fd, crit, st0.reserve);
		if (!res[0])
			bp_release(fd, &one, 1);
		if (write(pipefd[1], res, sizeof(res)) != sizeof(res))
			_exit(4);
		close(fd);
		_exit(0);
	}
	close(pipefd[1]);
	ASSERT_EQ((ssize_t)sizeof(res), read(pipefd[0], res, sizeof(res)));
	close(pipefd[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, fault_set(0));
	ASSERT_EQ(0, bp_stats(self->fd, &st1));

	TH_LOG("reserve %llu, held NORMAL %u: NORMAL needing memory %d",
	       (unsigned long long)st0.reserve, n, res[0]);
	TH_LOG("CRITICAL x reserve %d, its release %d; page_alloc_failures %llu -> %llu",
	       res[1], res[2],
	       (unsigned long long)st0.page_alloc_failures,
	       (unsigned long long)st1.page_alloc_failures);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	if (st0.allocated < st0.limit) {
		/* the budget allowed it: only the injected failure refused it */
		EXPECT_EQ(-EAGAIN, res[0]);
		EXPECT_LT(st0.page_alloc_failures, st1.page_alloc_failures);
	}
	EXPECT_EQ(0, res[1]);
	EXPECT_EQ(0, res[2]);

	ASSERT_EQ(0, bp_release_all(self->fd, held, n));
	ASSERT_EQ(0, wait_idle(self->fd, &st2));
	EXPECT_EQ(0ULL, st2.in_use);
}

/* Last: with injection off everything is back and the pool still works. */
TEST_F(fault, all_released_after)
{
	struct bufpool_stats st;
	__u32 ids[BUFPOOL_ALLOC_MAX];

	if (self->skip[0])
		SKIP(return, "%s", self->skip);
	ASSERT_EQ(0, fault_set(0));
	ASSERT_EQ(0, wait_idle(self->fd, &st));
	ASSERT_EQ(0, bp_alloc_t(self->fd, BUFPOOL_CLASS_NORMAL, 2, 0,
				2000000000ull, ids));
	ASSERT_EQ(0, bp_release(self->fd, ids, 2));
	ASSERT_EQ(0, wait_idle(self->fd, &st));
	EXPECT_EQ(0ULL, st.in_use);
}

TEST_HARNESS_MAIN
