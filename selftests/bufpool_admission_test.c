// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool admission selftests: who may be served, who may wait, who may
 * use the reserve, whose quota a process is charged to, and who collects
 * a failed request.  Each test is what a hostile (or unlucky) user would
 * try:
 *  - an fd asks for what only its own buffers coming back could make room
 *    for: EDEADLK at once, and the class is not stalled behind it; a
 *    queued request that a tunable change makes so fails too; with
 *    user_quota set, the side that may not wait on itself is the user;
 *  - an fd that holds nothing takes the reserve (CRITICAL): EPERM, unless
 *    it was opened with CAP_SYS_RESOURCE;
 *  - the uids of a user namespace each get a quota: they share one, the
 *    one of the user who created the outermost namespace (or, for a
 *    namespace root created, one of its own);
 *  - another request collects the failure of a queued one: EBUSY.
 *
 * The test sets its own pool through sysfs (limit 16, reserve 2: headroom
 * CRITICAL 0, NORMAL 2, LOW 4) and puts the module's values back.  It runs
 * as root and drops privileges in children.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_sys_util.h"

#define LIMIT		16
#define RESERVE		2
#define QUOTA		6
#define LONG_NS		(60ULL * 1000000000ULL)
#define USERNS_CLONE	"/proc/sys/kernel/unprivileged_userns_clone"

/* child exit codes and result bytes that are not an errno */
#define E_SETUP		200

FIXTURE(adm) {
	struct bp_tunables saved;
	int fd;			/* root's, non-blocking */
	int userns_clone;	/* saved USERNS_CLONE, -1 if none */
};

static int set_pool(unsigned long long quota)
{
	struct bp_tunables t = {
		.limit = LIMIT, .reserve = RESERVE, .normal = RESERVE,
		.low = 2 * RESERVE, .quota = quota,
	};

	return bp_tunables_restore(&t);
}

static int read_int(const char *path)
{
	char buf[16] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC), n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoi(buf) : -1;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

FIXTURE_SETUP(adm)
{
	ASSERT_EQ(0, bp_tunables_save(&self->saved));
	self->fd = bp_open(O_NONBLOCK);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", BP_DEV, strerror(errno));
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	ASSERT_EQ(0, set_pool(0));
	ASSERT_EQ(0, bp_sysfs_write("policy", "handoff"));
	ASSERT_TRUE(bp_others_can_reach(BP_DEV)) TH_LOG("%s: %s", BP_DEV,
							BP_REACH_MSG);
	ASSERT_EQ(0, bp_dev_open_up());
	/* Debian's switch for user namespaces of unprivileged users */
	self->userns_clone = read_int(USERNS_CLONE);
	if (self->userns_clone == 0)
		ASSERT_EQ(0, write_str(USERNS_CLONE, "1"));
}

FIXTURE_TEARDOWN(adm)
{
	int fd;

	close(self->fd);
	fd = bp_open(0);
	bp_wait_idle(fd);
	close(fd);
	if (self->userns_clone == 0)
		write_str(USERNS_CLONE, "0");
	EXPECT_EQ(0, bp_tunables_restore(&self->saved));
	EXPECT_EQ(0, bp_dev_close_down());
}

/* Does this kernel have user namespaces (CONFIG_USER_NS)? */
static bool userns_available(void)
{
	return !access("/proc/self/ns/user", F_OK);
}

#define BP_NO_USERNS "kernel without user namespaces (CONFIG_USER_NS)"

/* Wait for a one-byte message from a child; -1 if none came. */
static int hear(int fd)
{
	return bp_get(fd, BP_PATIENCE_MS);
}

/*
 * The reproduction: an fd that holds most of the class asks for more than
 * is left once everyone else gave everything back.  Waiting could only end
 * with its own release; every later request of the class would wait
 * behind it while STATS shows free buffers.
 */
