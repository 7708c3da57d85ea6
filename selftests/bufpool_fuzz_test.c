// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool hostile-input fuzzer.  Several processes, as unprivileged users
 * (uid 1000 and 1001), throw a seeded random mix at /dev/bufpool: valid
 * and invalid ioctl numbers, sizes, flags, classes, counts and ids;
 * argument pointers that are NULL, unmapped, read-only, straddle into an
 * inaccessible page or point into the kernel, or into a buffer mapping;
 * mmap/mremap/munmap/madvise at random offsets with random flags,
 * touching what got mapped; vmsplice() of mapped ranges into a pipe that
 * is drained only now and then (the pipe holds the pages past their
 * release: the quarantine), process_vm_readv() of them (get_user_pages());
 * poll; close and reopen; dup; fork.  Each
 * worker has a racer: a second process sharing its file table (clone
 * with CLONE_FILES) that releases, at random moments, ids the worker
 * holds.  An interval timer interrupts blocking calls.  Errors must be
 * among the documented ones, and isolation must hold: a buffer just
 * allocated reads zero (or SIGBUS once the racer gave it back), a child
 * never inherits a mapping (SIGSEGV, or SIGBUS for a copy MADV_DOFORK let
 * through).
 *
 * Afterwards, with every fd and pipe closed: nothing in use, quarantined
 * or queued, the counters consistent; the runner then checks dmesg and that the module
 * unloads.
 *
 *   bufpool_fuzz_test [--calls N] [--seed S] [--procs P]
 *
 * Defaults: 25000 calls in all (BUFPOOL_FUZZ_CALLS), seed 1
 * (BUFPOOL_FUZZ_SEED), 4 processes.  The full run is --calls 1000000.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/uio.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_sys_util.h"

#define NFDS		4
#define NMAPS		8
#define NHELD		64
#define MAX_PROCS	32

static unsigned long long fuzz_calls = 25000;
static unsigned long long fuzz_seed = 1;
static unsigned int fuzz_procs = 4;

/* What the workers report, in shared memory. */
struct fuzz_report {
	unsigned long long calls;
	unsigned long long ok;
	unsigned long long bad_errno;
	unsigned long long leaks;	/* isolation broken */
	unsigned long long racer_released;
	unsigned int bad_cmd;
	int bad_err;
	int bad_op;
	int leak_op;
};

/* What a worker holds, shared with its racer. */
struct fuzz_held {
	__u32 ids[NFDS][NHELD];
	unsigned int n[NFDS];
	int stop;
};

struct fuzz {
	unsigned long long rng;
	struct fuzz_report *rep;
	size_t bs;
	int fd[NFDS];
	struct fuzz_held *h;	/* shared with the racer */
	struct {
		char *addr;
		size_t len;
	} map[NMAPS];
	char *arg;		/* 2 pages, read-write */
	char *edge;		/* last bytes of a page before a PROT_NONE one */
	char *ro;		/* a read-only page */
	char *gone;		/* an unmapped page */
	int pipe[2];		/* non-blocking, for vmsplice() */
	bool child;
};

static unsigned long long rnd(struct fuzz *f)
{
	/* xorshift64* */
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return f->rng * 2685821657736338717ULL;
}

static unsigned int below(struct fuzz *f, unsigned int n)
{
	return (unsigned int)(rnd(f) % n);
}

enum {
	OP_IOCTL = 1, OP_MMAP, OP_MUNMAP, OP_POLL, OP_OPEN, OP_MREMAP,
	OP_MADVISE, OP_FRESH, OP_FORK, OP_VMSPLICE, OP_GUP,
};

/* Isolation broken: a failure whatever the errno. */
static void leak(struct fuzz *f, int op)
{
	if (!f->rep->leaks)
		f->rep->leak_op = op;
	f->rep->leaks++;
}

