/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the bufpool I/O selftests, on top of bufpool_sys_util.h: a
 * buffer that is either a pool buffer mapped from /dev/bufpool or a
 * malloc()ed, page-aligned control buffer of the same size (so each test
 * proves its own logic on memory the kernel can always pin), null_blk
 * devices made through configfs, a loop device over one, the block
 * layer's in-flight counters, and the pool's quarantine counter.
 */
#ifndef _BUFPOOL_IO_UTIL_H
#define _BUFPOOL_IO_UTIL_H

#include <dirent.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "bufpool_sys_util.h"

#define BP_NULLB_CFS		"/sys/kernel/config/nullb"
#define BP_NULLB_NEEDS		"needs null_blk with configfs (" BP_NULLB_CFS ")"

/* Where a test buffer comes from. */
enum bp_io_kind {
	BP_IO_POOL,	/* a pool buffer, mmap()ed from /dev/bufpool */
	BP_IO_MALLOC,	/* the control: aligned_alloc(), same size */
};

struct bp_iobuf {
	enum bp_io_kind kind;
	int fd;			/* the /dev/bufpool fd holding it, or -1 */
	__u32 id;
	size_t len;
	unsigned char *p;
};

/*
 * Get one buffer of @len bytes: for BP_IO_POOL, ALLOC one on @fd (NOQUEUE)
 * and map it read-write; @len must be the pool's bufsize.  0 or -errno.
 */
static inline int bp_iobuf_get(struct bp_iobuf *b, enum bp_io_kind kind,
			       int fd, size_t len)
{
	int ret;

	memset(b, 0, sizeof(*b));
	b->kind = kind;
	b->fd = -1;
	b->len = len;
	if (kind == BP_IO_MALLOC) {
		b->p = aligned_alloc((size_t)sysconf(_SC_PAGESIZE), len);
		if (!b->p)
			return -ENOMEM;
		memset(b->p, 0, len);
		return 0;
	}
	ret = bp_try(fd, BP_CRIT, 1, &b->id);
	if (ret)
		return ret;
	b->fd = fd;
	b->p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    (off_t)b->id * (off_t)len);
	if (b->p == MAP_FAILED) {
		ret = -errno;
		bp_release(fd, &b->id, 1);
		b->p = NULL;
		return ret;
	}
	return 0;
}

/* Unmap (pool) or free (malloc); RELEASE too if @release. */
static inline void bp_iobuf_put(struct bp_iobuf *b, bool release)
{
	if (!b->p)
		return;
	if (b->kind == BP_IO_MALLOC) {
		free(b->p);
	} else {
		munmap(b->p, b->len);
		if (release)
			bp_release(b->fd, &b->id, 1);
	}
	b->p = NULL;
}

/* Fill @p with a pattern of @seed that differs at every offset's byte. */
static inline void bp_pattern(unsigned char *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)((i * 131 + seed * 7 + (i >> 9)) ^ seed);
}

/* The first offset where @p is not bp_pattern(@seed), or @len. */
static inline size_t bp_pattern_diff(const unsigned char *p, size_t len,
				     unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != (unsigned char)((i * 131 + seed * 7 + (i >> 9)) ^ seed))
			return i;
	return len;
}

/* The first non-zero offset of @p, or @len. */
static inline size_t bp_nonzero(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return i;
	return len;
}

/* A null_blk device of configfs, /dev/<name>. */
struct bp_nullb {
	char name[32];
	char cfs[96];
	char dev[48];
};

struct bp_nullb_conf {
	unsigned int size_mb;
	unsigned int blocksize;
	/* 0: complete at once; else irqmode 2 (timer) after this many ns */
	unsigned long long completion_nsec;
};

/*
 * Make and power on a memory-backed null_blk device named bufpool-io-<pid>-
 * <n>.  0, -ENOENT without null_blk's configfs, else -errno.
 */
