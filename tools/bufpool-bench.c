// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool-bench: the workload of HAProxy's buffer wait queue (seed 002)
 * against /dev/bufpool, and the syscall floor of the device.
 *
 *   bufpool-bench [options]           run the session workload
 *   bufpool-bench --floor [-n ITERS]  ALLOC+RELEASE pair vs INFO+INFO pair
 *   bufpool-bench --peak-only         print the unconstrained peak need
 *
 * Sessions are state machines driven by epoll event loops, as in HAProxy:
 * each session has an O_NONBLOCK fd of /dev/bufpool (one entity) and a
 * timerfd.  A session allocates its request buffer (NORMAL), queues for a
 * server slot (maxconn M, FIFO), is served for --service-us, allocates its
 * response buffer (CRITICAL), frees the server slot, releases both buffers
 * and starts again.  A refused ALLOC leaves the request queued in the
 * kernel; EPOLLIN says it was granted (hand-off) or offered (offer, all),
 * and the next ALLOC collects or retries.  Every retry is a system call
 * the program sees, which is what seed 002 counts (process_session calls).
 * With --status each fd maps its status page and queues with
 * BUFPOOL_ALLOC_STATUS (epoll edge-triggered): a grant is read from the
 * page, without an ALLOC to collect it.
 *
 * The sessions are split over --threads event loops (default: one per
 * CPU), each with its share of the sessions and of maxconn, like HAProxy's
 * nbproc: the loops share only the pool.
 *
 * The limit is a fraction of the peak the run needs unconstrained: a first
 * short run with a limit that cannot bind measures that peak (or --peak
 * gives it).  The policy, limit and reserve are written to sysfs (root).
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/timerfd.h>

#include <linux/bufpool.h>

#define DEV_PATH	"/dev/" BUFPOOL_DEVICE_NAME
#define SYSFS_DIR	"/sys/class/misc/" BUFPOOL_DEVICE_NAME
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Log-linear histogram of nanoseconds: 16 sub-buckets per power of two. */
#define HIST_SUB_BITS	4
#define HIST_SUB	16	/* 1 << HIST_SUB_BITS */
#define HIST_BUCKETS	(64 * HIST_SUB)

enum sess_state {
	ST_NEW,		/* about to ask for the request buffer */
	ST_WAIT_REQ,	/* request buffer queued in the kernel */
	ST_WAIT_SRV,	/* holds the request buffer, queued for a server slot */
	ST_SERVICE,	/* holds a server slot, timer armed */
	ST_RESP,	/* served: about to ask for the response buffer */
	ST_WAIT_RESP,	/* response buffer queued in the kernel */
};

struct shard;

struct session {
	struct shard *sh;
	int fd;			/* /dev/bufpool, O_NONBLOCK: the entity */
	int tfd;		/* timerfd: the server's service time */
	enum sess_state state;
	__u32 ids[2];		/* request, response */
	const struct bufpool_status *status;	/* --status: its page */
	__u32 grants_seen;	/* the page's grants counter, last read */
	double t_wait0;		/* when the current ALLOC was first tried */
	double wait_ns;		/* buffer wait of the current session */
	unsigned long long done;	/* sessions completed while measuring */
	struct session *next;	/* server FIFO or run list */
};

struct counters {
	unsigned long long sessions;
	unsigned long long calls;	/* ALLOC ioctls */
	unsigned long long attempts;	/* calls that tried to take buffers */
	unsigned long long waited;	/* allocations that were queued */
	unsigned long long woken;	/* EPOLLIN events on a pool fd */
	unsigned long long retry_fail;	/* woken, tried again, queued again */
	unsigned long long errors;
};

struct shard {
	pthread_t thread;
	int epfd;
	struct session *sess;
	unsigned int nr_sess;
	unsigned int slots;		/* free server slots */
	struct session *srv_head, *srv_tail;
	struct session *run_head, *run_tail;
	struct counters c;
	unsigned int hist[HIST_BUCKETS];
	double wait_max;
	int err;
};

static struct {
	const char *policy;
	double limit_frac;
	long limit;
	long reserve;
	long peak;
	unsigned int sessions;
	unsigned int maxconn;
	unsigned int threads;
	unsigned int service_us;
	double duration;
	double warmup;
	unsigned long long count;
	double stall;
	bool json;
	bool quiet;
	bool peak_only;
	bool status;
	const char *label;
} opt = {
	.policy = NULL,
	.limit_frac = 0,
	.limit = -1,
	.reserve = -1,
	.peak = 0,
	.sessions = 64,
	.maxconn = 8,
	.threads = 0,
	.service_us = 200,
	.duration = 5,
	.warmup = 0.5,
	.stall = 3,
};