static void note(struct fuzz *f, int op, unsigned int cmd, int ret,
		 const int *allowed)
{
	f->rep->calls++;
	if (ret >= 0) {
		f->rep->ok++;
		return;
	}
	if (!allowed)		/* not ours to judge: only no crash */
		return;
	for (; *allowed; allowed++)
		if (*allowed == errno)
			return;
	if (!f->rep->bad_errno) {
		f->rep->bad_op = op;
		f->rep->bad_cmd = cmd;
		f->rep->bad_err = errno;
	}
	f->rep->bad_errno++;
}

static const int ioctl_errs[] = {
	ENOTTY, EFAULT, EINVAL, E2BIG, EAGAIN, EBUSY, ENOSPC, EDQUOT,
	ETIMEDOUT, EINTR, ENOENT, EPERM, EBADF, EDEADLK, ECANCELED, 0,
};

static const int mmap_errs[] = {
	EINVAL, EACCES, ENOMEM, EOVERFLOW, EBADF, EINTR, 0,
};

/* An argument pointer: mostly good, sometimes hostile. */
static void *pick_ptr(struct fuzz *f, size_t len)
{
	switch (below(f, 12)) {
	case 0:
		return NULL;
	case 1:
		return f->gone;
	case 2:
		return f->ro;
	case 3:
		return f->edge - (len > 8 ? len / 2 : 4);
	case 4:
		return (void *)0xffffffff81000000UL;
	case 5:
		return (void *)(uintptr_t)rnd(f);
	case 6:
		return f->arg + 1;
	default:
		return f->arg;
	}
}

static __u32 pick_id(struct fuzz *f, int slot)
{
	if (f->h->n[slot] && below(f, 4))
		return f->h->ids[slot][below(f, f->h->n[slot])];
	if (below(f, 2))
		return below(f, 80);
	return (__u32)rnd(f);
}

static void forget_ids(struct fuzz *f, int slot, const __u32 *ids,
		       unsigned int n)
{
	unsigned int i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < f->h->n[slot]; j++) {
			if (f->h->ids[slot][j] == ids[i]) {
				f->h->ids[slot][j] =
					f->h->ids[slot][--f->h->n[slot]];
				break;
			}
		}
	}
}

static __u32 pick_size(struct fuzz *f, __u32 good)
{
	switch (below(f, 10)) {
	case 0:
		return below(f, good);
	case 1:
		return good + 8 * (1 + below(f, 8));
	case 2:
		return 4096 + below(f, 3);
	case 3:
		return (__u32)rnd(f);
	default:
		return good;
	}
}

/* Somewhere near the end of a buffer mapping, or NULL if none. */
static void *pick_in_map(struct fuzz *f)
{
	int m = below(f, NMAPS);

	if (!f->map[m].addr)
		return NULL;
	return f->map[m].addr + f->map[m].len - 4 * below(f, 4);
}

/*
 * A buffer just allocated: mapped, it must read zero, or SIGBUS once the
 * racer has given it back.  Anything else is another holder's data.  Then
 * leave a mark for the next holder to not see.
 */
static void check_fresh(struct fuzz *f, int slot, __u32 id)
{
	char *p, c = 0;
	size_t off;
	int sig;

	p = mmap(NULL, f->bs, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd[slot],
		 (off_t)id * f->bs);
	note(f, OP_FRESH, 0, p == MAP_FAILED ? -1 : 0, mmap_errs);
	if (p == MAP_FAILED)
		return;		/* the racer was faster */
	off = below(f, 2) ? 0 : f->bs - 1 - below(f, (unsigned int)f->bs);
	sig = bp_touch(p + off, false, 0, &c);
	if ((sig && sig != SIGBUS) || (!sig && c))
		leak(f, OP_FRESH);
	if (!sig)
		bp_write_at(p + off, (char)(1 + below(f, 255)));
	munmap(p, f->bs);
}

