// SPDX-License-Identifier: GPL-2.0
/*
 * bufpoolctl: look at and steer the bufpool module through sysfs.
 *
 *   bufpoolctl [--json] status        the pool, its queues and counters
 *   bufpoolctl [--json] watch [-i SEC] [-n COUNT]
 *                                     one line per interval, like vmstat
 *   bufpoolctl set KEY=VALUE...       change tunables (root)
 *
 * Everything comes from /sys/class/misc/bufpool (BUFPOOL_SYSFS overrides
 * the directory, for tests).
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_SYSFS	"/sys/class/misc/bufpool"

static const char *sysfs_dir = DEFAULT_SYSFS;

static const char * const tunables[] = {
	"limit", "reserve", "threshold_normal", "threshold_low", "user_quota",
	"bufsize",
};

static const char * const counters[] = {
	"in_use", "free", "allocated", "queued_critical", "queued_normal",
	"queued_low", "allocations", "grants_waited", "wakeups",
	"spurious_wakeups", "releases", "page_alloc_failures", "peak_in_use",
	"peak_queued", "quarantined", "shrunk", "drains",
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static void die_unloaded(void)
{
	fprintf(stderr,
		"bufpoolctl: bufpool is not loaded (%s is missing); load it with 'modprobe bufpool' or 'insmod bufpool.ko'\n",
		sysfs_dir);
	exit(2);
}

/* Read one unsigned value from a sysfs file; exits with a clear message. */
static unsigned long long read_value(const char *sub, const char *name)
{
	char path[512], buf[64];
	unsigned long long v;
	char *end;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s%s", sysfs_dir, sub, name);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		if (errno == ENOENT && access(sysfs_dir, F_OK))
			die_unloaded();
		fprintf(stderr, "bufpoolctl: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		fprintf(stderr, "bufpoolctl: %s: cannot read\n", path);
		exit(1);
	}
	buf[n] = '\0';
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno || end == buf) {
		fprintf(stderr, "bufpoolctl: %s: not a number: %s", path, buf);
		exit(1);
	}
	return v;
}

struct snapshot {
	unsigned long long tun[ARRAY_SIZE(tunables)];
	unsigned long long cnt[ARRAY_SIZE(counters)];
};

static void snap(struct snapshot *s)
{
	size_t i;

	if (access(sysfs_dir, F_OK))
		die_unloaded();
	for (i = 0; i < ARRAY_SIZE(tunables); i++)
		s->tun[i] = read_value("", tunables[i]);
	for (i = 0; i < ARRAY_SIZE(counters); i++)
		s->cnt[i] = read_value("stats/", counters[i]);
}

static unsigned long long cnt(const struct snapshot *s, const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(counters); i++)
		if (!strcmp(counters[i], name))
			return s->cnt[i];
	for (i = 0; i < ARRAY_SIZE(tunables); i++)
		if (!strcmp(tunables[i], name))
			return s->tun[i];
	abort();
}

static void print_json(const struct snapshot *s)
{
	size_t i;

	printf("{\"tunables\": {");
	for (i = 0; i < ARRAY_SIZE(tunables); i++)
		printf("%s\"%s\": %llu", i ? ", " : "", tunables[i], s->tun[i]);
	printf("}, \"stats\": {");
	for (i = 0; i < ARRAY_SIZE(counters); i++)
		printf("%s\"%s\": %llu", i ? ", " : "", counters[i], s->cnt[i]);
	printf("}}\n");
}

static int cmd_status(bool json)
{
	struct snapshot s;

	snap(&s);
	if (json) {
		print_json(&s);
		return 0;
	}
	printf("pool      limit %llu buffers of %llu bytes, reserve %llu, user quota %llu%s\n",
	       cnt(&s, "limit"), cnt(&s, "bufsize"), cnt(&s, "reserve"),
	       cnt(&s, "user_quota"), cnt(&s, "user_quota") ? "" : " (none)");
	printf("usage     in use %llu, free %llu, allocated %llu (peak in use %llu)\n",
	       cnt(&s, "in_use"), cnt(&s, "free"), cnt(&s, "allocated"),
	       cnt(&s, "peak_in_use"));
	printf("\n%-10s %10s %8s\n", "class", "threshold", "queued");
	printf("%-10s %10u %8llu\n", "critical", 0,
	       cnt(&s, "queued_critical"));
	printf("%-10s %10llu %8llu\n", "normal", cnt(&s, "threshold_normal"),
	       cnt(&s, "queued_normal"));
	printf("%-10s %10llu %8llu\n", "low", cnt(&s, "threshold_low"),
	       cnt(&s, "queued_low"));
	printf("\n%-22s %12s\n", "counter", "value");
	printf("%-22s %12llu\n", "allocations", cnt(&s, "allocations"));
	printf("%-22s %12llu\n", "grants after waiting",
	       cnt(&s, "grants_waited"));
	printf("%-22s %12llu\n", "wake-ups", cnt(&s, "wakeups"));
	printf("%-22s %12llu\n", "spurious wake-ups",
	       cnt(&s, "spurious_wakeups"));
	printf("%-22s %12llu\n", "releases", cnt(&s, "releases"));
	printf("%-22s %12llu\n", "page alloc failures",
	       cnt(&s, "page_alloc_failures"));
	printf("%-22s %12llu\n", "peak queued", cnt(&s, "peak_queued"));
	printf("%-22s %12llu\n", "quarantined", cnt(&s, "quarantined"));
	printf("%-22s %12llu\n", "shrunk", cnt(&s, "shrunk"));
	printf("%-22s %12llu\n", "per-CPU cache drains", cnt(&s, "drains"));
	return 0;
}

