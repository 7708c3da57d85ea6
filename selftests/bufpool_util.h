/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the bufpool selftests: ioctl wrappers that return
 * -errno, the STATS snapshot and what follows from it (headrooms, waiting
 * for the queue or the pool to reach a state), and small process helpers
 * (children that die with the test, one-byte pipe messages with a bound).
 *
 * Bounded waits here only ever mean "give up waiting for it": tests assert
 * what happened, never how fast.
 */
#ifndef _BUFPOOL_UTIL_H
#define _BUFPOOL_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/bufpool.h>

#define BP_DEV			"/dev/" BUFPOOL_DEVICE_NAME
#define BP_CRIT			BUFPOOL_CLASS_CRITICAL
#define BP_NORM			BUFPOOL_CLASS_NORMAL
#define BP_LOW			BUFPOOL_CLASS_LOW
/* how long "it did not happen" is watched for */
#define BP_QUIET_MS		300
/* how long "it must happen" is waited for before calling it a failure */
#define BP_PATIENCE_MS		10000

static inline __u64 bp_ptr(const void *p)
{
	return (__u64)(uintptr_t)p;
}

static inline int bp_open(int flags)
{
	return open(BP_DEV, O_RDWR | O_CLOEXEC | flags);
}

static inline int bp_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

static inline int bp_alloc_t(int fd, unsigned int class, unsigned int count,
			     unsigned int flags, __u64 timeout_ns, __u32 *ids)
{
	struct bufpool_alloc a = {
		.size = sizeof(a),
		.flags = flags,
		.alloc_class = class,
		.count = count,
		.timeout_ns = timeout_ns,
		.ids_ptr = bp_ptr(ids),
	};

	return bp_ioctl(fd, BUFPOOL_IOC_ALLOC, &a);
}

static inline int bp_alloc(int fd, unsigned int class, unsigned int count,
			   __u32 *ids)
{
	return bp_alloc_t(fd, class, count, 0, 0, ids);
}

/* Never queues: 0 with the ids, or -EAGAIN and nothing changed. */
static inline int bp_try(int fd, unsigned int class, unsigned int count,
			 __u32 *ids)
{
	return bp_alloc_t(fd, class, count, BUFPOOL_ALLOC_NOQUEUE, 0, ids);
}

static inline int bp_release(int fd, const __u32 *ids, unsigned int count)
{
	struct bufpool_release r = {
		.size = sizeof(r),
		.count = count,
		.ids_ptr = bp_ptr(ids),
	};

	return bp_ioctl(fd, BUFPOOL_IOC_RELEASE, &r);
}

static inline int bp_cancel(int fd)
{
	struct bufpool_cancel c = { .size = sizeof(c) };

	return bp_ioctl(fd, BUFPOOL_IOC_CANCEL, &c);
}

static inline int bp_info(int fd, struct bufpool_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return bp_ioctl(fd, BUFPOOL_IOC_INFO, info);
}

static inline int bp_stats(int fd, struct bufpool_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return bp_ioctl(fd, BUFPOOL_IOC_STATS, st);
}

/* Free buffers each class must leave behind (see the class table). */
static inline unsigned int bp_headroom(const struct bufpool_stats *st,
				       unsigned int class)
{
	__u64 h = 0;

	if (class == BP_NORM)
		h = st->reserve;
	else if (class == BP_LOW)
		h = 2 * st->reserve < st->limit ? 2 * st->reserve :
						   st->limit - 1;
	return (unsigned int)h;
}

/* Most buffers @class can ever get from a pool nobody else uses. */
static inline unsigned int bp_class_max(const struct bufpool_stats *st,
					unsigned int class)
{
	return (unsigned int)st->limit - bp_headroom(st, class);
}

static inline __u64 bp_nr_queued(const struct bufpool_stats *st)
{
	return st->queued[0] + st->queued[1] + st->queued[2] + st->queued[3];
}

static inline void bp_msleep(unsigned int ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long)(ms % 1000) * 1000000L,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static inline long long bp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Poll STATS until queued[@class] (or the total when @class is
 * BUFPOOL_NR_CLASSES) equals @n.  Returns 0, or -ETIMEDOUT after @ms.
 */