TEST_F(adm, one_fd_cannot_stall_its_class)
{
	struct bufpool_stats before, after;
	int other = bp_open(0);
	__u32 ids[64], one[1];

	ASSERT_LE(0, other);
	ASSERT_EQ(0, bp_try(self->fd, BP_NORM, 10, ids));
	ASSERT_EQ(0, bp_stats(self->fd, &before));
	/* 10 + 6 + headroom 2 > 16 */
	ASSERT_EQ(-EDEADLK, bp_alloc(self->fd, BP_NORM, 6, ids + 10));
	ASSERT_EQ(0, bp_stats(self->fd, &after));
	EXPECT_TRUE(bp_stats_same(&before, &after));
	EXPECT_EQ(0ULL, after.queued[BP_NORM]);
	EXPECT_EQ(6ULL, after.free);
	EXPECT_FALSE(bp_readable(self->fd, 0));

	/* the class moves: others are served from what is free */
	EXPECT_EQ(0, bp_try(other, BP_NORM, 1, one));
	EXPECT_EQ(0, bp_try(other, BP_LOW, 1, one));

	/* NOQUEUE, a blocking fd, CRITICAL: refused at once as well */
	EXPECT_EQ(-EDEADLK, bp_try(self->fd, BP_NORM, 6, ids + 10));
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, 0));
	EXPECT_EQ(-EDEADLK, bp_alloc_t(self->fd, BP_NORM, 6, 0, LONG_NS,
				       ids + 10));
	EXPECT_EQ(-EDEADLK, bp_alloc_t(self->fd, BP_CRIT, 7, 0, LONG_NS,
				       ids + 10));
	/* what it may get from others' releases it still waits for */
	EXPECT_EQ(-ETIMEDOUT, bp_alloc_t(self->fd, BP_NORM, 4, 0, 1000000,
					 ids + 10));
	ASSERT_EQ(0, bp_stats(self->fd, &after));
	EXPECT_EQ(12ULL, after.in_use);
	EXPECT_EQ(0ULL, bp_nr_queued(&after));
	close(other);
}

/*
 * A request that was fine when queued and that a tunable change leaves
 * servable only by its own fd's buffers fails (EDEADLK), and stops
 * holding up the one behind it.
 */
TEST_F(adm, queued_request_that_becomes_hopeless_fails)
{
	int hog = bp_open(0), behind = bp_open(O_NONBLOCK);
	__u32 ids[64], hids[4], one[1];

	ASSERT_LE(0, hog);
	ASSERT_LE(0, behind);
	ASSERT_EQ(0, bp_try(self->fd, BP_NORM, 8, ids));
	ASSERT_EQ(0, bp_try(hog, BP_NORM, 4, hids));
	/* 8 + 4 + 2 <= 16: it may wait for the hog */
	ASSERT_EQ(-EAGAIN, bp_alloc(self->fd, BP_NORM, 4, ids + 8));
	ASSERT_EQ(-EAGAIN, bp_alloc(behind, BP_NORM, 1, one));
	EXPECT_FALSE(bp_readable(self->fd, 0));

	/* headroom 5: 8 + 4 + 5 > 16, the hog's buffers no longer help */
	ASSERT_EQ(0, bp_sysfs_set("threshold_low", 5));
	ASSERT_EQ(0, bp_sysfs_set("threshold_normal", 5));
	ASSERT_TRUE(bp_readable(self->fd, BP_PATIENCE_MS));
	EXPECT_EQ(-EBUSY, bp_alloc(self->fd, BP_NORM, 1, one));
	EXPECT_EQ(-EDEADLK, bp_alloc(self->fd, BP_NORM, 4, ids + 8));
	EXPECT_FALSE(bp_readable(self->fd, 0));

	/* the hog gives back: the request behind is served */
	EXPECT_EQ(0, bp_release(hog, hids, 4));
	ASSERT_TRUE(bp_readable(behind, BP_PATIENCE_MS));
	EXPECT_EQ(0, bp_alloc(behind, BP_NORM, 1, one));
	close(behind);
	close(hog);
}

/*
 * Without user_quota, fds are independent entities even for one user:
 * one may wait for another's release (a worker pool, a pipeline), and the
 * class waits with it, as it would if the user simply held the buffers.
 */
