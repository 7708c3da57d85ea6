// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool-pagebench: what the memory backend costs and how it copes with
 * fragmented memory.
 *
 *   bufpool-pagebench --cycle [-n N] [-r ROUNDS]
 *	ALLOC + mmap + first touch of every page + munmap + RELEASE of one
 *	buffer, N buffers in a row held at once: the first round creates
 *	them (the pool grows, GFP_NOWAIT, as it does for a new request),
 *	the next ROUNDS take them from the cache.  Prints the median and
 *	the 10th/90th percentiles of each part, in ns.
 *   bufpool-pagebench --frag [-n N]
 *	Fragment memory first: map and touch all but a margin of the free
 *	memory, then give every other page back (MADV_DONTNEED), so what is
 *	free is mostly single pages.  Then ALLOC (NOQUEUE: only the
 *	GFP_NOWAIT growth, no sleeping retry) one buffer at a time, holding
 *	them, up to N: how many succeed.
 *
 * The pool is set through sysfs (root): reserve 0, limit N + 1; put back
 * at exit.  Each run prints one "@@PAGES key=value..." line, with the
 * backend the module was loaded with (contig=0: order-0 pages, contig=1:
 * one high-order allocation per buffer).
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/bufpool.h>

#define SYSFS	"/sys/class/misc/bufpool/"

