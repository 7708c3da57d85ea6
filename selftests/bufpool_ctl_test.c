// SPDX-License-Identifier: GPL-2.0
/*
 * bufpoolctl selftests: run /bin/bufpoolctl (tools/bufpoolctl.c, packed
 * by the runner) and check what it says: status shows the pool, the
 * per-class queues and the counters with the sysfs values; --json status
 * is valid JSON with every key; watch prints a header and one line per
 * interval; set changes sysfs as root; a bad key or value, a module that
 * is not loaded (BUFPOOL_SYSFS pointing nowhere) and a non-root user get a
 * clear message and a non-zero exit status.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_sys_util.h"

#define CTL		"/bin/bufpoolctl"
#define OUTMAX		8192

struct run {
	char out[OUTMAX];
	char err[OUTMAX];
	int status;		/* exit status, 128 + signal, or -1 */
};

static void slurp(int fd, char *buf)
{
	size_t n = 0;
	ssize_t r;

	while (n < OUTMAX - 1 && (r = read(fd, buf + n, OUTMAX - 1 - n)) > 0)
		n += r;
	buf[n] = '\0';
}

/*
 * Run bufpoolctl with @args (NULL-terminated), BUFPOOL_SYSFS=@sysfs if
 * not NULL, as @uid if not 0.  stderr goes to a file so the two pipes
 * cannot block each other.
 */
static int ctl(struct run *r, uid_t uid, const char *sysfs,
	       const char * const *args)
{
	char *argv[16];
	int out[2], errfd;
	char tmpl[] = "/tmp/bufpoolctl-stderr-XXXXXX";
	unsigned int i;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	errfd = mkstemp(tmpl);
	if (errfd < 0 || pipe(out))
		return -1;
	unlink(tmpl);
	argv[0] = CTL;
	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = (char *)args[i];
	argv[i + 1] = NULL;
	pid = bp_fork();
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(errfd, 2);
		if (sysfs)
			setenv("BUFPOOL_SYSFS", sysfs, 1);
		else
			unsetenv("BUFPOOL_SYSFS");
		if (uid && bp_become(uid, uid, 0, NULL))
			_exit(126);
		execv(CTL, argv);
		_exit(127);
	}
	close(out[1]);
	slurp(out[0], r->out);
	close(out[0]);
	r->status = bp_reap(pid);
	lseek(errfd, 0, SEEK_SET);
	slurp(errfd, r->err);
	close(errfd);
	return 0;
}

/* A small JSON checker: objects, arrays, strings, numbers, literals. */
static const char *json_value(const char *p);

static const char *json_ws(const char *p)
{
	while (*p && isspace((unsigned char)*p))
		p++;
	return p;
}

static const char *json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p && *p != '"') {
		if (*p == '\\' && !*++p)
			return NULL;
		p++;
	}
	return *p == '"' ? p + 1 : NULL;
}