TEST_F(adm, without_quota_fds_of_a_user_may_wait_on_each_other)
{
	int holder = bp_open(0), behind = bp_open(O_NONBLOCK);
	__u32 ids[64], hids[10], one[1];

	ASSERT_LE(0, holder);
	ASSERT_LE(0, behind);
	ASSERT_EQ(0, bp_try(holder, BP_NORM, 10, hids));
	ASSERT_EQ(-EAGAIN, bp_alloc(self->fd, BP_NORM, 6, ids));
	ASSERT_EQ(-EAGAIN, bp_alloc(behind, BP_NORM, 1, one));
	EXPECT_FALSE(bp_readable(behind, BP_QUIET_MS));
	EXPECT_EQ(0, bp_release(holder, hids, 2));
	ASSERT_TRUE(bp_readable(self->fd, BP_PATIENCE_MS));
	EXPECT_EQ(0, bp_alloc(self->fd, BP_NORM, 6, ids));
	EXPECT_EQ(0, bp_release(holder, hids + 2, 8));
	ASSERT_TRUE(bp_readable(behind, BP_PATIENCE_MS));
	EXPECT_EQ(0, bp_alloc(behind, BP_NORM, 1, one));
	close(behind);
	close(holder);
}

/*
 * With user_quota, the user is the side: two fds of one user cannot make
 * the class wait on that user's own buffers.
 */
TEST_F(adm, with_quota_a_user_cannot_wait_on_itself)
{
	int sync[2], go[2];
	__u32 one[1];
	pid_t pid;

	ASSERT_EQ(0, bp_sysfs_set("user_quota", LIMIT));
	ASSERT_EQ(0, pipe(sync));
	ASSERT_EQ(0, pipe(go));
	pid = bp_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		__u32 ids[64];
		int a, b, ret;

		close(sync[0]);
		close(go[1]);
		if (bp_become(BP_UID, BP_GID, 0, NULL))
			_exit(E_SETUP);
		a = bp_open(0);
		b = bp_open(O_NONBLOCK);
		if (a < 0 || b < 0 || bp_try(a, BP_NORM, 10, ids))
			_exit(E_SETUP + 1);
		ret = bp_alloc(b, BP_NORM, 6, ids + 10);
		bp_put(sync[1], (char)-ret);
		bp_get(go[0], -1);
		_exit(0);
	}
	close(sync[1]);
	close(go[0]);
	EXPECT_EQ(EDEADLK, hear(sync[0]));
	/* root is not held up by uid 1000's request */
	EXPECT_EQ(0, bp_try(self->fd, BP_NORM, 1, one));
	close(go[1]);
	EXPECT_EQ(0, bp_reap(pid));
	close(sync[0]);
}

/*
 * The bound, with user_quota: a queued request only ever waits for other
 * users' buffers.  Once its own user's holdings grow so that only they
 * could make room (here by CRITICAL buffers its other fd takes, which may
 * overtake it), it fails, and the request queued behind it is served.
 */