static inline int bp_nullb_create(struct bp_nullb *nb,
				  const struct bp_nullb_conf *c)
{
	static unsigned int seq;
	char val[32];
	struct stat sb;
	long long end;
	int ret;

	if (access(BP_NULLB_CFS, W_OK))
		return -ENOENT;
	snprintf(nb->name, sizeof(nb->name), "bpio%d-%u", (int)getpid(), seq++);
	snprintf(nb->cfs, sizeof(nb->cfs), "%s/%s", BP_NULLB_CFS, nb->name);
	snprintf(nb->dev, sizeof(nb->dev), "/dev/%s", nb->name);
	if (mkdir(nb->cfs, 0755))
		return -errno;
	snprintf(val, sizeof(val), "%u", c->size_mb);
	ret = bp_write_file(nb->cfs, "size", val);
	snprintf(val, sizeof(val), "%u", c->blocksize);
	ret = ret ?: bp_write_file(nb->cfs, "blocksize", val);
	ret = ret ?: bp_write_file(nb->cfs, "memory_backed", "1");
	if (c->completion_nsec) {
		snprintf(val, sizeof(val), "%llu", c->completion_nsec);
		ret = ret ?: bp_write_file(nb->cfs, "irqmode", "2");
		ret = ret ?: bp_write_file(nb->cfs, "completion_nsec", val);
	} else {
		ret = ret ?: bp_write_file(nb->cfs, "irqmode", "0");
	}
	ret = ret ?: bp_write_file(nb->cfs, "power", "1");
	if (ret) {
		rmdir(nb->cfs);
		return ret;
	}
	/* devtmpfs makes the node a moment later */
	end = bp_now_ms() + BP_PATIENCE_MS;
	while (stat(nb->dev, &sb) && bp_now_ms() < end)
		bp_msleep(5);
	return stat(nb->dev, &sb) ? -errno : 0;
}

static inline void bp_nullb_destroy(struct bp_nullb *nb)
{
	if (!nb->cfs[0])
		return;
	bp_write_file(nb->cfs, "power", "0");
	rmdir(nb->cfs);
	nb->cfs[0] = '\0';
}

/*
 * Make the null_blk device @nb as @c says and open it O_DIRECT on *@dfd:
 * 0, -ENOENT without null_blk's configfs (the caller skips,
 * BP_NULLB_NEEDS), or -errno with *@what naming the step that failed.
 */
static inline int bp_nullb_open(struct bp_nullb *nb,
				const struct bp_nullb_conf *c, int *dfd,
				const char **what)
{
	int ret;

	*what = "null_blk";
	ret = bp_nullb_create(nb, c);
	if (ret)
		return ret;
	*what = nb->dev;
	*dfd = open(nb->dev, O_RDWR | O_DIRECT | O_CLOEXEC);
	return *dfd < 0 ? -errno : 0;
}

/* A loop device over @backing (buffered): its number, or -errno. */
static inline int bp_loop_attach(const char *backing, char *dev, size_t len)
{
	int ctl, lfd, bfd, nr, ret = 0;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	nr = ioctl(ctl, LOOP_CTL_GET_FREE);
	ret = nr < 0 ? -errno : 0;
	close(ctl);
	if (ret)
		return ret;
	snprintf(dev, len, "/dev/loop%d", nr);
	bfd = open(backing, O_RDWR | O_CLOEXEC);
	if (bfd < 0)
		return -errno;
	lfd = open(dev, O_RDWR | O_CLOEXEC);
	if (lfd < 0) {
		ret = -errno;
		goto close_backing;
	}
	if (ioctl(lfd, LOOP_SET_FD, bfd))
		ret = -errno;
	close(lfd);
close_backing:
	close(bfd);
	return ret ? ret : nr;
}