static void do_ioctl(struct fuzz *f)
{
	int slot = below(f, NFDS), fd = f->fd[slot];
	struct bufpool_alloc *a = (void *)f->arg;
	struct bufpool_release *r = (void *)f->arg;
	__u32 *ids = (__u32 *)(f->arg + 2048);
	unsigned int cmd, nr, i, count;
	bool valid = below(f, 3) != 0;
	void *ptr = f->arg;
	int ret;

	memset(f->arg, 0, 8192);
	nr = below(f, 7);
	switch (below(f, 16)) {
	case 0:		/* anything */
		cmd = (unsigned int)rnd(f);
		if (_IOC_TYPE(cmd) != BUFPOOL_IOC_MAGIC) {
			/* other subsystems' generic ioctls: only no crash */
			ret = ioctl(fd, cmd, pick_ptr(f, 64));
			note(f, OP_IOCTL, cmd, ret, NULL);
			return;
		}
		break;
	case 1:		/* our magic, random direction and size */
		cmd = _IOC(below(f, 4), BUFPOOL_IOC_MAGIC, nr, below(f, 256));
		break;
	default:
		cmd = _IOWR(BUFPOOL_IOC_MAGIC, nr, struct bufpool_alloc);
		break;
	}

	switch (_IOC_NR(cmd)) {
	case _IOC_NR(BUFPOOL_IOC_ALLOC):
		count = below(f, 8) ? 1 + below(f, 4) : below(f, 70);
		a->size = valid ? sizeof(*a) : pick_size(f, sizeof(*a));
		a->flags = valid ? (below(f, 2) ? BUFPOOL_ALLOC_NOQUEUE : 0) :
				   (__u32)rnd(f) & 0x3;
		a->alloc_class = valid ? below(f, 3) : below(f, 5);
		a->count = count;
		a->timeout_ns = below(f, 4) ? 1000000ULL * (1 + below(f, 3)) :
					      0;
		a->ids_ptr = bp_ptr(below(f, 6) ? ids : pick_ptr(f, 4 * count));
		if (!below(f, 8))
			a->ids_ptr = bp_ptr(pick_in_map(f));
		if (!valid && !below(f, 3))
			a->__reserved[below(f, 2)] = 1;
		break;
	case _IOC_NR(BUFPOOL_IOC_RELEASE):
		count = below(f, 8) ? 1 + below(f, 3) : below(f, 70);
		r->size = valid ? sizeof(*r) : pick_size(f, sizeof(*r));
		r->count = count;
		for (i = 0; i < count && i < 64; i++)
			ids[i] = pick_id(f, slot);
		if (!below(f, 10) && count > 1)
			ids[1] = ids[0];
		r->ids_ptr = bp_ptr(below(f, 6) ? ids : pick_ptr(f, 4 * count));
		if (!valid && !below(f, 3))
			r->flags = 1;
		break;
	default:	/* INFO, CANCEL, STATS, unknown numbers */
		*(__u32 *)f->arg = valid ? 64 + 8 * 20 : pick_size(f, 24);
		if (_IOC_NR(cmd) == _IOC_NR(BUFPOOL_IOC_INFO) && valid)
			*(__u32 *)f->arg = sizeof(struct bufpool_info);
		if (_IOC_NR(cmd) == _IOC_NR(BUFPOOL_IOC_CANCEL) && valid)
			*(__u32 *)f->arg = sizeof(struct bufpool_cancel);
		if (_IOC_NR(cmd) == _IOC_NR(BUFPOOL_IOC_STATS) && valid)
			*(__u32 *)f->arg = sizeof(struct bufpool_stats);
		if (!valid && !below(f, 3))
			f->arg[4] = 1;	/* flags */
		break;
	}
	if (!below(f, 8))
		ptr = pick_ptr(f, 128);

	ret = ioctl(fd, cmd, ptr);
	note(f, OP_IOCTL, cmd, ret, ioctl_errs);
	if (ret || ptr != f->arg || cmd != BUFPOOL_IOC_ALLOC)
		goto released;
	if ((void *)(uintptr_t)a->ids_ptr != ids)
		return;		/* the ids landed elsewhere */
	for (i = 0; i < a->count && f->h->n[slot] < NHELD; i++)
		f->h->ids[slot][f->h->n[slot]++] = ids[i];
	if (!below(f, 4))
		check_fresh(f, slot, ids[below(f, a->count)]);
	return;
released:
	if (!ret && _IOC_NR(cmd) == _IOC_NR(BUFPOOL_IOC_RELEASE) &&
	    ptr == f->arg && (void *)(uintptr_t)r->ids_ptr == ids)
		forget_ids(f, slot, ids, r->count);
}