TEST_F(adm, queued_request_waits_only_for_other_users)
{
	int sync[2], go[2], behind = bp_open(O_NONBLOCK);
	__u32 hids[4], one[1];
	pid_t pid;

	ASSERT_LE(0, behind);
	ASSERT_EQ(0, bp_sysfs_set("user_quota", LIMIT));
	ASSERT_EQ(0, bp_try(self->fd, BP_NORM, 4, hids));
	ASSERT_EQ(0, pipe(sync));
	ASSERT_EQ(0, pipe(go));
	pid = bp_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		__u32 ids[64];
		int a, b, ret;

		close(sync[0]);
		close(go[1]);
		if (bp_become(BP_UID, BP_GID, 0, NULL))
			_exit(E_SETUP);
		a = bp_open(0);
		b = bp_open(O_NONBLOCK);
		if (a < 0 || b < 0 || bp_try(a, BP_NORM, 6, ids))
			_exit(E_SETUP + 1);
		/* 6 + 6 + 2 <= 16: waits for root's 4 */
		bp_put(sync[1], (char)-bp_alloc(b, BP_NORM, 6, ids + 6));
		if (bp_get(go[0], -1) != 'G')
			_exit(E_SETUP + 2);
		/* its response buffers: the user holds 9, 9 + 6 + 2 > 16 */
		bp_put(sync[1], (char)-bp_try(a, BP_CRIT, 3, ids + 12));
		if (!bp_readable(b, BP_PATIENCE_MS))
			_exit(E_SETUP + 3);
		ret = bp_alloc(b, BP_NORM, 6, ids + 6);
		bp_put(sync[1], (char)-ret);
		bp_get(go[0], -1);
		_exit(0);
	}
	close(sync[1]);
	close(go[0]);
	ASSERT_EQ(EAGAIN, hear(sync[0]));
	/* root queues behind uid 1000: 10 + 1 + 2 <= 16, but FIFO */
	ASSERT_EQ(-EAGAIN, bp_alloc(behind, BP_NORM, 1, one));
	EXPECT_FALSE(bp_readable(behind, BP_QUIET_MS));
	ASSERT_EQ(0, bp_put(go[1], 'G'));
	EXPECT_EQ(0, hear(sync[0]));
	EXPECT_EQ(EDEADLK, hear(sync[0]));
	/* in_use 13: 13 + 1 + 2 <= 16 */
	EXPECT_TRUE(bp_readable(behind, BP_PATIENCE_MS));
	EXPECT_EQ(0, bp_alloc(behind, BP_NORM, 1, one));
	close(go[1]);
	EXPECT_EQ(0, bp_reap(pid));
	close(sync[0]);
	close(behind);
}

/* An unprivileged fd may use the reserve only for buffers it holds. */
TEST_F(adm, critical_needs_held_buffers)
{
	struct bufpool_stats before, after;
	pid_t pid = bp_fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		__u32 n[2], c[2], one[1];
		int fd, other;

		if (bp_become(BP_UID, BP_GID, 0, NULL))
			_exit(E_SETUP);
		fd = bp_open(0);
		other = bp_open(0);
		if (fd < 0 || other < 0)
			_exit(E_SETUP + 1);
		if (bp_stats(fd, &before))
			_exit(E_SETUP + 2);
		/* holds nothing: no CRITICAL, queued or not */
		if (bp_try(fd, BP_CRIT, 1, one) != -EPERM)
			_exit(1);
		if (bp_alloc_t(fd, BP_CRIT, 1, 0, LONG_NS, one) != -EPERM)
			_exit(2);
		if (bp_stats(fd, &after) || !bp_stats_same(&before, &after))
			_exit(3);
		/* two request buffers: two response buffers, no more */
		if (bp_try(fd, BP_NORM, 2, n))
			_exit(E_SETUP + 3);
		if (bp_try(fd, BP_CRIT, 3, one) != -EPERM)
			_exit(4);
		if (bp_try(fd, BP_CRIT, 2, c))
			_exit(5);
		if (bp_try(fd, BP_CRIT, 1, one) != -EPERM)
			_exit(6);
		/* per fd: another fd of the same user holds nothing */
		if (bp_try(other, BP_CRIT, 1, one) != -EPERM)
			_exit(7);
		/* a response buffer given back may be taken again */
		if (bp_release(fd, c, 1) || bp_try(fd, BP_CRIT, 1, c))
			_exit(8);
		/* the request buffers given back: none until it holds more */
		if (bp_release(fd, n, 2) || bp_try(fd, BP_CRIT, 1, one) != -EPERM)
			_exit(9);
		_exit(0);
	}
	EXPECT_EQ(0, bp_reap(pid));
}

/*
 * The pool is full but for the reserve, and a NORMAL request waits: an fd
 * that holds nothing can neither drain the reserve nor jump the queue;
 * the session holding its request buffer gets its response buffer.
 */
