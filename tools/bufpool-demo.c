// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool-demo: a short workload for `make run` that shows the pool at work.
 *
 * A "loader" process takes every buffer a NORMAL request may have, so the
 * reserve is all that is left.  Three "clients" then ask for a NORMAL
 * buffer and queue, in order; the loader, which holds request buffers,
 * then asks for a CRITICAL (response) buffer and is served at once from
 * the reserve (only an fd that holds buffers may ask for CRITICAL ones).
 * The loader gives its buffers back one at a time: each one is handed to
 * the next client in line, which wakes up holding a buffer (the pool
 * picks which one: ids need not match).  Everyone gives everything back
 * and the STATS counters are printed: one wake-up per grant, none
 * spurious.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include <linux/bufpool.h>

#define NR_CLIENTS	3

static long long t0;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void say(const char *who, const char *fmt, ...)
{
	va_list ap;

	printf("[%5lld ms] %-10s ", now_ms() - t0, who);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static int xopen(void)
{
	int fd = open("/dev/" BUFPOOL_DEVICE_NAME, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		perror("open /dev/" BUFPOOL_DEVICE_NAME);
		exit(1);
	}
	return fd;
}

static int alloc(int fd, unsigned int class, unsigned int count,
		 unsigned int flags, __u32 *ids)
{
	struct bufpool_alloc a = {
		.size = sizeof(a),
		.flags = flags,
		.alloc_class = class,
		.count = count,
		.ids_ptr = (__u64)(uintptr_t)ids,
	};

	return ioctl(fd, BUFPOOL_IOC_ALLOC, &a) ? -errno : 0;
}

static int release(int fd, const __u32 *ids, unsigned int count)
{
	struct bufpool_release r = {
		.size = sizeof(r),
		.count = count,
		.ids_ptr = (__u64)(uintptr_t)ids,
	};

	return ioctl(fd, BUFPOOL_IOC_RELEASE, &r) ? -errno : 0;
}

static void stats(int fd, struct bufpool_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	if (ioctl(fd, BUFPOOL_IOC_STATS, st)) {
		perror("BUFPOOL_IOC_STATS");
		exit(1);
	}
}

static void wait_queued(int fd, unsigned long long n)
{
	struct bufpool_stats st;

	do {
		usleep(1000);
		stats(fd, &st);
	} while (st.queued[BUFPOOL_CLASS_NORMAL] != n);
}

/* A client: one NORMAL buffer, wait for it, hold it until told to leave. */
static void run_client(int n, int done_fd, int bye_fd)
{
	char who[16];
	long long t;
	__u32 id;
	int fd = xopen(), ret;

	snprintf(who, sizeof(who), "client %d", n);
	say(who, "asks for 1 NORMAL buffer (pool is dry: it queues)");
	t = now_ms();
	ret = alloc(fd, BUFPOOL_CLASS_NORMAL, 1, 0, &id);
	if (ret) {
		say(who, "ALLOC failed: %s", strerror(-ret));
		exit(1);
	}
	say(who, "woken up holding buffer #%u after %lld ms in line", id,
	    now_ms() - t);
	if (write(done_fd, "x", 1) != 1)
		exit(1);
	while (read(bye_fd, &who[0], 1) > 0)
		;
	release(fd, &id, 1);
	say(who, "gave buffer #%u back and leaves", id);
	exit(0);
}

int main(void)
{
	struct bufpool_stats st;
	unsigned int normal, got = 0, k;
	__u32 *ids, crit;
	int loader, done[2], bye[2], i, c, ret;
	pid_t kids[NR_CLIENTS];
	char x;

	setvbuf(stdout, NULL, _IOLBF, 0);
	t0 = now_ms();
	loader = xopen();
	stats(loader, &st);
	printf("bufpool demo: limit=%llu reserve=%llu bufsize=%llu, %llu in use\n\n",
	       (unsigned long long)st.limit, (unsigned long long)st.reserve,
	       (unsigned long long)st.bufsize, (unsigned long long)st.in_use);
	if (st.in_use || st.reserve >= st.limit) {
		fprintf(stderr, "the pool must be idle for the demo\n");
		return 1;
	}
	normal = st.limit - st.reserve;
	if (normal < NR_CLIENTS) {
		fprintf(stderr, "limit - reserve must be at least %d\n",
			NR_CLIENTS);
		return 1;
	}
	ids = calloc(normal, sizeof(*ids));
	if (!ids || pipe(done) || pipe(bye))
		return 1;

	while (got < normal) {
		k = normal - got > BUFPOOL_ALLOC_MAX ? BUFPOOL_ALLOC_MAX :
						      normal - got;
		ret = alloc(loader, BUFPOOL_CLASS_NORMAL, k, 0, ids + got);
		if (ret) {
			say("loader", "ALLOC failed: %s", strerror(-ret));
			return 1;
		}
		got += k;
	}
	say("loader", "took %u NORMAL buffers: all but the reserve of %llu",
	    got, (unsigned long long)st.reserve);
	ret = alloc(loader, BUFPOOL_CLASS_NORMAL, 1, BUFPOOL_ALLOC_NOQUEUE,
		    &crit);
	say("loader", "one more NORMAL with NOQUEUE: %s (the reserve is not for NORMAL)",
	    ret ? strerror(-ret) : "granted?!");

	for (i = 0; i < NR_CLIENTS; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			close(bye[1]);
			run_client(i + 1, done[1], bye[0]);
		}
		wait_queued(loader, i + 1);
	}
	say("loader", "%d clients are queued, first come first served",
	    NR_CLIENTS);

	if (st.reserve) {
		ret = alloc(loader, BUFPOOL_CLASS_CRITICAL, 1,
			    BUFPOOL_ALLOC_NOQUEUE, &crit);
		if (ret) {
			say("loader", "CRITICAL request failed: %s",
			    strerror(-ret));
			return 1;
		}
		say("loader",
		    "CRITICAL (its response buffer): served at once from the reserve, buffer #%u",
		    crit);
		release(loader, &crit, 1);
		say("loader", "gave buffer #%u back to the reserve", crit);
	}

	for (i = 0; i < NR_CLIENTS; i++) {
		usleep(200 * 1000);
		say("loader", "gives back 1 buffer (#%u): handed to the next in line",
		    ids[i]);
		release(loader, &ids[i], 1);
		if (read(done[0], &x, 1) != 1)
			return 1;
	}
	close(bye[1]);
	for (i = 0; i < NR_CLIENTS; i++) {
		waitpid(kids[i], &c, 0);
		if (!WIFEXITED(c) || WEXITSTATUS(c))
			say("loader", "client %d failed", i + 1);
	}
	for (k = NR_CLIENTS; k < got; k += BUFPOOL_ALLOC_MAX)
		release(loader, ids + k,
			got - k > BUFPOOL_ALLOC_MAX ? BUFPOOL_ALLOC_MAX :
						      got - k);
	say("loader", "gave the other %u back", got - NR_CLIENTS);

	stats(loader, &st);
	printf("\nSTATS at the end:\n");
	printf("  in_use %llu, free %llu, allocated (memory owned) %llu\n",
	       (unsigned long long)st.in_use, (unsigned long long)st.free,
	       (unsigned long long)st.allocated);
	printf("  requests served %llu, of which after waiting %llu\n",
	       (unsigned long long)st.allocations,
	       (unsigned long long)st.grants_waited);
	printf("  wake-ups %llu, spurious %llu (one per grant, none wasted)\n",
	       (unsigned long long)st.wakeups,
	       (unsigned long long)st.spurious_wakeups);
	printf("  buffers given back %llu, peak in use %llu, peak queued %llu\n",
	       (unsigned long long)st.releases,
	       (unsigned long long)st.peak_in_use,
	       (unsigned long long)st.peak_queued);
	free(ids);
	close(loader);
	return st.in_use || st.spurious_wakeups ||
	       st.wakeups != st.grants_waited;
}