static int sysfs_get(const char *name, char *buf, size_t len)
{
	int fd = open(name, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int sysfs_put(const char *name, unsigned long v)
{
	char buf[32];
	int fd = open(name, O_WRONLY), ret;

	if (fd < 0)
		return -1;
	snprintf(buf, sizeof(buf), "%lu", v);
	ret = write(fd, buf, strlen(buf)) < 0 ? -1 : 0;
	close(fd);
	return ret;
}

static unsigned long saved_limit, saved_reserve;

static void put_back(void)
{
	sysfs_put(SYSFS "reserve", 0);
	sysfs_put(SYSFS "limit", saved_limit);
	sysfs_put(SYSFS "reserve", saved_reserve);
}

static int set_pool(unsigned long limit)
{
	char buf[32];

	if (sysfs_get(SYSFS "limit", buf, sizeof(buf)))
		return -1;
	saved_limit = strtoul(buf, NULL, 10);
	if (sysfs_get(SYSFS "reserve", buf, sizeof(buf)))
		return -1;
	saved_reserve = strtoul(buf, NULL, 10);
	atexit(put_back);
	if (sysfs_put(SYSFS "reserve", 0) || sysfs_put(SYSFS "limit", limit))
		return -1;
	return 0;
}

static const char *backend(void)
{
	static char buf[16];

	if (sysfs_get("/sys/module/bufpool/parameters/contig", buf,
		      sizeof(buf)))
		return "?";
	return buf[0] == 'Y' || buf[0] == '1' ? "contig" : "order0";
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int alloc1(int fd, __u32 flags, __u32 *id)
{
	struct bufpool_alloc a = {
		.size = sizeof(a),
		.flags = flags,
		.alloc_class = BUFPOOL_CLASS_NORMAL,
		.count = 1,
		.ids_ptr = (__u64)(unsigned long)id,
	};

	return ioctl(fd, BUFPOOL_IOC_ALLOC, &a) ? -errno : 0;
}

static int release1(int fd, __u32 id)
{
	struct bufpool_release r = {
		.size = sizeof(r),
		.count = 1,
		.ids_ptr = (__u64)(unsigned long)&id,
	};

	return ioctl(fd, BUFPOOL_IOC_RELEASE, &r) ? -errno : 0;
}

static size_t bufsize(int fd)
{
	struct bufpool_stats st = { .size = sizeof(st) };

	return ioctl(fd, BUFPOOL_IOC_STATS, &st) ? 0 : st.bufsize;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* Median, 10th and 90th percentiles of @v (sorted in place). */
static void pct(long long *v, unsigned int n, long long out[3])
{
	qsort(v, n, sizeof(*v), cmp_ll);
	out[0] = v[n / 2];
	out[1] = v[n / 10];
	out[2] = v[n * 9 / 10];
}

enum { T_ALLOC, T_MAP, T_TOUCH, T_UNMAP, T_RELEASE, T_NR };
static const char *const tname[T_NR] = {
	"alloc", "mmap", "touch", "munmap", "release",
};

static void report(const char *phase, long long *t[T_NR], unsigned int n,
		   size_t bs)
{
	long long p[3], *tot = calloc(n, sizeof(*tot));
	unsigned int i, k;

	printf("@@PAGES test=cycle backend=%s bufsize=%zu phase=%s n=%u",
	       backend(), bs, phase, n);
	for (i = 0; i < n && tot; i++)
		for (k = 0; k < T_NR; k++)
			tot[i] += t[k][i];
	for (k = 0; k < T_NR; k++) {
		pct(t[k], n, p);
		printf(" %s=%lld,%lld,%lld", tname[k], p[0], p[1], p[2]);
	}
	if (tot) {
		pct(tot, n, p);
		printf(" total=%lld,%lld,%lld", p[0], p[1], p[2]);
	}
	printf("\n");
	free(tot);
}

/* One round: N buffers allocated, mapped and touched, then all given back. */
static int round_once(int fd, unsigned int n, size_t bs, long long *t[T_NR])
{
	long pg = sysconf(_SC_PAGESIZE);
	__u32 *ids = calloc(n, sizeof(*ids));
	char **maps = calloc(n, sizeof(*maps));
	unsigned int i, got = 0;
	long long t0;
	size_t off;
	int ret = 0;

	if (!ids || !maps)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		maps[i] = MAP_FAILED;
		t0 = now_ns();
		ret = alloc1(fd, BUFPOOL_ALLOC_NOQUEUE, &ids[i]);
		t[T_ALLOC][i] = now_ns() - t0;
		if (ret)
			break;
		got++;
		t0 = now_ns();
		maps[i] = mmap(NULL, bs, PROT_READ | PROT_WRITE, MAP_SHARED,
			       fd, (off_t)ids[i] * bs);
		t[T_MAP][i] = now_ns() - t0;
		if (maps[i] == MAP_FAILED) {
			ret = -errno;
			break;
		}
		t0 = now_ns();
		for (off = 0; off < bs; off += pg)
			maps[i][off] = 1;
		t[T_TOUCH][i] = now_ns() - t0;
	}
	for (i = 0; i < got; i++) {
		t0 = now_ns();
		if (maps[i] != MAP_FAILED)
			munmap(maps[i], bs);
		t[T_UNMAP][i] = now_ns() - t0;
		t0 = now_ns();
		release1(fd, ids[i]);
		t[T_RELEASE][i] = now_ns() - t0;
	}
	free(ids);
	free(maps);
	return ret;
}

static int cycle(unsigned int n, unsigned int rounds)
{
	long long *t[T_NR], *w[T_NR];
	int fd = open("/dev/" BUFPOOL_DEVICE_NAME, O_RDWR);
	unsigned int k, r;
	size_t bs;

	if (fd < 0)
		return 1;
	bs = bufsize(fd);
	if (!bs)
		return 1;
	for (k = 0; k < T_NR; k++) {
		t[k] = calloc(n, sizeof(long long));
		w[k] = calloc((size_t)n * rounds, sizeof(long long));
		if (!t[k] || !w[k])
			return 1;
	}
	/* cold: nothing cached (reserve 0 since the pool was set) */
	if (round_once(fd, n, bs, t)) {
		fprintf(stderr, "pagebench: cold round failed\n");
		return 1;
	}
	report("cold", t, n, bs);
	for (r = 0; r < rounds; r++) {
		if (round_once(fd, n, bs, t)) {
			fprintf(stderr, "pagebench: warm round failed\n");
			return 1;
		}
		for (k = 0; k < T_NR; k++)
			memcpy(w[k] + (size_t)r * n, t[k], n * sizeof(long long));
	}
	report("warm", w, n * rounds, bs);
	close(fd);
	return 0;
}

static unsigned long meminfo_kb(const char *key)
{
	char line[128];
	unsigned long v = 0;
	size_t len = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':') {
			v = strtoul(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static int frag(unsigned int n, unsigned long margin_kb)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned long free_kb = meminfo_kb("MemFree"), before, after;
	size_t len, off, bs;
	unsigned int ok = 0, i;
	int fd = open("/dev/" BUFPOOL_DEVICE_NAME, O_RDWR);
	__u32 id;
	char *p;

	if (fd < 0)
		return 1;
	bs = bufsize(fd);
	if (!bs || free_kb <= margin_kb)
		return 1;
	len = (free_kb - margin_kb) * 1024;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	/* single pages, not huge ones that would free whole */
	madvise(p, len, MADV_NOHUGEPAGE);
	for (off = 0; off < len; off += pg)
		p[off] = 1;
	for (off = 0; off < len; off += 2 * pg)
		madvise(p + off, pg, MADV_DONTNEED);
	before = meminfo_kb("MemFree");
	for (i = 0; i < n; i++)
		if (!alloc1(fd, BUFPOOL_ALLOC_NOQUEUE, &id))
			ok++;
	after = meminfo_kb("MemFree");
	printf("@@PAGES test=%s backend=%s bufsize=%zu attempts=%u ok=%u",
	       "frag", backend(), bs, n, ok);
	printf(" free_kb_before=%lu free_kb_after=%lu fragmented_kb=%zu\n",
	       before, after, len / 1024);
	close(fd);
	munmap(p, len);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cycle", no_argument, NULL, 'c' },
		{ "frag", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int n = 0, rounds = 5;
	unsigned long margin_kb = 24 * 1024;
	int mode = 0, opt;

	while ((opt = getopt_long(argc, argv, "n:r:m:", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
		case 'f':
			mode = opt;
			break;
		case 'n':
			n = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			rounds = strtoul(optarg, NULL, 0);
			break;
		case 'm':
			margin_kb = strtoul(optarg, NULL, 0) * 1024;
			break;
		default:
			fprintf(stderr, "usage: bufpool-pagebench --cycle [-n N] [-r ROUNDS]\n"
				"       bufpool-pagebench --frag [-n N] [-m MARGIN_MB]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!mode || !rounds) {
		fprintf(stderr, "bufpool-pagebench: --cycle or --frag\n");
		return 2;
	}
	if (!n)
		n = mode == 'c' ? 200 : 4096;
	if (n > 65535 || set_pool(n + 1)) {
		fprintf(stderr, "bufpool-pagebench: cannot set the pool (root? module loaded?)\n");
		return 1;
	}
	return mode == 'c' ? cycle(n, rounds) : frag(n, margin_kb);
}