static inline void bp_loop_detach(const char *dev)
{
	int fd = open(dev, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	ioctl(fd, LOOP_CLR_FD, 0);
	close(fd);
}

/* Reads plus writes in flight on /sys/block/@disk (the name of /dev/@disk). */
static inline long bp_inflight(const char *disk)
{
	char path[96], buf[64];
	long r = -1, w = -1;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/block/%s/inflight", disk);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	if (sscanf(buf, "%ld %ld", &r, &w) != 2)
		return -EIO;
	return r + w;
}

/* Wait until /sys/block/@disk has I/O in flight: 0 or -ETIMEDOUT. */
static inline int bp_wait_inflight(const char *disk)
{
	long long end = bp_now_ms() + BP_PATIENCE_MS;

	while (bp_inflight(disk) <= 0) {
		if (bp_now_ms() > end)
			return -ETIMEDOUT;
		bp_msleep(1);
	}
	return 0;
}

/*
 * The I/O fixtures' start: the pool set up as @pool says, opened on *@fd,
 * idle, its stats in @st.  0, 1 where there is no pool (the caller skips,
 * BP_POOL_NEEDS), or -errno with *@what naming the step that failed.
 */
static inline int bp_io_pool_open(const struct bp_pool *pool, int *fd,
				  struct bufpool_stats *st, const char **what)
{
	int ret;

	*what = "pool setup";
	ret = bp_pool_setup(pool);
	if (ret == -ENODEV)
		return 1;
	if (ret)
		return ret;
	*what = "open " BP_DEV;
	*fd = bp_open(0);
	if (*fd < 0)
		return -errno;
	*what = "wait for the pool to be idle";
	ret = bp_wait_idle(*fd);
	if (ret)
		return ret < 0 ? ret : -EBUSY;
	*what = "STATS";
	ret = bp_stats(*fd, st);
	return ret < 0 ? ret : ret ? -EIO : 0;
}

/* How a buffer leaves its holder while I/O still holds its pages. */
enum bp_leave {
	BP_LEAVE_NONE,		/* it does not: the control */
	BP_LEAVE_RELEASE,	/* RELEASE, the mapping still there */
	BP_LEAVE_CLOSE,		/* munmap() and close() of the holder's fd */
	BP_LEAVE_KILL,		/* SIGKILL of the holding process */
};

/*
 * Make @b leave its holder @how: RELEASE on *@fd, munmap() and close *@fd
 * (which becomes -1), or SIGKILL @pid (not reaped).  0 or -errno.
 */
static inline int bp_io_leave(enum bp_leave how, int *fd, struct bp_iobuf *b,
			      pid_t pid)
{
	int ret;

	switch (how) {
	case BP_LEAVE_RELEASE:
		return bp_release(*fd, &b->id, 1);
	case BP_LEAVE_CLOSE:
		if (munmap(b->p, b->len))
			return -errno;
		ret = close(*fd) ? -errno : 0;
		*fd = -1;
		return ret;
	case BP_LEAVE_KILL:
		return kill(pid, SIGKILL) ? -errno : 0;
	default:
		return -EINVAL;
	}
}

/* What bp_take_all() took and found. */
struct bp_taken {
	unsigned int got;	/* buffers taken: their ids are ids[0..got) */
	unsigned int dirty;	/* of these, how many were not zeroed */
	__u32 dirty_id;		/* the first of those */
};

/*
 * Take up to @max buffers of @bs bytes on @fd, their ids into @ids, each
 * checked to read 0, then filled with bp_pattern(@seed) unless @seed is
 * negative, and unmapped (still held).
 */
static inline void bp_take_all(int fd, __u32 *ids, unsigned int max,
			       size_t bs, int seed, struct bp_taken *t)
{
	struct bp_iobuf nb;

	memset(t, 0, sizeof(*t));
	for (; t->got < max; t->got++) {
		if (bp_iobuf_get(&nb, BP_IO_POOL, fd, bs))
			break;
		ids[t->got] = nb.id;
		if (bp_nonzero(nb.p, bs) != bs && !t->dirty++)
			t->dirty_id = nb.id;
		if (seed >= 0)
			bp_pattern(nb.p, bs, (unsigned int)seed);
		bp_iobuf_put(&nb, false);
	}
}

/*
 * Of the @n buffers @ids held on @fd, how many no longer read
 * bp_pattern(@seed) (the first one's id and offset into *@id and *@at),
 * or -errno where one cannot be mapped.
 */
static inline int bp_count_changed(int fd, const __u32 *ids, unsigned int n,
				   size_t bs, unsigned int seed, __u32 *id,
				   size_t *at)
{
	unsigned int i;
	int changed = 0;

	for (i = 0; i < n; i++) {
		unsigned char *p = mmap(NULL, bs, PROT_READ, MAP_SHARED, fd,
					(off_t)ids[i] * (off_t)bs);
		size_t off;

		if (p == MAP_FAILED)
			return -errno;
		off = bp_pattern_diff(p, bs, seed);
		if (off != bs && !changed++) {
			*id = ids[i];
			*at = off;
		}
		munmap(p, bs);
	}
	return changed;
}

#endif /* _BUFPOOL_IO_UTIL_H */