TEST_F(adm, reserve_stays_for_holders)
{
	int sync[2], go[2], hog = bp_open(0), waiter = bp_open(O_NONBLOCK);
	__u32 ids[64], one[1];
	pid_t pid;

	ASSERT_LE(0, hog);
	ASSERT_LE(0, waiter);
	ASSERT_EQ(0, pipe(sync));
	ASSERT_EQ(0, pipe(go));
	pid = bp_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		__u32 req[1], resp[1], x[2];
		int session, thief;

		close(sync[0]);
		close(go[1]);
		if (bp_become(BP_UID, BP_GID, 0, NULL))
			_exit(E_SETUP);
		session = bp_open(0);
		thief = bp_open(0);
		if (session < 0 || thief < 0 || bp_try(session, BP_NORM, 1, req))
			_exit(E_SETUP + 1);
		bp_put(sync[1], 'R');
		if (bp_get(go[0], -1) != 'F')
			_exit(E_SETUP + 2);
		bp_put(sync[1], (char)-bp_alloc_t(thief, BP_CRIT, 2, 0,
						  LONG_NS, x));
		bp_put(sync[1], (char)-bp_try(session, BP_CRIT, 1, resp));
		bp_get(go[0], -1);
		_exit(0);
	}
	close(sync[1]);
	close(go[0]);
	ASSERT_EQ('R', hear(sync[0]));
	/* everything NORMAL may take: 1 + 13 = limit - reserve */
	ASSERT_EQ(0, bp_try(hog, BP_NORM, LIMIT - RESERVE - 1, ids));
	ASSERT_EQ(-EAGAIN, bp_alloc(waiter, BP_NORM, 1, one));
	ASSERT_EQ(0, bp_put(go[1], 'F'));
	EXPECT_EQ(EPERM, hear(sync[0]));
	EXPECT_EQ(0, hear(sync[0]));
	EXPECT_EQ(0, bp_wait_in_use(self->fd, LIMIT - RESERVE + 1,
				    BP_PATIENCE_MS));
	close(go[1]);
	EXPECT_EQ(0, bp_reap(pid));
	close(sync[0]);
	close(waiter);
	close(hog);
}

/* Drop CAP_SYS_RESOURCE from this (root) process. */
static int drop_sys_resource(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	unsigned int i = CAP_SYS_RESOURCE / 32;
	__u32 bit = 1u << (CAP_SYS_RESOURCE % 32);

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[i].effective &= ~bit;
	data[i].permitted &= ~bit;
	return syscall(SYS_capset, &hdr, data) ? -1 : 0;
}

/*
 * CAP_SYS_RESOURCE, as the opener had it, is the override: root without
 * it is bound by the rule, an fd opened with it keeps it in the hands of
 * an unprivileged process.
 */
TEST_F(adm, cap_sys_resource_at_open_is_the_override)
{
	__u32 one[1];
	pid_t pid;

	pid = bp_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd;

		if (drop_sys_resource())
			_exit(E_SETUP);
		fd = bp_open(0);
		if (fd < 0)
			_exit(E_SETUP + 1);
		_exit(bp_try(fd, BP_CRIT, 1, one) == -EPERM ? 0 : 1);
	}
	EXPECT_EQ(0, bp_reap(pid));

	pid = bp_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = bp_open(0);

		if (fd < 0 || bp_become(BP_UID, BP_GID, 0, NULL))
			_exit(E_SETUP);
		_exit(bp_try(fd, BP_CRIT, 1, one) ? 1 : 0);
	}
	EXPECT_EQ(0, bp_reap(pid));
	EXPECT_EQ(0, bp_try(self->fd, BP_CRIT, 1, one));
}

/*
 * In a user namespace: process i (uid i inside, i < n) opens the device
 * and takes counts[i] NORMAL buffers, from a user namespace nested in it
 * if bit i of @nest is set, and holds them until all have tried.  Writes
 * each result (0 or the errno, E_SETUP.. on a set-up failure) to @out.
 */
