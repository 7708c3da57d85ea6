// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool-iobench - I/O into and out of pool buffers against malloc()ed
 * buffers, side by side in one boot (make bench runs it in the VM):
 *
 *   odirect   pread(O_DIRECT) of one buffer's size from a memory-backed
 *             null_blk device (made through configfs, irqmode 0: the
 *             device costs a memcpy), into a pool buffer and into an
 *             aligned_alloc()ed one, rounds alternating
 *   zerocopy  64 KiB messages over TCP loopback to a reader thread:
 *             send(MSG_ZEROCOPY) from a pool buffer (completions reaped
 *             from the error queue as they come), plain send() of a
 *             malloc()ed buffer, and MSG_ZEROCOPY of a malloc()ed buffer
 *
 *   bufpool-iobench [-r ROUNDS] [-t MS_PER_ROUND] [-m MSG_BYTES]
 *
 * Each rate is the median over the rounds of one mode; a round of each
 * mode runs in turn, and each ratio is the median (with its quartiles) of
 * the ratios of rounds run back to back, so a load that comes and goes
 * touches both sides alike.
 * The message size must fit the pool's bufsize (load it with
 * bufsize=65536 for 64 KiB messages).  Prints "@@IOBENCH key=value..."
 * lines for tools/bench/io-report.sh, and a human summary.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/bufpool.h>

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY	60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY	0x4000000
#endif

#define NULLB_DIR	"/sys/kernel/config/nullb/bufpool-iobench"
#define NULLB_DEV	"/dev/bufpool-iobench"
#define NULLB_MB	64
#define MAX_ROUNDS	64

static unsigned int rounds = 21;
static unsigned int round_ms = 200;
static size_t msg = 65536;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * Median, first and third quartile of the ratios @a[r] / @b[r] of the
 * rounds run back to back: a load that drifts cancels out of each.
 */
static void pair_ratio(const double *a, const double *b, unsigned int n,
		       double *med, double *q1, double *q3)
{
	double r[MAX_ROUNDS];

	for (unsigned int i = 0; i < n; i++)
		r[i] = a[i] / b[i];
	*med = median(r, n);
	*q1 = r[n / 4];
	*q3 = r[(3 * n) / 4];
}

static int write_attr(const char *name, const char *val)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", NULLB_DIR, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

static void nullb_destroy(void)
{
	write_attr("power", "0");
	rmdir(NULLB_DIR);
}

static int nullb_create(void)
{
	char val[16];
	struct stat sb;
	int i, ret;

	if (mkdir(NULLB_DIR, 0755))
		return -errno;
	snprintf(val, sizeof(val), "%d", NULLB_MB);
	ret = write_attr("size", val);
	ret = ret ?: write_attr("blocksize", "512");
	ret = ret ?: write_attr("memory_backed", "1");
	ret = ret ?: write_attr("irqmode", "0");
	ret = ret ?: write_attr("power", "1");
	for (i = 0; !ret && stat(NULLB_DEV, &sb) && i < 1000; i++)
		usleep(10000);
	if (!ret && stat(NULLB_DEV, &sb))
		ret = -errno;
	if (ret)
		nullb_destroy();
	return ret;
}

/* A held pool buffer of @len bytes, mapped; NULL on failure. */
static void *pool_buf(int fd, size_t len)
{
	struct bufpool_alloc a = { .size = sizeof(a), .count = 1,
				   .alloc_class = BUFPOOL_CLASS_NORMAL };
	__u32 id;
	void *p;

	a.ids_ptr = (__u64)(uintptr_t)&id;
	if (ioctl(fd, BUFPOOL_IOC_ALLOC, &a))
		return NULL;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)id * (off_t)len);
	return p == MAP_FAILED ? NULL : p;
}

/* MB/s of O_DIRECT reads of @len bytes into @p for round_ms. */
static double odirect_round(int dfd, void *p, size_t len)
{
	off_t span = (off_t)NULLB_MB << 20, off = 0;
	double t0 = now_s(), t;
	unsigned long long bytes = 0;

	do {
		for (int i = 0; i < 64; i++) {
			if (pread(dfd, p, len, off) != (ssize_t)len)
				return -1;
			bytes += len;
			off = (off + (off_t)len) % span;
		}
		t = now_s();
	} while (t - t0 < round_ms / 1000.0);
	return bytes / (t - t0) / 1e6;
}

