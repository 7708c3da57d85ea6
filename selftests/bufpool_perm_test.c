// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool device permission selftests.  The module creates /dev/bufpool
 * root:root 0600, so only root may open it.  tools/udev/60-bufpool.rules
 * opens it to a group; the VM has no udev, so the test reads the rule
 * (shipped as /etc/udev/rules.d/60-bufpool.rules), applies its GROUP and
 * MODE itself, and checks as unprivileged users that a member of the group
 * may open it and use it, and a non-member gets EACCES.  The group name is
 * looked up in /etc/group if there is one, else it stands for gid 4242.
 * Where udev runs, the node has the mode of its rules, not the module's:
 * default_is_root_only SKIPs there.  The node gets back the owner and mode
 * it had.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_sys_util.h"

#define RULES		"/etc/udev/rules.d/60-bufpool.rules"
#define DEFAULT_GID	4242

/* Copy the value of KEY="value" (not KEY==) from @line into @out. */
static bool rule_value(const char *line, const char *key, char *out,
		       size_t len)
{
	const char *p = line, *end;
	size_t klen = strlen(key);

	while ((p = strstr(p, key))) {
		bool word = p == line || p[-1] == ' ' || p[-1] == ',';

		p += klen;
		if (!word || strncmp(p, "=\"", 2))
			continue;
		p += 2;
		end = strchr(p, '"');
		if (!end || (size_t)(end - p) >= len)
			return false;
		memcpy(out, p, end - p);
		out[end - p] = '\0';
		return true;
	}
	return false;
}

/* The gid of group @name from /etc/group, or DEFAULT_GID. */
static gid_t group_gid(const char *name)
{
	FILE *f = fopen("/etc/group", "r");
	char line[512];
	gid_t gid = DEFAULT_GID;
	char *colon;

	while (f && fgets(line, sizeof(line), f)) {
		colon = strchr(line, ':');
		if (!colon || (size_t)(colon - line) != strlen(name) ||
		    strncmp(line, name, colon - line))
			continue;
		colon = strchr(colon + 1, ':');
		if (colon)
			gid = (gid_t)strtoul(colon + 1, NULL, 10);
		break;
	}
	if (f)
		fclose(f);
	return gid;
}

/* Parse the rule for KERNEL=="bufpool": its GROUP and MODE. */
static int parse_rules(char *group, size_t len, mode_t *mode)
{
	FILE *f = fopen(RULES, "r");
	char line[1024], m[16];
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || !strstr(line, "KERNEL==\"bufpool\""))
			continue;
		if (rule_value(line, "GROUP", group, len) &&
		    rule_value(line, "MODE", m, sizeof(m))) {
			*mode = (mode_t)strtoul(m, NULL, 8);
			ret = 0;
		}
		break;
	}
	fclose(f);
	return ret;
}

/* In a child as @uid with @ngroups of @groups: open's errno, or 0. */
static int open_as(uid_t uid, gid_t gid, size_t ngroups, const gid_t *groups,
		   bool use_it)
{
	pid_t pid = bp_fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		__u32 id[1];
		int fd;

		if (bp_become(uid, gid, ngroups, groups))
			_exit(200);
		fd = bp_open(0);
		if (fd < 0)
			_exit(errno);
		if (use_it && (bp_try(fd, BP_NORM, 1, id) ||
			       bp_release(fd, id, 1)))
			_exit(201);
		/* a group member is still no administrator */
		if (use_it && uid && bp_sysfs_set("limit", 1) != -EACCES)
			_exit(202);
		_exit(0);
	}
	return bp_reap(pid);
}

FIXTURE(perm) {
	int unused;
};

FIXTURE_SETUP(perm)
{
	ASSERT_EQ(0, bp_dev_save());
	ASSERT_TRUE(bp_others_can_reach(BP_DEV)) TH_LOG("%s: %s", BP_DEV,
							BP_REACH_MSG);
}

FIXTURE_TEARDOWN(perm)
{
	EXPECT_EQ(0, bp_dev_close_down());
}

TEST_F(perm, default_is_root_only)
{
	gid_t g = BP_GID;
	struct stat s;

	if (!access("/run/udev/control", F_OK))
		SKIP(return, "udev runs here: %s has the mode of its rules", BP_DEV);
	ASSERT_EQ(0, stat(BP_DEV, &s));
	EXPECT_TRUE(S_ISCHR(s.st_mode));
	EXPECT_EQ(0600U, s.st_mode & 07777);
	EXPECT_EQ(0U, s.st_uid);
	EXPECT_EQ(0U, s.st_gid);
	EXPECT_EQ(EACCES, open_as(BP_UID, BP_GID, 1, &g, false));
	/* even in group 0 */
	g = 0;
	EXPECT_EQ(EACCES, open_as(BP_UID, BP_GID, 1, &g, false));
	EXPECT_EQ(0, open_as(0, 0, 0, NULL, true));
}

TEST_F(perm, udev_rule_opens_to_group)
{
	char group[64];
	mode_t mode = 0;
	gid_t gid, member[2], other = BP_GID2;
	struct stat s;
	int ret;

	ret = parse_rules(group, sizeof(group), &mode);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s (ship tools/udev/60-bufpool.rules there)",
				 RULES, strerror(-ret));
	EXPECT_STREQ("bufpool", group);
	EXPECT_EQ(0660U, mode);
	gid = group_gid(group);

	/* what udev would do with the rule */
	ASSERT_EQ(0, chown(BP_DEV, 0, gid));
	ASSERT_EQ(0, chmod(BP_DEV, mode));
	ASSERT_EQ(0, stat(BP_DEV, &s));
	EXPECT_EQ(mode, s.st_mode & 07777);

	/* a member, by supplementary group or as its primary group */
	member[0] = BP_GID;
	member[1] = gid;
	EXPECT_EQ(0, open_as(BP_UID, BP_GID, 2, member, true));
	EXPECT_EQ(0, open_as(BP_UID2, gid, 0, NULL, true));
	/* not a member */
	EXPECT_EQ(EACCES, open_as(BP_UID, BP_GID, 1, member, false));
	EXPECT_EQ(EACCES, open_as(BP_UID2, BP_GID2, 1, &other, false));
	EXPECT_EQ(EACCES, open_as(BP_UID2, BP_GID2, 0, NULL, false));
	/* the group may read and write, nobody else anything */
	EXPECT_EQ(0U, mode & 0007);
	EXPECT_EQ(0060U, mode & 0060);
}

TEST_HARNESS_MAIN