static const char *json_seq(const char *p, char close, bool keys)
{
	p = json_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (keys) {
			p = json_string(json_ws(p));
			if (!p)
				return NULL;
			p = json_ws(p);
			if (*p++ != ':')
				return NULL;
		}
		p = json_value(p);
		if (!p)
			return NULL;
		p = json_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *json_value(const char *p)
{
	char *end;

	p = json_ws(p);
	if (*p == '{')
		return json_seq(p, '}', true);
	if (*p == '[')
		return json_seq(p, ']', false);
	if (*p == '"')
		return json_string(p);
	if (!strncmp(p, "true", 4) || !strncmp(p, "null", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	strtod(p, &end);
	return end == p ? NULL : end;
}

static bool json_valid(const char *s)
{
	const char *p = json_value(s);

	return p && !*json_ws(p);
}

/* The number after "@key": inside the object "@obj": of @s, or ~0ULL. */
static unsigned long long json_num(const char *s, const char *obj,
				   const char *key)
{
	char pat[64];
	const char *p, *end;

	snprintf(pat, sizeof(pat), "\"%s\":", obj);
	p = strstr(s, pat);
	if (!p)
		return ~0ULL;
	end = strchr(p, '}');
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(p, pat);
	if (!p || (end && p > end))
		return ~0ULL;
	return strtoull(p + strlen(pat), NULL, 10);
}

static const char * const tunables[] = {
	"limit", "reserve", "threshold_normal", "threshold_low", "user_quota",
	"bufsize", NULL,
};

FIXTURE(ctl) {
	struct bp_tunables saved;
	struct run r;
	int fd;
};

FIXTURE_SETUP(ctl)
{
	struct stat s;

	if (stat(CTL, &s))
		SKIP(return, "%s is not there", CTL);
	ASSERT_EQ(0, bp_tunables_save(&self->saved));
	self->fd = bp_open(0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, bp_wait_idle(self->fd));
}

FIXTURE_TEARDOWN(ctl)
{
	close(self->fd);
	EXPECT_EQ(0, bp_tunables_restore(&self->saved));
}

TEST_F(ctl, status_table)
{
	static const char * const args[] = { "status", NULL };
	struct run *r = &self->r;
	char want[128];
	__u32 ids[2];

	ASSERT_EQ(0, bp_try(self->fd, BP_CRIT, 2, ids));
	ASSERT_EQ(0, ctl(r, 0, NULL, args));
	EXPECT_EQ(0, r->status) TH_LOG("stderr: %s", r->err);
	snprintf(want, sizeof(want), "limit %llu buffers of %llu bytes",
		 bp_sysfs_get("limit"), bp_sysfs_get("bufsize"));
	EXPECT_NE(NULL, strstr(r->out, want)) TH_LOG("%s", r->out);
	snprintf(want, sizeof(want), "reserve %llu", bp_sysfs_get("reserve"));
	EXPECT_NE(NULL, strstr(r->out, want));
	EXPECT_NE(NULL, strstr(r->out, "in use 2,"));
	EXPECT_NE(NULL, strstr(r->out, "critical"));
	EXPECT_NE(NULL, strstr(r->out, "normal"));
	EXPECT_NE(NULL, strstr(r->out, "low"));
	EXPECT_NE(NULL, strstr(r->out, "queued"));
	EXPECT_NE(NULL, strstr(r->out, "allocations"));
	EXPECT_NE(NULL, strstr(r->out, "wake-ups"));
	EXPECT_NE(NULL, strstr(r->out, "releases"));
	EXPECT_STREQ("", r->err);

	/* a user may look too */
	ASSERT_EQ(0, ctl(r, BP_UID, NULL, args));
	EXPECT_EQ(0, r->status) TH_LOG("stderr: %s", r->err);
	EXPECT_NE(NULL, strstr(r->out, "in use 2,"));
}

TEST_F(ctl, json_status)
{
	static const char * const args[] = { "--json", "status", NULL };
	struct run *r = &self->r;
	unsigned int i;
	char path[64];
	__u32 ids[3];

	ASSERT_EQ(0, bp_try(self->fd, BP_CRIT, 3, ids));
	ASSERT_EQ(0, ctl(r, 0, NULL, args));
	EXPECT_EQ(0, r->status) TH_LOG("stderr: %s", r->err);
	EXPECT_TRUE(json_valid(r->out)) TH_LOG("not JSON: %s", r->out);
	for (i = 0; tunables[i]; i++)
		EXPECT_EQ(bp_sysfs_get(tunables[i]),
			  json_num(r->out, "tunables", tunables[i]))
			TH_LOG("tunables.%s", tunables[i] ? : "?");
	for (i = 0; bp_stat_file(i); i++) {
		snprintf(path, sizeof(path), "stats/%s", bp_stat_file(i));
		EXPECT_EQ(bp_sysfs_get(path),
			  json_num(r->out, "stats", bp_stat_file(i)))
			TH_LOG("stats.%s", bp_stat_file(i) ? : "?");
	}
	EXPECT_EQ(3ULL, json_num(r->out, "stats", "in_use"));
}

TEST_F(ctl, watch_lines)
{
	static const char * const args[] = { "watch", "-i", "1", "-n", "2",
					     NULL };
	struct run *r = &self->r;
	unsigned int lines = 0;
	const char *p;

	ASSERT_EQ(0, ctl(r, 0, NULL, args));
	EXPECT_EQ(0, r->status) TH_LOG("stderr: %s", r->err);
	for (p = r->out; *p; p++)
		lines += *p == '\n';
	EXPECT_EQ(3U, lines) TH_LOG("%s", r->out);
	EXPECT_NE(NULL, strstr(r->out, "in_use"));
}

TEST_F(ctl, set_as_root)
{
	static const char * const two[] = { "set", "limit=40", "user_quota=7",
					    NULL };
	static const char * const back[] = { "set", "limit=20", NULL };
	struct run *r = &self->r;

	ASSERT_EQ(0, ctl(r, 0, NULL, two));
	EXPECT_EQ(0, r->status) TH_LOG("stderr: %s", r->err);
	EXPECT_EQ(40ULL, bp_sysfs_get("limit"));
	EXPECT_EQ(7ULL, bp_sysfs_get("user_quota"));
	ASSERT_EQ(0, ctl(r, 0, NULL, back));
	EXPECT_EQ(0, r->status);
	EXPECT_EQ(20ULL, bp_sysfs_get("limit"));
}

TEST_F(ctl, set_refused_clearly)
{
	static const struct {
		const char *arg, *says;
	} bad[] = {
		{ "bogus=1", "unknown" },
		{ "bufsize=4096", "read-only" },
		{ "limit", "KEY=VALUE" },
		{ "limit=", "KEY=VALUE" },
		{ "limit=abc", "refused" },
		{ "limit=0", "refused" },
		{ "reserve=100000", "refused" },
	};
	struct run *r = &self->r;
	struct bp_tunables before, after;
	const char *args[3] = { "set", NULL, NULL };
	unsigned int i;

	ASSERT_EQ(0, bp_tunables_save(&before));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		args[1] = bad[i].arg;
		ASSERT_EQ(0, ctl(r, 0, NULL, args));
		EXPECT_NE(0, r->status) TH_LOG("set %s", bad[i].arg);
		EXPECT_NE(NULL, strstr(r->err, bad[i].says))
			TH_LOG("set %s said: %s", bad[i].arg, r->err);
		EXPECT_NE(NULL, strstr(r->err, "bufpoolctl"));
	}
	ASSERT_EQ(0, bp_tunables_save(&after));
	EXPECT_TRUE(bp_tunables_equal(&before, &after));
}

TEST_F(ctl, not_loaded)
{
	static const char * const status[] = { "status", NULL };
	static const char * const json[] = { "--json", "status", NULL };
	static const char * const set[] = { "set", "limit=10", NULL };
	struct run *r = &self->r;

	ASSERT_EQ(0, ctl(r, 0, "/sys/class/misc/no-such-bufpool", status));
	EXPECT_NE(0, r->status);
	EXPECT_NE(NULL, strstr(r->err, "not loaded")) TH_LOG("%s", r->err);
	EXPECT_STREQ("", r->out);
	ASSERT_EQ(0, ctl(r, 0, "/sys/class/misc/no-such-bufpool", json));
	EXPECT_NE(0, r->status);
	EXPECT_NE(NULL, strstr(r->err, "not loaded"));
	ASSERT_EQ(0, ctl(r, 0, "/sys/class/misc/no-such-bufpool", set));
	EXPECT_NE(0, r->status);
	EXPECT_NE(NULL, strstr(r->err, "not loaded"));
}

TEST_F(ctl, permission_denied)
{
	static const char * const set[] = { "set", "limit=10", NULL };
	struct run *r = &self->r;
	unsigned long long limit = bp_sysfs_get("limit");

	ASSERT_TRUE(bp_others_can_reach(BP_SYSFS "/limit"))
		TH_LOG("%s", BP_REACH_MSG);
	ASSERT_EQ(0, ctl(r, BP_UID, NULL, set));
	EXPECT_NE(0, r->status);
	EXPECT_NE(NULL, strstr(r->err, "permission denied"))
		TH_LOG("%s", r->err);
	EXPECT_EQ(limit, bp_sysfs_get("limit"));
}

TEST_HARNESS_MAIN