static int bench_odirect(void *pool, void *heap, size_t len)
{
	double vp[MAX_ROUNDS], vh[MAX_ROUNDS], mp, mh, rm, r1, r3;
	unsigned char *fill;
	int dfd, ret;

	ret = nullb_create();
	if (ret) {
		printf("# odirect: no null_blk device (%s): skipped\n", strerror(-ret));
		return 0;
	}
	dfd = open(NULLB_DEV, O_RDWR | O_DIRECT | O_CLOEXEC);
	fill = aligned_alloc(4096, 1 << 20);
	if (dfd < 0 || !fill) {
		perror("odirect");
		nullb_destroy();
		return 1;
	}
	/* every sector written once: reads copy real data */
	memset(fill, 0x5a, 1 << 20);
	for (int i = 0; i < NULLB_MB; i++)
		if (pwrite(dfd, fill, 1 << 20, (off_t)i << 20) != 1 << 20)
			break;
	free(fill);
	for (unsigned int r = 0; r < rounds; r++) {
		vp[r] = odirect_round(dfd, pool, len);
		vh[r] = odirect_round(dfd, heap, len);
		if (vp[r] < 0 || vh[r] < 0) {
			perror("odirect: pread");
			close(dfd);
			nullb_destroy();
			return 1;
		}
	}
	close(dfd);
	nullb_destroy();
	pair_ratio(vp, vh, rounds, &rm, &r1, &r3);
	mp = median(vp, rounds);
	mh = median(vh, rounds);
	printf("@@IOBENCH row=odirect len=%zu rounds=%u round_ms=%u", len, rounds, round_ms);
	printf(" pool_MBps=%.1f malloc_MBps=%.1f", mp, mh);
	printf(" ratio=%.3f ratio_q1=%.3f ratio_q3=%.3f\n", rm, r1, r3);
	printf("# O_DIRECT read %zu B from null_blk: pool %.1f MB/s, malloc %.1f MB/s,",
	       len, mp, mh);
	printf(" pool/malloc %.3f (quartiles %.3f-%.3f)\n", rm, r1, r3);
	return 0;
}

struct sink {
	int fd;
};

static void *sink_thread(void *arg)
{
	struct sink *s = arg;
	static unsigned char buf[1 << 18];

	while (recv(s->fd, buf, sizeof(buf), 0) > 0)
		;
	return NULL;
}

/* Read what completions there are on @fd: sends completed, copied ones. */
static void reap(int fd, unsigned long long *done, unsigned long long *copied)
{
	char ctl[128];
	struct msghdr m;
	struct cmsghdr *cm;
	struct sock_extended_err *ee;

	for (;;) {
		memset(&m, 0, sizeof(m));
		m.msg_control = ctl;
		m.msg_controllen = sizeof(ctl);
		if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return;
		for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
			ee = (struct sock_extended_err *)CMSG_DATA(cm);
			if (ee->ee_origin != SO_EE_ORIGIN_ZEROCOPY)
				continue;
			*done += ee->ee_data - ee->ee_info + 1;
			if (ee->ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
				*copied += ee->ee_data - ee->ee_info + 1;
		}
	}
}

/* MB/s of @len-byte sends of @p for round_ms; -1 on error. */
static double send_round(int fd, const void *p, size_t len, bool zc,
			 unsigned long long *sent, unsigned long long *done,
			 unsigned long long *copied)
{
	double t0 = now_s(), t;
	unsigned long long bytes = 0;
	struct pollfd pfd = { .fd = fd };
	ssize_t n;

	do {
		n = send(fd, p, len, zc ? MSG_ZEROCOPY : 0);
		if (n < 0 && errno == ENOBUFS) {
			/* too many notifications pending: reap them */
			poll(&pfd, 1, 10);
			reap(fd, done, copied);
			t = now_s();
			continue;
		}
		if (n != (ssize_t)len)
			return -1;
		bytes += len;
		if (zc) {
			(*sent)++;
			reap(fd, done, copied);
		}
		t = now_s();
	} while (t - t0 < round_ms / 1000.0);
	return bytes / (t - t0) / 1e6;
}

static int tcp_pair(int *snd, int *rcv)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int l, one = 1;

	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &alen))
		return -1;
	*snd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*snd < 0 ||
	    setsockopt(*snd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) ||
	    connect(*snd, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	*rcv = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	close(l);
	return *rcv < 0 ? -1 : 0;
}

