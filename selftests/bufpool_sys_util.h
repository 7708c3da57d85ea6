/* SPDX-License-Identifier: GPL-2.0 */
/*
 * More helpers for the bufpool selftests, on top of bufpool_util.h: the
 * sysfs files under /sys/class/misc/bufpool (read, write, save and restore
 * the tunables), dropping to an unprivileged user in a child, opening the
 * device node to everyone for a test, and catching SIGBUS/SIGSEGV on a
 * memory access.
 */
#ifndef _BUFPOOL_SYS_UTIL_H
#define _BUFPOOL_SYS_UTIL_H

#include <grp.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "bufpool_util.h"

#define BP_SYSFS		"/sys/class/misc/" BUFPOOL_DEVICE_NAME
/* unprivileged users and a group the tests use; no passwd file needed */
#define BP_UID			1000
#define BP_UID2			1001
#define BP_GID			1000
#define BP_GID2			1001

/*
 * The @i-th file of BP_SYSFS/stats/, in the order of struct bufpool_stats;
 * NULL past the last.
 */
static inline const char *bp_stat_file(unsigned int i)
{
	static const char * const names[] = {
		"in_use", "free", "allocated", "queued_critical",
		"queued_normal", "queued_low", "allocations", "grants_waited",
		"wakeups", "spurious_wakeups", "releases",
		"page_alloc_failures", "peak_in_use", "peak_queued",
		"quarantined", "shrunk", "drains", NULL,
	};

	return names[i];
}

/* Read BP_SYSFS/@name into @buf (NUL-terminated): its length or -errno. */
static inline int bp_sysfs_str(const char *name, char *buf, size_t len)
{
	char path[320];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", BP_SYSFS, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	n = n < 0 ? -errno : n;
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return (int)n;
}

/* Read an unsigned value from BP_SYSFS/@name: 0 or -errno. */
static inline int bp_sysfs_read(const char *name, unsigned long long *v)
{
	char buf[64];
	int n = bp_sysfs_str(name, buf, sizeof(buf));

	if (n <= 0)
		return n ? n : -EIO;
	*v = strtoull(buf, NULL, 10);
	return 0;
}

/*
 * Write @val to the file @dir/@name, truncating it as the shell's ">"
 * does (tracefs's trace file is cleared that way): 0 or -errno (of
 * open() or write()).
 */
static inline int bp_write_file(const char *dir, const char *name,
				const char *val)
{
	char path[320];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

/* Write @val to BP_SYSFS/@name: 0 or -errno (of open() or write()). */
static inline int bp_sysfs_write(const char *name, const char *val)
{
	return bp_write_file(BP_SYSFS, name, val);
}

static inline int bp_sysfs_set(const char *name, unsigned long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", v);
	return bp_sysfs_write(name, buf);
}

/* A tunable, or ~0ULL if it cannot be read. */
static inline unsigned long long bp_sysfs_get(const char *name)
{
	char buf[64];

	return bp_sysfs_str(name, buf, sizeof(buf)) <= 0 ? ~0ULL :
	       strtoull(buf, NULL, 10);
}

/* The pool's stats/quarantined, or -1 where the pool has no such file. */
static inline long long bp_quarantined(void)
{
	unsigned long long v;

	return bp_sysfs_read("stats/quarantined", &v) ? -1 : (long long)v;
}

/* Wait for stats/quarantined to read @n: 0 or -ETIMEDOUT. */
static inline int bp_wait_quarantined(long long n)
{
	long long end = bp_now_ms() + BP_PATIENCE_MS;

	while (bp_quarantined() != n) {
		if (bp_now_ms() > end)
			return -ETIMEDOUT;
		bp_msleep(5);
	}
	return 0;
}

/* The writable tunables, in the order bp_tunables_restore() tries them. */
struct bp_tunables {
	unsigned long long limit, reserve, normal, low, quota;
};

static inline int bp_tunables_save(struct bp_tunables *t)
{
	if (bp_sysfs_read("limit", &t->limit) ||
	    bp_sysfs_read("reserve", &t->reserve) ||
	    bp_sysfs_read("threshold_normal", &t->normal) ||
	    bp_sysfs_read("threshold_low", &t->low) ||
	    bp_sysfs_read("user_quota", &t->quota))
		return -EIO;
	return 0;
}

static inline bool bp_tunables_equal(const struct bp_tunables *a,
				     const struct bp_tunables *b)
{
	return a->limit == b->limit && a->reserve == b->reserve &&
	       a->normal == b->normal && a->low == b->low &&
	       a->quota == b->quota;
}

/*
 * Set the widest limit the machine accepts: limit x bufsize within half
 * of MemTotal (ERANGE beyond), at most 65536; halved until accepted if
 * that guess is off.
 */
static inline void bp_sysfs_set_wide_limit(void)
{
	unsigned long long wide = 65536, kb = 0, pg = getpagesize(), bs;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "re");

	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
				break;
		fclose(f);
	}
	if (kb && !bp_sysfs_read("bufsize", &bs) && bs) {
		bs = (bs + pg - 1) / pg;
		if (kb * 1024 / pg / 2 / bs < wide)
			wide = kb * 1024 / pg / 2 / bs;
	}
	while (wide > 1 && bp_sysfs_set("limit", wide) == -ERANGE)
		wide /= 2;
}