static void do_mmap(struct fuzz *f)
{
	int slot = below(f, NFDS), m = below(f, NMAPS);
	size_t pg = getpagesize(), len;
	off_t off;
	char *p;
	size_t i;

	if (f->map[m].addr)
		return;
	len = below(f, 4) ? f->bs * (1 + below(f, 2)) : pg * (1 + below(f, 16));
	off = (off_t)pick_id(f, slot) * f->bs;
	if (!below(f, 6))
		off += pg * below(f, 4);
	if (!below(f, 20))
		off += below(f, (unsigned int)pg);
	p = mmap(NULL, len, below(f, 4) ? PROT_READ | PROT_WRITE : PROT_READ,
		 below(f, 6) ? MAP_SHARED : MAP_PRIVATE, f->fd[slot], off);
	note(f, OP_MMAP, 0, p == MAP_FAILED ? -1 : 0, mmap_errs);
	if (p == MAP_FAILED)
		return;
	f->map[m].addr = p;
	f->map[m].len = len;
	for (i = 0; i < 3; i++)
		bp_touch(p + below(f, (unsigned int)len), false, 0, NULL);
}

static void do_munmap(struct fuzz *f)
{
	int m = below(f, NMAPS);

	if (!f->map[m].addr)
		return;
	if (below(f, 2))
		bp_write_at(f->map[m].addr, (char)rnd(f));
	note(f, OP_MUNMAP, 0, munmap(f->map[m].addr, f->map[m].len),
	     NULL);
	f->map[m].addr = NULL;
}

static const int mremap_errs[] = { EINVAL, EFAULT, ENOMEM, EAGAIN, 0 };

/* Move, shrink or try to grow a mapping; sometimes over another one. */
static void do_mremap(struct fuzz *f)
{
	int m = below(f, NMAPS), o = below(f, NMAPS);
	size_t pg = getpagesize(), len;
	char *p;

	if (!f->map[m].addr)
		return;
	len = f->map[m].len;
	switch (below(f, 4)) {
	case 0:		/* shrink in place */
		len = len > pg ? len - pg : len;
		p = mremap(f->map[m].addr, f->map[m].len, len, 0);
		break;
	case 1:		/* grow: VM_DONTEXPAND refuses */
		p = mremap(f->map[m].addr, len, len + pg, MREMAP_MAYMOVE);
		if (p != MAP_FAILED)
			len += pg;
		break;
	case 2:		/* over another mapping */
		if (o != m && f->map[o].addr && f->map[o].len >= len) {
			p = mremap(f->map[m].addr, len, len,
				   MREMAP_MAYMOVE | MREMAP_FIXED,
				   f->map[o].addr);
			if (p != MAP_FAILED) {
				munmap(f->map[o].addr + len,
				       f->map[o].len - len);
				f->map[o].addr = NULL;
			}
			break;
		}
		p = mremap(f->map[m].addr, len, len, MREMAP_MAYMOVE);
		break;
	default:	/* anywhere else */
		p = mremap(f->map[m].addr, len, len, MREMAP_MAYMOVE);
		break;
	}
	note(f, OP_MREMAP, 0, p == MAP_FAILED ? -1 : 0, mremap_errs);
	if (p == MAP_FAILED)
		return;
	f->map[m].addr = p;
	f->map[m].len = len;
	bp_touch(p + below(f, (unsigned int)len), false, 0, NULL);
}