static int measuring_flag;	/* read by the loops, set by main */
static int stopping_flag;
static int in_use_now;		/* buffers held by this process */
static int in_use_peak;

#define measuring	__atomic_load_n(&measuring_flag, __ATOMIC_RELAXED)
#define stopping	__atomic_load_n(&stopping_flag, __ATOMIC_RELAXED)

static void set_flag(int *flag, int v)
{
	__atomic_store_n(flag, v, __ATOMIC_RELAXED);
}

static unsigned long long ceil_ull(double x)
{
	unsigned long long i = (unsigned long long)x;

	return i + (x > (double)i);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "bufpool-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void held_add(int n)
{
	int v = __atomic_add_fetch(&in_use_now, n, __ATOMIC_RELAXED);
	int p = __atomic_load_n(&in_use_peak, __ATOMIC_RELAXED);

	while (v > p && !__atomic_compare_exchange_n(&in_use_peak, &p, v,
						     false, __ATOMIC_RELAXED,
						     __ATOMIC_RELAXED))
		;
}

/* ---- sysfs ---- */

static int sysfs_write(const char *name, const char *val)
{
	char path[256];
	int fd, ret = 0;

	snprintf(path, sizeof(path), SYSFS_DIR "/%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static int sysfs_write_ul(const char *name, unsigned long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lu", v);
	return sysfs_write(name, buf);
}

static void sysfs_read(const char *name, char *buf, size_t len)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), SYSFS_DIR "/%s", name);
	buf[0] = '\0';
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	buf[strcspn(buf, "\n")] = '\0';
}

/* The policy in use: the word in brackets of "handoff [offer] all". */
static void current_policy(char *out, size_t len)
{
	char buf[128], *l, *r;

	sysfs_read("policy", buf, sizeof(buf));
	l = strchr(buf, '[');
	r = l ? strchr(l, ']') : NULL;
	if (!l || !r) {
		snprintf(out, len, "?");
		return;
	}
	*r = '\0';
	snprintf(out, len, "%s", l + 1);
}

/* Set limit and reserve in an order every intermediate state accepts. */
static void set_pool(unsigned long limit, unsigned long reserve)
{
	if (sysfs_write_ul("reserve", 0) ||
	    sysfs_write_ul("limit", limit) ||
	    sysfs_write_ul("reserve", reserve)) {
		fprintf(stderr,
			"bufpool-bench: cannot set limit=%lu reserve=%lu in %s (root? loaded?)\n",
			limit, reserve, SYSFS_DIR);
		exit(1);
	}
}

static void get_stats(int fd, struct bufpool_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	if (ioctl(fd, BUFPOOL_IOC_STATS, st))
		die("BUFPOOL_IOC_STATS");
}

/* ---- histogram ---- */

static unsigned int hist_index(double ns)
{
	unsigned long long v = ns < 1 ? 1 : (unsigned long long)ns;
	unsigned int msb = 63 - __builtin_clzll(v);
	unsigned int sub;

	if (msb < HIST_SUB_BITS)
		return v;
	sub = (v >> (msb - HIST_SUB_BITS)) & (HIST_SUB - 1);
	return (msb - HIST_SUB_BITS + 1) * HIST_SUB + sub;
}

/* Upper bound of bucket @i, the value reported for a percentile. */
static double hist_value(unsigned int i)
{
	unsigned int msb, sub;

	if (i < HIST_SUB)
		return i;
	msb = i / HIST_SUB + HIST_SUB_BITS - 1;
	sub = i % HIST_SUB;
	return (double)((1ULL << msb) + ((unsigned long long)(sub + 1) <<
					 (msb - HIST_SUB_BITS)));
}

static double hist_pct(const unsigned int *h, double pct)
{
	unsigned long long total = 0, acc = 0, want;
	unsigned int i;

	for (i = 0; i < HIST_BUCKETS; i++)
		total += h[i];
	if (!total)
		return 0;
	want = ceil_ull(total * pct / 100.0);
	for (i = 0; i < HIST_BUCKETS; i++) {
		acc += h[i];
		if (acc >= want)
			return hist_value(i);
	}
	return hist_value(HIST_BUCKETS - 1);
}

/* ---- the session state machine ---- */

static void run_push(struct shard *sh, struct session *s)
{
	s->next = NULL;
	if (sh->run_tail)
		sh->run_tail->next = s;
	else
		sh->run_head = s;
	sh->run_tail = s;
}

static struct session *run_pop(struct shard *sh)
{
	struct session *s = sh->run_head;