static int ns_takes(unsigned int n, const unsigned int *counts,
		    unsigned int nest, int out)
{
	int done[2], got[2];
	unsigned int i;
	pid_t pids[8];
	int ret = 0;

	if (pipe(done) || pipe(got))
		return E_SETUP;
	for (i = 0; i < n; i++) {
		pids[i] = bp_fork();
		if (pids[i] < 0)
			return E_SETUP;
		if (pids[i] == 0) {
			__u32 ids[64];
			int fd, r;

			close(done[1]);
			if (setresgid(i, i, i) || setresuid(i, i, i))
				_exit(bp_put(got[1], (char)E_SETUP));
			if (((nest >> i) & 1) && unshare(CLONE_NEWUSER))
				_exit(bp_put(got[1], (char)(E_SETUP + 1)));
			fd = bp_open(0);
			if (fd < 0)
				_exit(bp_put(got[1], (char)(E_SETUP + 2)));
			r = bp_try(fd, BP_NORM, counts[i], ids);
			bp_put(got[1], (char)-r);
			bp_get(done[0], -1);
			_exit(0);
		}
		bp_put(out, (char)bp_get(got[0], BP_PATIENCE_MS));
	}
	close(done[1]);
	for (i = 0; i < n; i++)
		if (bp_reap(pids[i]))
			ret = E_SETUP + 3;
	return ret;
}

/*
 * Run ns_takes() in a new user namespace created by @owner (0: root) with
 * uids and gids 0..65535 mapped to @base..; fill @res[0..n).  Returns the
 * namespace process's exit code (0: all ran).
 */
static int in_userns(uid_t owner, unsigned int base, unsigned int n,
		     const unsigned int *counts, unsigned int nest, int *res)
{
	int go[2], back[2], rc;
	char path[64], map[64];
	unsigned int i;
	pid_t pid;

	if (pipe(go) || pipe(back))
		return -1;
	pid = bp_fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(go[1]);
		close(back[0]);
		if (owner && bp_become(owner, owner, 0, NULL))
			_exit(E_SETUP);
		if (unshare(CLONE_NEWUSER))
			_exit(E_SETUP + 1);
		bp_put(back[1], 'U');
		if (bp_get(go[0], BP_PATIENCE_MS) != 'G')
			_exit(E_SETUP + 2);
		if (setresgid(0, 0, 0) || setresuid(0, 0, 0))
			_exit(E_SETUP + 3);
		_exit(ns_takes(n, counts, nest, back[1]));
	}
	close(go[0]);
	close(back[1]);
	rc = bp_get(back[0], BP_PATIENCE_MS) == 'U' ? 0 : -1;
	snprintf(map, sizeof(map), "0 %u 65536\n", base);
	snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
	if (!rc)
		rc = write_str(path, map);
	snprintf(path, sizeof(path), "/proc/%d/gid_map", pid);
	if (!rc)
		rc = write_str(path, map);
	if (!rc)
		bp_put(go[1], 'G');
	close(go[1]);
	for (i = 0; i < n && !rc; i++)
		res[i] = bp_get(back[0], BP_PATIENCE_MS);
	close(back[0]);
	i = bp_reap(pid);
	return rc ? rc : (int)i;
}

/*
 * A rootless container: uid 1000 creates a user namespace with 65536
 * subordinate uids.  Its processes, whatever their uid, and a namespace
 * nested in it, share uid 1000's quota with uid 1000's own processes.
 */
TEST_F(adm, rootless_container_shares_its_owner_quota)
{
	static const unsigned int counts[] = { 1, 1, 2, 1 };
	int sync[2], go[2], res[4];
	__u32 one[1];
	pid_t host;

	if (!userns_available())
		SKIP(return, BP_NO_USERNS);
	ASSERT_EQ(0, bp_sysfs_set("user_quota", QUOTA));
	ASSERT_EQ(0, pipe(sync));
	ASSERT_EQ(0, pipe(go));
	host = bp_fork();
	ASSERT_LE(0, host);
	if (host == 0) {
		__u32 ids[2];
		int fd;

		close(sync[0]);
		close(go[1]);
		if (bp_become(BP_UID, BP_GID, 0, NULL))
			_exit(E_SETUP);
		fd = bp_open(0);
		bp_put(sync[1], fd < 0 ? 'E' : '0' - bp_try(fd, BP_NORM, 2, ids));
		bp_get(go[0], -1);
		_exit(0);
	}
	close(sync[1]);
	close(go[0]);
	ASSERT_EQ('0', hear(sync[0]));

	/* 2 on the host + 1 + 1 + 2 = 6; the nested one's 1 is over */
	ASSERT_EQ(0, in_userns(BP_UID, 100000, 4, counts, 1u << 3, res));
	EXPECT_EQ(0, res[0]);
	EXPECT_EQ(0, res[1]);
	EXPECT_EQ(0, res[2]);
	EXPECT_EQ(EDQUOT, res[3]);
	/* another user is not charged for them */
	EXPECT_EQ(0, bp_try(self->fd, BP_NORM, 1, one));
	close(go[1]);
	EXPECT_EQ(0, bp_reap(host));
	close(sync[0]);
}