static const int madv[] = {
	MADV_DOFORK, MADV_DONTFORK, MADV_DONTNEED, MADV_WILLNEED,
	MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_DONTDUMP, MADV_DODUMP,
	MADV_FREE, MADV_REMOVE, MADV_COLD, MADV_PAGEOUT, MADV_NORMAL,
	MADV_RANDOM, MADV_SEQUENTIAL, MADV_MERGEABLE, MADV_HUGEPAGE,
};

static void do_madvise(struct fuzz *f)
{
	int m = below(f, NMAPS);
	int advice = madv[below(f, ARRAY_SIZE(madv))];
	int ret;

	if (!f->map[m].addr)
		return;
	ret = madvise(f->map[m].addr, f->map[m].len, advice);
	note(f, OP_MADVISE, advice, ret, NULL);
	bp_touch(f->map[m].addr, false, 0, NULL);
}

static const int splice_errs[] = {
	EFAULT, EAGAIN, EINVAL, ENOMEM, EINTR, 0,
};

/* A range of a mapping, maybe running off its end. */
static size_t pick_range(struct fuzz *f, int m, char **p)
{
	size_t off = below(f, (unsigned int)f->map[m].len);

	*p = f->map[m].addr + off;
	return 1 + below(f, below(f, 4) ? (unsigned int)(f->map[m].len - off) :
				       (unsigned int)(2 * f->map[m].len));
}

/*
 * Splice a mapped range into the pipe: the pipe takes references on the
 * pages, which may outlive the buffer's release (the racer's, a RELEASE,
 * a close).  Drained now and then.
 */
static void do_vmsplice(struct fuzz *f)
{
	static const unsigned int flags[] = {
		0, SPLICE_F_NONBLOCK, SPLICE_F_GIFT, SPLICE_F_MORE,
	};
	int m = below(f, NMAPS);
	struct iovec iov;
	char buf[4096], *p;

	if (f->pipe[1] < 0)
		return;
	if (f->map[m].addr) {
		iov.iov_len = pick_range(f, m, &p);
		iov.iov_base = p;
		note(f, OP_VMSPLICE, 0,
		     vmsplice(f->pipe[1], &iov, 1,
			      flags[below(f, ARRAY_SIZE(flags))]),
		     splice_errs);
	}
	if (!below(f, 3))
		while (read(f->pipe[0], buf, sizeof(buf)) > 0)
			;
}

static const int gup_errs[] = { EFAULT, ENOMEM, EINTR, 0 };

/*
 * get_user_pages() of a mapped range, as a debugger would read it; not
 * on a kernel without process_vm_readv() (no CONFIG_CROSS_MEMORY_ATTACH,
 * the debug lane), whose answer is not the module's.
 */
static void do_gup(struct fuzz *f)
{
	static int have = -1;
	int m = below(f, NMAPS);
	struct iovec local = { .iov_base = f->arg }, remote;
	char *p;

	if (have < 0)
		have = !process_vm_readv(getpid(), NULL, 0, NULL, 0, 0);
	if (!have || !f->map[m].addr)
		return;
	remote.iov_len = pick_range(f, m, &p);
	remote.iov_base = p;
	local.iov_len = remote.iov_len < 2 * 4096 ? remote.iov_len : 2 * 4096;
	note(f, OP_GUP, 0,
	     process_vm_readv(getpid(), &local, 1, &remote, 1, 0), gup_errs);
}

static void do_reopen(struct fuzz *f)
{
	int slot = below(f, NFDS), other = below(f, NFDS), fd;

	close(f->fd[slot]);
	f->h->n[slot] = 0;
	if (other != slot && !below(f, 4)) {
		fd = dup(f->fd[other]);	/* the same entity */
		memcpy(f->h->ids[slot], f->h->ids[other],
		       sizeof(f->h->ids[slot]));
		f->h->n[slot] = f->h->n[other];
	} else {
		fd = bp_open(below(f, 2) ? O_NONBLOCK : 0);
	}
	note(f, OP_OPEN, 0, fd, NULL);
	f->fd[slot] = fd;
}