	if (s) {
		sh->run_head = s->next;
		if (!sh->run_head)
			sh->run_tail = NULL;
	}
	return s;
}

/*
 * One ALLOC of @class for @s.  @woken: called after EPOLLIN.  Returns 0
 * when the buffer is held, 1 when the request waits in the kernel.
 */
static int sess_alloc(struct session *s, unsigned int class, __u32 *id,
		      bool woken, bool handoff)
{
	struct shard *sh = s->sh;
	struct bufpool_alloc a = {
		.size = sizeof(a),
		.flags = opt.status ? BUFPOOL_ALLOC_STATUS : 0,
		.alloc_class = class,
		.count = 1,
		.ids_ptr = (__u64)(unsigned long)id,
	};
	bool m = measuring;
	int ret;

	ret = ioctl(s->fd, BUFPOOL_IOC_ALLOC, &a);
	if (m) {
		sh->c.calls++;
		/* after a hand-off wake-up the call only collects a grant */
		if (!(woken && handoff))
			sh->c.attempts++;
	}
	if (!ret) {
		held_add(1);
		if (s->t_wait0)
			s->wait_ns += now_ns() - s->t_wait0;
		s->t_wait0 = 0;
		return 0;
	}
	if (errno != EAGAIN) {
		if (m)
			sh->c.errors++;
		if (!sh->err)
			sh->err = errno;
		return 1;
	}
	if (!woken) {
		s->t_wait0 = now_ns();
		if (m)
			sh->c.waited++;
	} else if (m) {
		sh->c.retry_fail++;
	}
	return 1;
}

/*
 * --status, after EPOLLIN: the grant the kernel collected onto the page,
 * if it is new (else the wake-up was something ALLOC must collect).
 */