static int cmd_watch(bool json, unsigned int interval, long count)
{
	struct snapshot prev, cur;
	long n;

	snap(&prev);
	for (n = 0; count < 0 || n < count; n++) {
		if (n)
			sleep(interval);
		snap(&cur);
		if (json) {
			print_json(&cur);
		} else {
			if (n % 20 == 0)
				printf("%7s %7s %7s %5s %5s %5s %9s %9s %9s %7s\n",
				       "limit", "in_use", "free", "q_cr",
				       "q_no", "q_lo", "allocs/i", "waits/i",
				       "rels/i", "fails/i");
			printf("%7llu %7llu %7llu %5llu %5llu %5llu %9llu %9llu %9llu %7llu\n",
			       cnt(&cur, "limit"), cnt(&cur, "in_use"),
			       cnt(&cur, "free"), cnt(&cur, "queued_critical"),
			       cnt(&cur, "queued_normal"),
			       cnt(&cur, "queued_low"),
			       cnt(&cur, "allocations") -
			       cnt(&prev, "allocations"),
			       cnt(&cur, "grants_waited") -
			       cnt(&prev, "grants_waited"),
			       cnt(&cur, "releases") - cnt(&prev, "releases"),
			       cnt(&cur, "page_alloc_failures") -
			       cnt(&prev, "page_alloc_failures"));
		}
		fflush(stdout);
		prev = cur;
	}
	return 0;
}

static int set_one(const char *arg)
{
	const char *eq = strchr(arg, '=');
	char path[512];
	size_t i, klen;
	ssize_t n;
	int fd;

	if (!eq || eq == arg || !eq[1]) {
		fprintf(stderr, "bufpoolctl: expected KEY=VALUE, got '%s'\n",
			arg);
		return 1;
	}
	klen = eq - arg;
	for (i = 0; i < ARRAY_SIZE(tunables); i++)
		if (strlen(tunables[i]) == klen &&
		    !strncmp(tunables[i], arg, klen))
			break;
	if (i == ARRAY_SIZE(tunables) || !strcmp(tunables[i], "bufsize")) {
		fprintf(stderr,
			"bufpoolctl: unknown or read-only key '%.*s' (keys: limit, reserve, threshold_normal, threshold_low, user_quota)\n",
			(int)klen, arg);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s", sysfs_dir, tunables[i]);
	fd = open(path, O_WRONLY);
	if (fd < 0) {
		if (errno == EACCES || errno == EPERM)
			fprintf(stderr,
				"bufpoolctl: permission denied: changing %s needs root (CAP_SYS_ADMIN)\n",
				tunables[i]);
		else
			fprintf(stderr, "bufpoolctl: %s: %s\n", path,
				strerror(errno));
		return 1;
	}
	n = write(fd, eq + 1, strlen(eq + 1));
	if (n < 0) {
		if (errno == EPERM || errno == EACCES)
			fprintf(stderr,
				"bufpoolctl: permission denied: changing %s needs root (CAP_SYS_ADMIN)\n",
				tunables[i]);
		else if (errno == EINVAL)
			fprintf(stderr,
				"bufpoolctl: %s=%s refused: the values must satisfy reserve < limit and 0 <= reserve <= threshold_normal <= threshold_low < limit (see dmesg)\n",
				tunables[i], eq + 1);
		else
			fprintf(stderr, "bufpoolctl: %s=%s: %s\n", tunables[i],
				eq + 1, strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	return 0;
}

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: bufpoolctl [--json] status\n"
		"       bufpoolctl [--json] watch [-i SECONDS] [-n COUNT]\n"
		"       bufpoolctl set KEY=VALUE...   (limit, reserve, threshold_normal, threshold_low,\n"
		"                                     user_quota)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int interval = 1;
	const char *env, *cmd;
	bool json = false;
	long count = -1;
	int c, i, ret = 0;

	env = getenv("BUFPOOL_SYSFS");
	if (env && *env)
		sysfs_dir = env;

	while ((c = getopt_long(argc, argv, "+jhi:n:", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'i':
			interval = (unsigned int)strtoul(optarg, NULL, 10);
			if (!interval)
				interval = 1;
			break;
		case 'n':
			count = strtol(optarg, NULL, 10);
			break;
		case 'h':
			print_usage(stdout);
			return 0;
		default:
			print_usage(stderr);
			return 1;
		}
	}
	cmd = optind < argc ? argv[optind++] : "status";

	if (!strcmp(cmd, "status"))
		return cmd_status(json);
	if (!strcmp(cmd, "watch")) {
		while ((c = getopt(argc, argv, "i:n:")) != -1) {
			if (c == 'i')
				interval = (unsigned int)strtoul(optarg, NULL,
								 10);
			else if (c == 'n')
				count = strtol(optarg, NULL, 10);
			else
				return print_usage(stderr), 1;
		}
		return cmd_watch(json, interval ? interval : 1, count);
	}
	if (!strcmp(cmd, "set")) {
		if (optind >= argc) {
			print_usage(stderr);
			return 1;
		}
		if (access(sysfs_dir, F_OK))
			die_unloaded();
		for (i = optind; i < argc; i++)
			ret |= set_one(argv[i]);
		return ret;
	}
	fprintf(stderr, "bufpoolctl: unknown command '%s'\n", cmd);
	print_usage(stderr);
	return 1;
}