static void do_poll(struct fuzz *f)
{
	struct pollfd pfd[NFDS];
	int i;

	for (i = 0; i < NFDS; i++) {
		pfd[i].fd = f->fd[i];
		pfd[i].events = POLLIN | POLLOUT | POLLPRI;
	}
	note(f, OP_POLL, 0, poll(pfd, NFDS, below(f, 4) ? 0 : 1), ioctl_errs);
}

static void one_op(struct fuzz *f);

static void on_alarm(int sig)
{
}

/* SIGALRM every 3 ms, no SA_RESTART: blocking calls end with EINTR. */
static void start_interrupts(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = {
		.it_interval = { .tv_usec = 3000 },
		.it_value = { .tv_usec = 3000 },
	};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}

static void do_fork(struct fuzz *f)
{
	unsigned int i;
	pid_t pid;

	if (f->child)
		return;
	pid = fork();
	f->rep->calls++;
	if (pid == 0) {
		f->child = true;
		f->rng ^= (unsigned long long)getpid() << 32;
		/*
		 * Nothing mapped in the parent may be reachable here: not
		 * copied, or (MADV_DOFORK) a copy cut off from the buffer.
		 */
		for (i = 0; i < NMAPS; i++) {
			int sig = f->map[i].addr ?
				  bp_touch(f->map[i].addr, false, 0, NULL) :
				  SIGSEGV;

			if (sig != SIGSEGV && sig != SIGBUS)
				leak(f, OP_FORK);
			f->map[i].addr = NULL;
		}
		start_interrupts();
		for (i = 0; i < 20; i++)
			one_op(f);
		_exit(0);
	}
	if (pid > 0)
		bp_reap(pid);
}

static void one_op(struct fuzz *f)
{
	unsigned int r = below(f, 100);

	if (r < 50)
		do_ioctl(f);
	else if (r < 64)
		do_mmap(f);
	else if (r < 72)
		do_munmap(f);
	else if (r < 77)
		do_mremap(f);
	else if (r < 81)
		do_madvise(f);
	else if (r < 84)
		do_vmsplice(f);
	else if (r < 86)
		do_gup(f);
	else if (r < 88)
		do_poll(f);
	else if (r < 97)
		do_reopen(f);
	else if (r < 98)
		do_fork(f);
	else
		do_ioctl(f);
}

/*
 * The racer: shares the worker's file table, so its fds are the worker's
 * (the same entities, even after a reopen), and gives back, now and then,
 * an id the worker believes it holds, or a pair of them.
 */
struct racer_arg {
	struct fuzz_held *h;
	struct fuzz_report *rep;
	int *fd;
	unsigned long long rng;
};

static int racer(void *arg)
{
	struct racer_arg *ra = arg;
	struct fuzz f = { .rng = ra->rng };
	struct fuzz_held *h = ra->h;
	__u32 ids[2];
	unsigned int slot, n;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED)) {
		slot = below(&f, NFDS);
		n = __atomic_load_n(&h->n[slot], __ATOMIC_RELAXED);
		if (!n || n > NHELD) {
			usleep(1000);
			continue;
		}
		ids[0] = h->ids[slot][below(&f, n)];
		ids[1] = h->ids[slot][below(&f, n)];
		if (!bp_release(ra->fd[slot], ids, 1 + below(&f, 2)))
			__atomic_add_fetch(&ra->rep->racer_released, 1,
					   __ATOMIC_RELAXED);
		/* at random moments, but leave the CPU to the workers */
		usleep(200 + below(&f, 2000));
	}
	return 0;
}