static inline int bp_wait_queued(int fd, unsigned int class, __u64 n,
				 unsigned int ms)
{
	long long end = bp_now_ms() + ms;
	struct bufpool_stats st;

	for (;;) {
		if (bp_stats(fd, &st))
			return -EIO;
		if ((class < BUFPOOL_NR_CLASSES ? st.queued[class] :
		     bp_nr_queued(&st)) == n)
			return 0;
		if (bp_now_ms() > end)
			return -ETIMEDOUT;
		bp_msleep(2);
	}
}

/* Poll STATS until in_use equals @n.  Returns 0, or -ETIMEDOUT after @ms. */
static inline int bp_wait_in_use(int fd, __u64 n, unsigned int ms)
{
	long long end = bp_now_ms() + ms;
	struct bufpool_stats st;

	for (;;) {
		if (bp_stats(fd, &st))
			return -EIO;
		if (st.in_use == n)
			return 0;
		if (bp_now_ms() > end)
			return -ETIMEDOUT;
		bp_msleep(2);
	}
}

/* Wait for the pool to be idle: what an earlier test left is gone. */
static inline int bp_wait_idle(int fd)
{
	int ret = bp_wait_in_use(fd, 0, BP_PATIENCE_MS);

	return ret ? ret : bp_wait_queued(fd, BUFPOOL_NR_CLASSES, 0,
					  BP_PATIENCE_MS);
}

/* The fields that must not move when a call fails. */
static inline bool bp_stats_same(const struct bufpool_stats *a,
				 const struct bufpool_stats *b)
{
	return a->in_use == b->in_use && a->free == b->free &&
	       !memcmp(a->queued, b->queued, sizeof(a->queued)) &&
	       a->allocations == b->allocations &&
	       a->grants_waited == b->grants_waited &&
	       a->wakeups == b->wakeups && a->releases == b->releases;
}

/*
 * fork() a child that is SIGKILLed when the test process dies, so that a
 * failed assertion never leaves buffers held behind.  Returns like fork().
 */
static inline pid_t bp_fork(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(99);
	}
	return pid;
}

/* Wait for @pid; its exit code, 128 + signal, or -1. */
static inline int bp_reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

static inline int bp_put(int fd, char c)
{
	ssize_t n;

	do
		n = write(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -EIO;
}

/*
 * Read one byte from @fd within @ms (-1: forever).  Returns the byte,
 * -ETIMEDOUT, or -EPIPE at end of file.
 */
static inline int bp_get(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	unsigned char c;
	ssize_t n;
	int ret;

	do
		ret = poll(&pfd, 1, ms);
	while (ret < 0 && errno == EINTR);
	if (ret == 0)
		return -ETIMEDOUT;
	if (ret < 0)
		return -errno;
	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return -EPIPE;
	return n == 1 ? c : -EIO;
}

/* Is @fd reporting EPOLLIN within @ms? */
static inline bool bp_readable(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, ms) == 1 && (pfd.revents & POLLIN);
}

/* Take every buffer of the pool on @fd (CRITICAL, in chunks) into @ids. */
static inline int bp_fill(int fd, const struct bufpool_stats *st, __u32 *ids)
{
	unsigned int got = 0, n;
	int ret;

	while (got < st->limit) {
		n = (unsigned int)st->limit - got;
		if (n > BUFPOOL_ALLOC_MAX)
			n = BUFPOOL_ALLOC_MAX;
		ret = bp_try(fd, BP_CRIT, n, ids + got);
		if (ret)
			return ret;
		got += n;
	}
	return 0;
}

/* Give back @count ids from @ids on @fd, in chunks. */
static inline int bp_release_all(int fd, const __u32 *ids, unsigned int count)
{
	unsigned int done = 0, n;
	int ret;

	while (done < count) {
		n = count - done;
		if (n > BUFPOOL_ALLOC_MAX)
			n = BUFPOOL_ALLOC_MAX;
		ret = bp_release(fd, ids + done, n);
		if (ret)
			return ret;
		done += n;
	}
	return 0;
}

#endif /* _BUFPOOL_UTIL_H */