/*
 * A container root created: one account of its own, shared by all its
 * uids and nested namespaces, not root's.
 */
TEST_F(adm, root_created_container_is_one_account)
{
	static const unsigned int counts[] = { 2, 2, 2, 1 };
	__u32 ids[QUOTA];
	int res[4];

	if (!userns_available())
		SKIP(return, BP_NO_USERNS);
	ASSERT_EQ(0, bp_sysfs_set("user_quota", QUOTA));
	ASSERT_EQ(0, bp_try(self->fd, BP_NORM, QUOTA, ids));
	ASSERT_EQ(0, in_userns(0, 200000, 4, counts, 1u << 3, res));
	EXPECT_EQ(0, res[0]);
	EXPECT_EQ(0, res[1]);
	EXPECT_EQ(0, res[2]);
	EXPECT_EQ(EDQUOT, res[3]);
}

/*
 * A queued request fails (a lower limit makes it impossible); a different
 * request on the same fd, one that fits, must not collect that failure:
 * EBUSY, and only the request that failed collects it.
 */
TEST_F(adm, failed_request_is_collected_only_by_itself)
{
	struct bufpool_stats before, after;
	int hog = bp_open(0);
	__u32 ids[LIMIT], three[3], one[1];

	ASSERT_LE(0, hog);
	ASSERT_EQ(0, bp_try(hog, BP_CRIT, LIMIT, ids));
	ASSERT_EQ(-EAGAIN, bp_alloc(self->fd, BP_LOW, 3, three));
	/* limit 6: 3 + headroom 4 > 6, it can never be served */
	ASSERT_EQ(0, bp_sysfs_set("limit", 6));
	ASSERT_TRUE(bp_readable(self->fd, BP_PATIENCE_MS));
	ASSERT_EQ(0, bp_sysfs_set("limit", LIMIT));
	ASSERT_EQ(0, bp_release_all(hog, ids, LIMIT));

	ASSERT_EQ(0, bp_stats(self->fd, &before));
	EXPECT_EQ(-EBUSY, bp_alloc(self->fd, BP_CRIT, 1, one));
	EXPECT_EQ(-EBUSY, bp_alloc(self->fd, BP_LOW, 2, three));
	ASSERT_EQ(0, bp_stats(self->fd, &after));
	EXPECT_TRUE(bp_stats_same(&before, &after));
	EXPECT_TRUE(bp_readable(self->fd, 0));
	EXPECT_EQ(-ENOSPC, bp_alloc(self->fd, BP_LOW, 3, three));
	EXPECT_FALSE(bp_readable(self->fd, 0));
	EXPECT_EQ(0, bp_alloc(self->fd, BP_CRIT, 1, one));

	/* CANCEL forgets a failure too */
	ASSERT_EQ(0, bp_release(self->fd, one, 1));
	ASSERT_EQ(0, bp_try(hog, BP_CRIT, LIMIT, ids));
	ASSERT_EQ(-EAGAIN, bp_alloc(self->fd, BP_LOW, 3, three));
	ASSERT_EQ(0, bp_sysfs_set("limit", 6));
	ASSERT_TRUE(bp_readable(self->fd, BP_PATIENCE_MS));
	ASSERT_EQ(0, bp_sysfs_set("limit", LIMIT));
	EXPECT_EQ(0, bp_cancel(self->fd));
	ASSERT_EQ(0, bp_release_all(hog, ids, LIMIT));
	EXPECT_EQ(0, bp_alloc(self->fd, BP_CRIT, 1, one));
	close(hog);
}

TEST_HARNESS_MAIN