static pid_t start_racer(struct racer_arg *ra)
{
	size_t len = 256 * 1024;
	char *stack = mmap(NULL, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (stack == MAP_FAILED)
		return -1;
	return clone(racer, stack + len, CLONE_FILES | SIGCHLD, ra);
}

static int worker(struct fuzz_report *rep, unsigned int n, size_t bs,
		  unsigned long long calls)
{
	size_t pg = getpagesize();
	struct fuzz f = {
		.rng = (fuzz_seed + 1) * 0x9e3779b97f4a7c15ULL + n,
		.rep = rep,
		.bs = bs,
	};
	struct racer_arg ra;
	char *pages;
	pid_t racer_pid;
	int i;

	if (bp_become(n % 2 ? BP_UID2 : BP_UID, n % 2 ? BP_GID2 : BP_GID, 0,
		      NULL))
		return 1;
	pages = mmap(NULL, 6 * pg, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pages == MAP_FAILED)
		return 2;
	/* 2 pages of arguments, a spare, PROT_NONE, read-only, unmapped */
	f.arg = pages;
	f.edge = pages + 3 * pg;
	f.ro = pages + 4 * pg;
	f.gone = pages + 5 * pg;
	mprotect(f.edge, pg, PROT_NONE);
	mprotect(f.ro, pg, PROT_READ);
	munmap(f.gone, pg);
	f.h = mmap(NULL, sizeof(*f.h), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (f.h == MAP_FAILED)
		return 2;
	if (pipe2(f.pipe, O_NONBLOCK))
		return 2;
	for (i = 0; i < NFDS; i++)
		f.fd[i] = bp_open(i % 2 ? O_NONBLOCK : 0);
	if (f.fd[0] < 0)
		return 3;
	ra = (struct racer_arg) {
		.h = f.h, .rep = rep, .fd = f.fd, .rng = f.rng ^ 0x5bd1e995,
	};
	racer_pid = start_racer(&ra);
	if (racer_pid < 0)
		return 4;

	start_interrupts();
	while (rep->calls < calls)
		one_op(&f);
	__atomic_store_n(&f.h->stop, 1, __ATOMIC_RELAXED);
	return bp_reap(racer_pid) ? 5 : 0;
}

FIXTURE(fuzz) {
	int fd;
	struct bufpool_stats st;
	struct bp_tunables saved;
};

/*
 * The pool as found (the module's parameters), and a small one with a
 * quota, where the fuzzer's users also meet EDQUOT.
 */
FIXTURE_VARIANT(fuzz) {
	struct bp_pool pool;
};

FIXTURE_VARIANT_ADD(fuzz, loaded) {
	.pool = { .limit = 0 },
};

FIXTURE_VARIANT_ADD(fuzz, small_quota) {
	.pool = { .limit = 16, .reserve = 2, .quota = 8 },
};

FIXTURE_SETUP(fuzz)
{
	int ret;

	ret = bp_pool_setup(&variant->pool);
	if (ret == -ENODEV)
		SKIP(return, BP_POOL_NEEDS);
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, bp_tunables_save(&self->saved));
	self->fd = bp_open(0);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", BP_DEV, strerror(errno));
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	ASSERT_EQ(0, bp_stats(self->fd, &self->st));
	ASSERT_TRUE(bp_others_can_reach(BP_DEV)) TH_LOG("%s: %s", BP_DEV,
							BP_REACH_MSG);
	ASSERT_EQ(0, bp_dev_open_up());
}

FIXTURE_TEARDOWN(fuzz)
{
	close(self->fd);
	EXPECT_EQ(0, bp_dev_close_down());
	EXPECT_EQ(0, bp_tunables_restore(&self->saved));
	EXPECT_EQ(0, bp_pool_teardown());
}

TEST_F_TIMEOUT(fuzz, hostile_input, 3600)
{
	unsigned int i, n = fuzz_procs;
	unsigned long long total = 0, ok = 0, bad = 0, raced = 0;
	struct fuzz_report *rep;
	struct bufpool_stats a, b;
	pid_t pid[MAX_PROCS];
	long long t0, ms;

	rep = mmap(NULL, n * sizeof(*rep), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, rep);
	memset(rep, 0, n * sizeof(*rep));
	ASSERT_EQ(0, bp_stats(self->fd, &a));

	t0 = bp_now_ms();
	for (i = 0; i < n; i++) {
		pid[i] = bp_fork();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0)
			_exit(worker(&rep[i], i, self->st.bufsize,
				     fuzz_calls / n));
	}
	for (i = 0; i < n; i++)
		EXPECT_EQ(0, bp_reap(pid[i])) TH_LOG("worker %u", i);
	ms = bp_now_ms() - t0;

	for (i = 0; i < n; i++) {
		total += rep[i].calls;
		ok += rep[i].ok;
		bad += rep[i].bad_errno;
		raced += rep[i].racer_released;
		EXPECT_EQ(0ULL, rep[i].leaks)
			TH_LOG("worker %u: op %d: isolation broken %llu times",
			       i, rep[i].leak_op, rep[i].leaks);
		EXPECT_EQ(0ULL, rep[i].bad_errno)
			TH_LOG("worker %u: op %d cmd %#x: unexpected errno %d (%s)",
			       i, rep[i].bad_op, rep[i].bad_cmd,
			       rep[i].bad_err, strerror(rep[i].bad_err));
	}
	ksft_print_msg("fuzz: seed %llu, %u processes, %llu calls (%llu ok)\n",
		       fuzz_seed, n, total, ok);
	ksft_print_msg("fuzz: the racers released %llu times\n", raced);
	ksft_print_msg("fuzz: %lld ms, %lld calls/s\n", ms,
		       ms ? (long long)(total * 1000 / ms) : 0);

	/* every fd and pipe is closed: nothing in use, quarantined, queued */
	EXPECT_EQ(0, bp_wait_idle(self->fd));
	ASSERT_EQ(0, bp_stats(self->fd, &b));
	EXPECT_EQ(0ULL, b.quarantined);
	ksft_print_msg("fuzz: allocations %llu, waited %llu, wake-ups %llu\n",
		       b.allocations - a.allocations,
		       b.grants_waited - a.grants_waited, b.wakeups - a.wakeups);
	ksft_print_msg("fuzz: releases %llu, peak in use %llu, peak queued %llu\n",
		       b.releases - a.releases, b.peak_in_use, b.peak_queued);
	fflush(stdout);
	EXPECT_EQ(0ULL, b.in_use);
	EXPECT_EQ(0ULL, bp_nr_queued(&b));
	EXPECT_EQ(b.limit, b.free);
	EXPECT_GE(b.limit, b.allocated);
	/* a peak of a larger limit earlier in this module's life stays */
	if (b.peak_in_use > a.peak_in_use)
		EXPECT_GE(b.limit, b.peak_in_use);
	EXPECT_LE(b.grants_waited - a.grants_waited, b.releases - a.releases);
	/* hand-off, no tunable changed: one wake-up per grant, none spurious */
	EXPECT_EQ(b.grants_waited - a.grants_waited, b.wakeups - a.wakeups);
	EXPECT_EQ(a.spurious_wakeups, b.spurious_wakeups);
	/* every buffer served came back */
	EXPECT_LE(b.allocations - a.allocations, b.releases - a.releases);
	EXPECT_LT(0ULL, b.allocations - a.allocations);
	EXPECT_LT(0ULL, ok);
	munmap(rep, n * sizeof(*rep));
}

static unsigned long long env_or(const char *name, unsigned long long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

/* TEST_HARNESS_MAIN, with our options taken off the command line first. */
int main(int argc, char **argv)
{
	int i;

	fuzz_calls = env_or("BUFPOOL_FUZZ_CALLS", fuzz_calls);
	fuzz_seed = env_or("BUFPOOL_FUZZ_SEED", fuzz_seed);
	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--calls"))
			fuzz_calls = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--seed"))
			fuzz_seed = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--procs"))
			fuzz_procs = (unsigned int)strtoul(argv[i + 1], NULL, 0);
		else
			break;
	}
	if (!fuzz_procs || fuzz_procs > MAX_PROCS)
		fuzz_procs = 4;
	return test_harness_run(argc, argv);
}