/*
 * Put back what bp_tunables_save() read.  Each write must leave a
 * consistent set, so go through a wide limit and try the reserve and
 * thresholds a few times in turn.  Returns 0 once all read back equal.
 */
static inline int bp_tunables_restore(const struct bp_tunables *t)
{
	struct bp_tunables now;
	int pass;

	bp_sysfs_set("user_quota", t->quota);
	for (pass = 0; pass < 4; pass++) {
		if (!bp_tunables_save(&now) && bp_tunables_equal(&now, t))
			return 0;
		bp_sysfs_set_wide_limit();
		bp_sysfs_set("reserve", t->reserve);
		bp_sysfs_set("threshold_low", t->low);
		bp_sysfs_set("threshold_normal", t->normal);
		bp_sysfs_set("threshold_low", t->low);
		bp_sysfs_set("limit", t->limit);
	}
	return bp_tunables_save(&now) || !bp_tunables_equal(&now, t) ? -EIO : 0;
}

/*
 * Set limit and reserve (thresholds following the reserve) and the quota,
 * whatever the module was loaded with: 0 or -errno.
 */
static inline int bp_tunables_set(unsigned int limit, unsigned int reserve,
				  unsigned int quota)
{
	struct bp_tunables t = {
		.limit = limit,
		.reserve = reserve,
		.normal = reserve,
		.low = 2 * reserve < limit ? 2 * reserve : limit - 1,
		.quota = quota,
	};

	return bp_tunables_restore(&t);
}

/* The current policy's name (the bracketed word of BP_SYSFS/policy). */
static inline int bp_policy_get(char *name, size_t len)
{
	char buf[128], *open_br, *close_br;
	int n = bp_sysfs_str("policy", buf, sizeof(buf));

	if (n < 0)
		return n;
	open_br = strchr(buf, '[');
	close_br = open_br ? strchr(open_br, ']') : NULL;
	if (!close_br || (size_t)(close_br - open_br) > len)
		return -EIO;
	*close_br = '\0';
	snprintf(name, len, "%s", open_br + 1);
	return 0;
}

/*
 * The pool a test runs on, for FIXTURE_VARIANTs: limit and reserve (the
 * thresholds following the reserve), user_quota, and the policy by name
 * (NULL: the one found at start).  A zero limit is the pool as found
 * when the program started (what the module was loaded with, or what an
 * administrator set since).  Setup calls bp_pool_setup(), teardown
 * bp_pool_teardown(); both bring back the tunables found at start first,
 * so a test that failed half-way through its setup (the harness then
 * skips its teardown) leaves nothing behind for the next one, and the
 * program puts them back when it exits.
 */
struct bp_pool {
	unsigned int limit, reserve, quota;
	const char *policy;
};

/* What the tunables were when the program started, read before main(). */
static struct bp_tunables bp_start;
static char bp_start_policy[32];
static bool bp_start_saved;
static pid_t bp_start_pid;

static inline int bp_pool_put_back(void)
{
	if (!bp_start_saved)
		return -ENODEV;
	if (bp_sysfs_write("policy", bp_start_policy))
		return -EIO;
	return bp_tunables_restore(&bp_start);
}

/* The program's own exit only, not a forked child's. */
static void bp_pool_at_exit(void)
{
	if (getpid() == bp_start_pid)
		bp_pool_put_back();
}

__attribute__((constructor)) static void bp_pool_save_start(void)
{
	if (geteuid() || bp_tunables_save(&bp_start) ||
	    bp_policy_get(bp_start_policy, sizeof(bp_start_policy)))
		return;
	bp_start_saved = true;
	bp_start_pid = getpid();
	atexit(bp_pool_at_exit);
}