static bool sess_status_take(struct session *s, __u32 *id)
{
	const struct bufpool_status *p = s->status;
	__u32 seq, grants, got;

	if (!p)
		return false;
	do {
		seq = __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE);
		grants = __atomic_load_n(&p->grants, __ATOMIC_RELAXED);
		got = __atomic_load_n(&p->ids[0], __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((seq & 1) || seq != __atomic_load_n(&p->seq, __ATOMIC_RELAXED));
	if (grants == s->grants_seen)
		return false;
	s->grants_seen = grants;
	*id = got;
	held_add(1);
	if (s->t_wait0)
		s->wait_ns += now_ns() - s->t_wait0;
	s->t_wait0 = 0;
	return true;
}

static void sess_done(struct session *s)
{
	struct shard *sh = s->sh;
	struct bufpool_release r = {
		.size = sizeof(r),
		.count = 2,
		.ids_ptr = (__u64)(unsigned long)s->ids,
	};
	struct session *next = sh->srv_head;

	/* the response is in: the server connection is free */
	if (next) {
		sh->srv_head = next->next;
		if (!sh->srv_head)
			sh->srv_tail = NULL;
		run_push(sh, next);
	} else {
		sh->slots++;
	}
	if (ioctl(s->fd, BUFPOOL_IOC_RELEASE, &r)) {
		if (!sh->err)
			sh->err = errno;
		sh->c.errors++;
	}
	held_add(-2);
	if (measuring) {
		unsigned int i = hist_index(s->wait_ns);

		sh->c.sessions++;
		s->done++;
		sh->hist[i]++;
		if (s->wait_ns > sh->wait_max)
			sh->wait_max = s->wait_ns;
	}
	s->wait_ns = 0;
	s->state = ST_NEW;
	run_push(sh, s);
}

/* Advance @s as far as it goes without waiting. */
static void sess_step(struct session *s, bool woken, bool handoff)
{
	struct shard *sh = s->sh;
	struct itimerspec its = { 0 };

	for (;;) {
		switch (s->state) {
		case ST_NEW:
			if (stopping)
				return;
			if (sess_alloc(s, BUFPOOL_CLASS_NORMAL, &s->ids[0],
				       false, handoff)) {
				s->state = ST_WAIT_REQ;
				return;
			}
			goto have_req;
		case ST_WAIT_REQ:
			if (!woken)
				return;
			if (!sess_status_take(s, &s->ids[0]) &&
			    sess_alloc(s, BUFPOOL_CLASS_NORMAL, &s->ids[0],
				       true, handoff))
				return;
have_req:
			woken = false;
			if (!sh->slots) {
				s->state = ST_WAIT_SRV;
				s->next = NULL;
				if (sh->srv_tail)
					sh->srv_tail->next = s;
				else
					sh->srv_head = s;
				sh->srv_tail = s;
				return;
			}
			sh->slots--;
			goto got_slot;
		case ST_WAIT_SRV:
			/* popped from the server FIFO: the slot is ours */
got_slot:
			s->state = ST_SERVICE;
			if (!opt.service_us) {
				s->state = ST_RESP;
				continue;
			}
			its.it_value.tv_nsec = opt.service_us * 1000L;
			if (timerfd_settime(s->tfd, 0, &its, NULL))
				die("timerfd_settime");
			return;
		case ST_SERVICE:
			return;		/* the timer moves it to ST_RESP */
		case ST_RESP:
			if (sess_alloc(s, BUFPOOL_CLASS_CRITICAL, &s->ids[1],
				       false, handoff)) {
				s->state = ST_WAIT_RESP;
				return;
			}
			sess_done(s);
			return;
		case ST_WAIT_RESP:
			if (!woken)
				return;
			if (!sess_status_take(s, &s->ids[1]) &&
			    sess_alloc(s, BUFPOOL_CLASS_CRITICAL, &s->ids[1],
				       true, handoff))
				return;
			sess_done(s);
			return;
		}
	}
}

/* epoll data: the session pointer, low bit set for its timer. */
static void *shard_main(void *arg)
{
	struct shard *sh = arg;
	struct epoll_event ev[64];
	char pol[32];
	bool handoff;
	unsigned int i;
	int n;

	current_policy(pol, sizeof(pol));
	/* both wake a waiter only with a grant: collecting it is no try */
	handoff = !strcmp(pol, "handoff") || !strcmp(pol, "adaptive");
	for (i = 0; i < sh->nr_sess; i++)
		run_push(sh, &sh->sess[i]);

	while (!stopping || sh->run_head) {
		struct session *s;

		while ((s = run_pop(sh)))
			sess_step(s, false, handoff);
		n = epoll_wait(sh->epfd, ev, ARRAY_SIZE(ev), 100);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (i = 0; i < (unsigned int)(n > 0 ? n : 0); i++) {
			unsigned long p = (unsigned long)ev[i].data.ptr;
			__u64 exp;

			s = (struct session *)(p & ~1UL);
			if (p & 1) {
				if (read(s->tfd, &exp, sizeof(exp)) < 0)
					continue;
				if (s->state == ST_SERVICE) {
					s->state = ST_RESP;
					sess_step(s, false, handoff);
				}
				continue;
			}
			if (measuring)
				sh->c.woken++;
			sess_step(s, true, handoff);
		}
	}
	return NULL;
}

static void shard_setup(struct shard *sh, unsigned int nr, unsigned int slots)
{
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned int i;

	sh->nr_sess = nr;
	sh->slots = slots;
	sh->sess = calloc(nr, sizeof(*sh->sess));
	sh->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!sh->sess || sh->epfd < 0)
		die("setup");
	for (i = 0; i < nr; i++) {
		struct session *s = &sh->sess[i];

		s->sh = sh;
		s->fd = open(DEV_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (s->fd < 0)
			die("open " DEV_PATH);
		s->tfd = timerfd_create(CLOCK_MONOTONIC,
					TFD_NONBLOCK | TFD_CLOEXEC);
		if (s->tfd < 0)
			die("timerfd_create");
		ev.data.ptr = s;
		if (opt.status) {
			void *p = mmap(NULL, getpagesize(), PROT_READ,
				       MAP_SHARED, s->fd,
				       (off_t)BUFPOOL_STATUS_OFFSET);

			if (p == MAP_FAILED)
				die("mmap status page");
			s->status = p;
			/* the page's EPOLLIN lasts until the next call */
			ev.events = EPOLLIN | EPOLLET;
		}
		if (epoll_ctl(sh->epfd, EPOLL_CTL_ADD, s->fd, &ev))
			die("epoll_ctl");
		ev.events = EPOLLIN;
		ev.data.ptr = (void *)((unsigned long)s | 1);
		if (epoll_ctl(sh->epfd, EPOLL_CTL_ADD, s->tfd, &ev))
			die("epoll_ctl");
	}
}

static void shard_teardown(struct shard *sh)
{
	unsigned int i;

	for (i = 0; i < sh->nr_sess; i++) {
		close(sh->sess[i].fd);	/* gives back all it holds */
		close(sh->sess[i].tfd);
	}
	close(sh->epfd);
	free(sh->sess);
}

/* ---- one run ---- */

struct result {
	char policy[32];
	unsigned long limit, reserve;
	long peak;
	double secs;
	struct counters c;
	unsigned long long k_allocations, k_grants, k_wakeups, k_spurious;
	unsigned long long k_peak_queued;
	double p50, p99, max, jain;
	double hoarded;		/* mean of pool in_use - buffers we hold */
	bool stalled;
	int err;
};

static unsigned long long sum_sessions(struct shard *sh, unsigned int n)
{
	unsigned long long t = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		t += __atomic_load_n(&sh[i].c.sessions, __ATOMIC_RELAXED);
	return t;
}

static void sleep_s(double s)
{
	struct timespec ts = {
		.tv_sec = (time_t)s,
		.tv_nsec = (long)((s - (time_t)s) * 1e9),
	};

	nanosleep(&ts, NULL);
}

static void run(struct result *r, double duration, unsigned long long count,
		bool progress)
{
	unsigned int nt = opt.threads, i, j;
	struct bufpool_stats st0, st1;
	double t0, t1, tlast, sx = 0, sxx = 0;
	unsigned long long last = 0, cur, nsamples = 0;
	double hoard_sum = 0;
	unsigned int *hist;
	struct shard *sh;
	int sfd;

	sfd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (sfd < 0)
		die("open " DEV_PATH);
	sh = calloc(nt, sizeof(*sh));
	hist = calloc(HIST_BUCKETS, sizeof(*hist));
	if (!sh || !hist)
		die("calloc");
	for (i = 0; i < nt; i++)
		shard_setup(&sh[i], opt.sessions / nt + (i < opt.sessions % nt),
			    opt.maxconn / nt + (i < opt.maxconn % nt));

	set_flag(&measuring_flag, 0);
	set_flag(&stopping_flag, 0);
	in_use_now = 0;
	in_use_peak = 0;
	for (i = 0; i < nt; i++)
		if (pthread_create(&sh[i].thread, NULL, shard_main, &sh[i]))
			die("pthread_create");
	sleep_s(opt.warmup);
	get_stats(sfd, &st0);
	in_use_peak = in_use_now;
	t0 = now_ns();
	set_flag(&measuring_flag, 1);
	tlast = t0;
	for (;;) {
		double t;

		sleep_s(0.1);
		t = now_ns();
		cur = sum_sessions(sh, nt);
		/*
		 * Buffers the pool counts in use that no session holds: granted
		 * and not collected yet, or in flight in a system call.
		 */
		get_stats(sfd, &st1);
		hoard_sum += (double)st1.in_use -
			     __atomic_load_n(&in_use_now, __ATOMIC_RELAXED);
		nsamples++;
		if (cur != last) {
			last = cur;
			tlast = t;
		}
		if (progress && !opt.quiet)
			fprintf(stderr,
				"\r  %6.1fs  %10llu sessions  %9.0f/s  in use %4d  ",
				(t - t0) / 1e9, cur, cur / ((t - t0) / 1e9),
				__atomic_load_n(&in_use_now, __ATOMIC_RELAXED));
		if (count ? cur >= count : t - t0 >= duration * 1e9)
			break;
		if (t - tlast >= opt.stall * 1e9) {
			r->stalled = true;
			break;
		}
	}
	set_flag(&measuring_flag, 0);
	t1 = now_ns();
	get_stats(sfd, &st1);
	if (progress && !opt.quiet)
		fprintf(stderr, "\n");

	/* stop: a stalled run has sessions blocked for good; closing frees */
	set_flag(&stopping_flag, 1);
	for (i = 0; i < nt; i++)
		pthread_join(sh[i].thread, NULL);

	memset(&r->c, 0, sizeof(r->c));
	r->max = 0;
	r->err = 0;
	for (i = 0; i < nt; i++) {
		r->c.sessions += sh[i].c.sessions;
		r->c.calls += sh[i].c.calls;
		r->c.attempts += sh[i].c.attempts;
		r->c.waited += sh[i].c.waited;
		r->c.woken += sh[i].c.woken;
		r->c.retry_fail += sh[i].c.retry_fail;
		r->c.errors += sh[i].c.errors;
		if (sh[i].wait_max > r->max)
			r->max = sh[i].wait_max;
		if (!r->err)
			r->err = sh[i].err;
		for (j = 0; j < HIST_BUCKETS; j++)
			hist[j] += sh[i].hist[j];
		for (j = 0; j < sh[i].nr_sess; j++) {
			double x = sh[i].sess[j].done;

			sx += x;
			sxx += x * x;
		}
		shard_teardown(&sh[i]);
	}
	r->secs = (t1 - t0) / 1e9;
	r->hoarded = nsamples ? hoard_sum / nsamples : 0;
	r->p50 = hist_pct(hist, 50);
	r->p99 = hist_pct(hist, 99);
	r->jain = sxx ? sx * sx / (opt.sessions * sxx) : 0;
	r->k_allocations = st1.allocations - st0.allocations;
	r->k_grants = st1.grants_waited - st0.grants_waited;
	r->k_wakeups = st1.wakeups - st0.wakeups;
	r->k_spurious = st1.spurious_wakeups - st0.spurious_wakeups;
	r->k_peak_queued = st1.peak_queued;
	current_policy(r->policy, sizeof(r->policy));
	r->limit = st1.limit;
	r->reserve = st1.reserve;
	free(hist);
	free(sh);
	close(sfd);
}

static double per(unsigned long long a, unsigned long long b)
{
	return b ? (double)a / b : 0;
}

/* One JSON object a line: {"type":..., "label":..., "key":value, ...} */
static void json_begin(const char *type)
{
	printf("{\"type\":\"%s\",\"label\":\"%s\"", type,
	       opt.label ? opt.label : "");
}

static void json_str(const char *key, const char *val)
{
	printf(",\"%s\":\"%s\"", key, val);
}

static void json_num(const char *key, double val)
{
	printf(",\"%s\":%.6g", key, val);
}

static void json_end(void)
{
	printf("}\n");
	fflush(stdout);
}

static void print_result(const struct result *r)
{
	double rate = r->secs ? r->c.sessions / r->secs : 0;

	if (opt.json) {
		json_begin("session");
		json_str("policy", r->policy);
		json_str("status", opt.status ? "yes" : "no");
		json_num("limit", r->limit);
		json_num("reserve", r->reserve);
		json_num("limit_frac", opt.limit_frac);
		json_num("peak", r->peak);
		json_num("sessions", opt.sessions);
		json_num("maxconn", opt.maxconn);
		json_num("threads", opt.threads);
		json_num("service_us", opt.service_us);
		json_num("secs", r->secs);
		json_num("completed", r->c.sessions);
		json_num("rate", rate);
		json_num("calls", r->c.calls);
		json_num("attempts", r->c.attempts);
		json_num("calls_per_session", per(r->c.calls, r->c.sessions));
		json_num("attempts_per_session",
			 per(r->c.attempts, r->c.sessions));
		json_num("waited", r->c.waited);
		json_num("woken", r->c.woken);
		json_num("retry_fail", r->c.retry_fail);
		json_num("k_allocations", r->k_allocations);
		json_num("k_grants_waited", r->k_grants);
		json_num("k_wakeups", r->k_wakeups);
		json_num("k_spurious", r->k_spurious);
		json_num("wakeups_per_wait", per(r->k_wakeups, r->c.waited));
		json_num("peak_queued", r->k_peak_queued);
		json_num("hoarded", r->hoarded);
		json_num("wait_p50_us", r->p50 / 1e3);
		json_num("wait_p99_us", r->p99 / 1e3);
		json_num("wait_max_us", r->max / 1e3);
		json_num("jain", r->jain);
		json_str("stalled", r->stalled ? "yes" : "no");
		json_num("errors", r->c.errors);
		json_end();
		return;
	}
	printf("policy %s  limit %lu (peak need %ld)  reserve %lu\n",
	       r->policy, r->limit, r->peak, r->reserve);
	printf("  S=%u M=%u threads=%u service=%uus\n", opt.sessions,
	       opt.maxconn, opt.threads, opt.service_us);
	printf("  sessions/s          %.0f  (%llu in %.2fs)%s\n", rate,
	       r->c.sessions, r->secs, r->stalled ? "  STALLED" : "");
	printf("  attempts/session    %.4f  (ALLOC calls/session %.4f)\n",
	       per(r->c.attempts, r->c.sessions),
	       per(r->c.calls, r->c.sessions));
	printf("  waited allocations  %llu   wake-ups %llu   wake-ups/wait %.4f\n",
	       r->c.waited, r->k_wakeups, per(r->k_wakeups, r->c.waited));
	printf("  spurious wake-ups   %llu (kernel)  %llu (seen: woken, queued again)\n",
	       r->k_spurious, r->c.retry_fail);
	printf("  buffer wait/session p50 %.1fus  p99 %.1fus  max %.1fus\n",
	       r->p50 / 1e3, r->p99 / 1e3, r->max / 1e3);
	printf("  Jain's fairness     %.4f (completions per session)\n",
	       r->jain);
	printf("  granted, uncollected %.2f buffers on average (sampled)\n",
	       r->hoarded);
	if (r->c.errors)
		printf("  errors              %llu (first: %s)\n", r->c.errors,
		       strerror(r->err));
}

/* ---- the syscall floor ---- */

#define FLOOR_ROUNDS	40

static void floor_bench(unsigned long iters)
{
	struct bufpool_info info = { .size = sizeof(info) };
	struct bufpool_alloc a = { .size = sizeof(a) };
	struct bufpool_release r = { .size = sizeof(r) };
	double t0, t, t_alloc = 0, t_info = 0, min_alloc = 0, min_info = 0;
	unsigned long i, round, n = iters / FLOOR_ROUNDS;
	__u32 id;
	int fd;

	if (!n)
		n = 1;
	fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open " DEV_PATH);
	a.alloc_class = BUFPOOL_CLASS_NORMAL;
	a.count = 1;
	a.ids_ptr = (__u64)(unsigned long)&id;
	a.flags = BUFPOOL_ALLOC_NOQUEUE;
	r.count = 1;
	r.ids_ptr = (__u64)(unsigned long)&id;

	/*
	 * Interleave short rounds so that drift hits both sides alike; the
	 * fastest round of each side is the one least disturbed by whatever
	 * else runs on the host.
	 */
	for (round = 0; round < FLOOR_ROUNDS; round++) {
		t0 = now_ns();
		for (i = 0; i < n; i++) {
			if (ioctl(fd, BUFPOOL_IOC_ALLOC, &a))
				die("ALLOC");
			if (ioctl(fd, BUFPOOL_IOC_RELEASE, &r))
				die("RELEASE");
		}
		t = now_ns() - t0;
		t_alloc += t;
		if (!round || t < min_alloc)
			min_alloc = t;
		t0 = now_ns();
		for (i = 0; i < n; i++) {
			if (ioctl(fd, BUFPOOL_IOC_INFO, &info) ||
			    ioctl(fd, BUFPOOL_IOC_INFO, &info))
				die("INFO");
		}
		t = now_ns() - t0;
		t_info += t;
		if (!round || t < min_info)
			min_info = t;
	}
	iters = n * FLOOR_ROUNDS;
	close(fd);
	if (opt.json) {
		json_begin("floor");
		json_num("bufsize", info.bufsize);
		json_num("iters", iters);
		json_num("alloc_release_ns", t_alloc / iters);
		json_num("noop_pair_ns", t_info / iters);
		json_num("ratio", t_alloc / t_info);
		json_num("alloc_release_min_ns", min_alloc / n);
		json_num("noop_pair_min_ns", min_info / n);
		json_num("ratio_min", min_alloc / min_info);
		json_num("excess_min_ns", (min_alloc - min_info) / n);
		json_end();
		return;
	}
	printf("syscall floor (bufsize %u, %lu pairs)\n", info.bufsize, iters);
	printf("  ALLOC+RELEASE pair  %.1f ns\n", t_alloc / iters);
	printf("  INFO+INFO pair      %.1f ns  (INFO as the no-op ioctl)\n",
	       t_info / iters);
	printf("  ratio               %.3f\n", t_alloc / t_info);
	printf("  fastest rounds      %.1f vs %.1f ns, ratio %.3f\n",
	       min_alloc / n, min_info / n, min_alloc / min_info);
	/* what the pair costs beyond two system calls, and what 1.3x allows */
	printf("  above the INFO pair %.1f ns (1.3x allows %.1f ns)\n",
	       (min_alloc - min_info) / n, 0.3 * min_info / n);
}

/* ---- main ---- */

static void print_usage(int status)
{
	fprintf(status ? stderr : stdout,
		"bufpool-bench [options]\n"
		"  -p, --policy P        handoff|offer|all (written to sysfs)\n"
		"  -f, --limit-frac F    limit = F * peak need (0: unconstrained)\n"
		"  -l, --limit N         absolute limit (overrides -f)\n"
		"  -r, --reserve R       reserve (written to sysfs)\n"
		"  -P, --peak N          peak need, instead of measuring it\n"
		"  -S, --sessions S      client sessions (64)\n"
		"  -M, --maxconn M       server connections (8)\n"
		"  -t, --threads T       event loops (one per CPU)\n"
		"  -s, --service-us US   server time per request (200)\n"
		"  -d, --duration SEC    measured time (5)\n"
		"  -n, --count N         stop after N sessions instead\n"
		"  -w, --warmup SEC      unmeasured start (0.5)\n"
		"      --stall SEC       no completion for this long: stalled (3)\n"
		"      --floor           ALLOC+RELEASE vs INFO+INFO (-n pairs)\n"
		"      --status          read grants from the status page\n"
		"      --peak-only       measure the peak need, print it, exit\n"
		"      --label TEXT      copied into the JSON\n"
		"  -j, --json            one JSON object per line\n"
		"  -q, --quiet           no progress line on stderr\n");
	exit(status);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "limit-frac", required_argument, NULL, 'f' },
		{ "limit", required_argument, NULL, 'l' },
		{ "reserve", required_argument, NULL, 'r' },
		{ "peak", required_argument, NULL, 'P' },
		{ "sessions", required_argument, NULL, 'S' },
		{ "maxconn", required_argument, NULL, 'M' },
		{ "threads", required_argument, NULL, 't' },
		{ "service-us", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "stall", required_argument, NULL, 'T' },
		{ "floor", no_argument, NULL, 'F' },
		{ "status", no_argument, NULL, 'G' },
		{ "peak-only", no_argument, NULL, 'O' },
		{ "label", required_argument, NULL, 'L' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bufpool_stats st;
	struct result r;
	bool do_floor = false;
	unsigned long limit;
	struct rlimit rl;
	long ncpu;
	int c, fd;

	while ((c = getopt_long(argc, argv, "p:f:l:r:P:S:M:t:s:d:n:w:jqh",
				lopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			opt.policy = optarg;
			break;
		case 'f':
			opt.limit_frac = atof(optarg);
			break;
		case 'l':
			opt.limit = atol(optarg);
			break;
		case 'r':
			opt.reserve = atol(optarg);
			break;
		case 'P':
			opt.peak = atol(optarg);
			break;
		case 'S':
			opt.sessions = strtoul(optarg, NULL, 0);
			break;
		case 'M':
			opt.maxconn = strtoul(optarg, NULL, 0);
			break;
		case 't':
			opt.threads = strtoul(optarg, NULL, 0);
			break;
		case 's':
			opt.service_us = strtoul(optarg, NULL, 0);
			break;
		case 'd':
			opt.duration = atof(optarg);
			break;
		case 'n':
			opt.count = strtoull(optarg, NULL, 0);
			break;
		case 'w':
			opt.warmup = atof(optarg);
			break;
		case 'T':
			opt.stall = atof(optarg);
			break;
		case 'F':
			do_floor = true;
			break;
		case 'G':
			opt.status = true;
			break;
		case 'O':
			opt.peak_only = true;
			break;
		case 'L':
			opt.label = optarg;
			break;
		case 'j':
			opt.json = true;
			break;
		case 'q':
			opt.quiet = true;
			break;
		case 'h':
			print_usage(0);
			break;
		default:
			print_usage(2);
		}
	}
	if (do_floor) {
		floor_bench(opt.count ? opt.count : 200000);
		return 0;
	}

	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (!opt.threads)
		opt.threads = ncpu > 0 ? ncpu : 1;
	if (!opt.sessions || !opt.maxconn || opt.service_us >= 1000000 ||
	    opt.threads > opt.sessions || opt.threads > opt.maxconn)
		print_usage(2);
	/* two fds a session */
	if (!getrlimit(RLIMIT_NOFILE, &rl) &&
	    rl.rlim_cur < 2 * opt.sessions + 64) {
		rl.rlim_cur = rl.rlim_max < 2 * opt.sessions + 64 ?
			      rl.rlim_max : 2 * opt.sessions + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open " DEV_PATH " (is bufpool loaded?)");
	get_stats(fd, &st);
	close(fd);
	if (opt.policy && sysfs_write("policy", opt.policy)) {
		fprintf(stderr, "bufpool-bench: cannot set policy %s\n",
			opt.policy);
		return 1;
	}
	if (opt.reserve < 0)
		opt.reserve = st.reserve;

	/* every session holds at most two buffers: this limit never binds */
	limit = 2UL * opt.sessions + opt.reserve + 1;
	if (!opt.peak && (opt.limit_frac > 0 || opt.json || opt.peak_only)) {
		set_pool(limit, opt.reserve);
		memset(&r, 0, sizeof(r));
		run(&r, 1, 0, false);
		opt.peak = in_use_peak;
		if (!opt.quiet)
			fprintf(stderr, "bufpool-bench: peak need %ld buffers\n",
				opt.peak);
	}
	if (opt.peak_only) {
		printf("%ld\n", opt.peak);
		return 0;
	}
	if (opt.limit > 0)
		limit = opt.limit;
	else if (opt.limit_frac > 0)
		limit = ceil_ull(opt.limit_frac * opt.peak);
	if (limit <= (unsigned long)opt.reserve + 1)
		limit = opt.reserve + 2;
	set_pool(limit, opt.reserve);

	memset(&r, 0, sizeof(r));
	r.peak = opt.peak;
	run(&r, opt.duration, opt.count, true);
	print_result(&r);
	return r.c.errors ? 1 : 0;
}