static int bench_zerocopy(void *pool, void *heap, size_t len)
{
	double vz[MAX_ROUNDS], vp[MAX_ROUNDS], vh[MAX_ROUNDS], mz, mp, mh, rm, r1, r3;
	unsigned long long sent = 0, done = 0, copied = 0, hs = 0, hd = 0, hc = 0;
	struct sink s = { 0 };
	pthread_t th;
	int snd, t;

	if (tcp_pair(&snd, &s.fd)) {
		printf("# zerocopy: no TCP over 127.0.0.1 (%s): skipped\n", strerror(errno));
		return 0;
	}
	memset(pool, 0x33, len);
	memset(heap, 0x33, len);
	if (pthread_create(&th, NULL, sink_thread, &s))
		return 1;
	for (unsigned int r = 0; r < rounds; r++) {
		vz[r] = send_round(snd, pool, len, true, &sent, &done, &copied);
		vp[r] = send_round(snd, heap, len, false, NULL, NULL, NULL);
		vh[r] = send_round(snd, heap, len, true, &hs, &hd, &hc);
		if (vz[r] < 0 || vp[r] < 0 || vh[r] < 0) {
			perror("zerocopy: send");
			return 1;
		}
	}
	/* every notification in */
	for (t = 0; t < 500 && (done < sent || hd < hs); t++) {
		struct pollfd pfd = { .fd = snd };

		poll(&pfd, 1, 10);
		reap(snd, &done, &copied);
	}
	shutdown(snd, SHUT_WR);
	pthread_join(th, NULL);
	close(snd);
	close(s.fd);
	pair_ratio(vz, vp, rounds, &rm, &r1, &r3);
	mz = median(vz, rounds);
	mp = median(vp, rounds);
	mh = median(vh, rounds);
	/* one socket: the malloc zerocopy completions count with the pool's */
	printf("@@IOBENCH row=zerocopy len=%zu rounds=%u round_ms=%u", len, rounds, round_ms);
	printf(" pool_zc_MBps=%.1f malloc_send_MBps=%.1f malloc_zc_MBps=%.1f", mz, mp, mh);
	printf(" ratio=%.3f ratio_q1=%.3f ratio_q3=%.3f", rm, r1, r3);
	printf(" zc_sends=%llu completed=%llu copied=%llu\n", sent + hs, done, copied);
	printf("# %zu B messages over lo: MSG_ZEROCOPY from pool %.1f MB/s,", len, mz);
	printf(" send() of malloc %.1f MB/s (pool/plain %.3f, quartiles %.3f-%.3f),",
	       mp, rm, r1, r3);
	printf(" MSG_ZEROCOPY from malloc %.1f MB/s;", mh);
	printf(" %llu of %llu completions SO_EE_CODE_ZEROCOPY_COPIED\n", copied, done);
	return 0;
}

int main(int argc, char **argv)
{
	struct bufpool_info info = { .size = sizeof(info) };
	void *pool, *heap;
	int c, fd, ret;

	while ((c = getopt(argc, argv, "r:t:m:")) != -1) {
		switch (c) {
		case 'r':
			rounds = (unsigned int)atoi(optarg);
			break;
		case 't':
			round_ms = (unsigned int)atoi(optarg);
			break;
		case 'm':
			msg = (size_t)atol(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-r ROUNDS] [-t MS] [-m MSG_BYTES]\n", argv[0]);
			return 2;
		}
	}
	if (!rounds || rounds > MAX_ROUNDS) {
		fprintf(stderr, "bufpool-iobench: 1 to %d rounds\n", MAX_ROUNDS);
		return 2;
	}
	fd = open("/dev/" BUFPOOL_DEVICE_NAME, O_RDWR | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, BUFPOOL_IOC_INFO, &info)) {
		perror("bufpool-iobench: /dev/" BUFPOOL_DEVICE_NAME);
		return 1;
	}
	pool = pool_buf(fd, info.bufsize);
	heap = aligned_alloc(4096, info.bufsize);
	if (!pool || !heap) {
		perror("bufpool-iobench: buffer");
		return 1;
	}
	memset(heap, 0, info.bufsize);
	printf("# bufpool-iobench: bufsize %u, %u rounds of %u ms per mode\n",
	       info.bufsize, rounds, round_ms);
	ret = bench_odirect(pool, heap, info.bufsize);
	if (msg > info.bufsize)
		printf("# zerocopy: %zu B messages need bufsize >= %zu: skipped\n", msg, msg);
	else
		ret |= bench_zerocopy(pool, heap, msg);
	close(fd);
	return ret;
}