/*
 * Put the pool in @p's configuration: 0, or -errno (then the tunables
 * are those found at start, or as near as they could be brought back).
 * -ENODEV when they could not be read at start: not root, or no module.
 */
static inline int bp_pool_setup(const struct bp_pool *p)
{
	int ret = bp_pool_put_back();

	if (ret || !p->limit)
		return ret;
	ret = bp_tunables_set(p->limit, p->reserve, p->quota);
	if (!ret && p->policy && bp_sysfs_write("policy", p->policy))
		ret = -EINVAL;
	if (ret)
		bp_pool_put_back();
	return ret;
}

static inline int bp_pool_teardown(void)
{
	return bp_pool_put_back();
}

/* Why a test SKIPs when bp_pool_setup() says -ENODEV. */
#define BP_POOL_NEEDS	"needs root and " BP_SYSFS " (is the module loaded?)"

/* Become @uid/@gid with the @n supplementary groups @groups: 0 or -errno. */
static inline int bp_become(uid_t uid, gid_t gid, size_t n,
			    const gid_t *groups)
{
	if (setgroups(n, groups) || setresgid(gid, gid, gid) ||
	    setresuid(uid, uid, uid))
		return -errno;
	return 0;
}

/*
 * Can users other than root reach @path: is every directory on the way
 * searchable by others?  (An initramfs packed from a 0700 directory has a
 * 0700 "/", and then every absolute path is EACCES for them.)
 */
static inline bool bp_others_can_reach(const char *path)
{
	char dir[256];
	struct stat s;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	for (;;) {
		slash = strrchr(dir, '/');
		if (!slash)
			return true;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(dir, &s) || !(s.st_mode & 0001))
			return false;
		if (slash == dir)
			return true;
	}
}

#define BP_REACH_MSG "a directory on the way to it is not searchable by others: the VM's / must be 0755"

/*
 * The device node's owner and mode before a test changed them (udev may
 * have set a group and mode on a real machine), for bp_dev_close_down().
 */
static struct stat bp_dev_saved;
static bool bp_dev_was_saved;

static inline int bp_dev_save(void)
{
	if (stat(BP_DEV, &bp_dev_saved))
		return -errno;
	bp_dev_was_saved = true;
	return 0;
}

/* Open the device node to everyone (0666) for a test; 0 or -errno. */
static inline int bp_dev_open_up(void)
{
	if (!bp_dev_was_saved && bp_dev_save())
		return -errno;
	return chmod(BP_DEV, 0666) ? -errno : 0;
}

/*
 * Back to what bp_dev_save() found, else to what the module creates:
 * root:root 0600.
 */
static inline int bp_dev_close_down(void)
{
	uid_t uid = bp_dev_was_saved ? bp_dev_saved.st_uid : 0;
	gid_t gid = bp_dev_was_saved ? bp_dev_saved.st_gid : 0;
	mode_t mode = bp_dev_was_saved ? bp_dev_saved.st_mode & 07777 : 0600;

	if (chown(BP_DEV, uid, gid) || chmod(BP_DEV, mode))
		return -errno;
	return 0;
}

/*
 * Touch one byte at @p, reading or writing it: 0, or the signal
 * (SIGBUS, SIGSEGV) the access raised.  Not reentrant.
 */
static sigjmp_buf bp_touch_env;

static inline void bp_touch_handler(int sig)
{
	siglongjmp(bp_touch_env, sig);
}

static inline int bp_touch(char *p, bool write, char val,
			   char *read_back)
{
	struct sigaction sa = { .sa_handler = bp_touch_handler };
	struct sigaction old_bus, old_segv;
	int sig;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	sig = sigsetjmp(bp_touch_env, 1);
	if (!sig) {
		if (write)
			__atomic_store_n(p, val, __ATOMIC_RELAXED);
		else if (read_back)
			*read_back = __atomic_load_n(p, __ATOMIC_RELAXED);
		else
			__atomic_load_n(p, __ATOMIC_RELAXED);
	}
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return sig;
}

static inline int bp_read_at(char *p)
{
	return bp_touch(p, false, 0, NULL);
}

static inline int bp_write_at(char *p, char val)
{
	return bp_touch(p, true, val, NULL);
}

#endif /* _BUFPOOL_SYS_UTIL_H */
