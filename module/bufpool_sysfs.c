// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs view of the system pool, under /sys/class/misc/bufpool/:
 * the tunables (limit, reserve, threshold_*, user_quota, policy) at the top, writable by
 * CAP_SYS_ADMIN, and one read-only file per counter in stats/.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/mutex.h>
#include <linux/sysfs.h>

#include "bufpool.h"
#include "bufpool_dev.h"

/* Serializes the read-modify-write of the tunables by their files. */
static DEFINE_MUTEX(bufpool_tune_mutex);

enum bufpool_tunable {
	BUFPOOL_TUNE_LIMIT,
	BUFPOOL_TUNE_RESERVE,
	BUFPOOL_TUNE_THRESHOLD_NORMAL,
	BUFPOOL_TUNE_THRESHOLD_LOW,
	BUFPOOL_TUNE_USER_QUOTA,
};

static unsigned int *bufpool_tunable_field(struct bufpool_tunables *t,
					   enum bufpool_tunable which)
{
	switch (which) {
	case BUFPOOL_TUNE_LIMIT:
		return &t->limit;
	case BUFPOOL_TUNE_RESERVE:
		return &t->reserve;
	case BUFPOOL_TUNE_THRESHOLD_NORMAL:
		return &t->headroom[BUFPOOL_CLASS_NORMAL];
	case BUFPOOL_TUNE_USER_QUOTA:
		return &t->quota;
	default:
		return &t->headroom[BUFPOOL_CLASS_LOW];
	}
}

/**
 * struct bufpool_tunable_attr - a sysfs file for one tunable
 * @attr: the device attribute
 * @which: the tunable it shows and sets
 */
struct bufpool_tunable_attr {
	struct device_attribute attr;
	enum bufpool_tunable which;
};

static enum bufpool_tunable bufpool_attr_which(struct device_attribute *attr)
{
	return container_of(attr, struct bufpool_tunable_attr, attr)->which;
}

static ssize_t bufpool_tunable_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	struct bufpool_tunables t;

	bufpool_get_tunables(bufpool_system_pool(), &t);
	return sysfs_emit(buf, "%u\n",
			  *bufpool_tunable_field(&t, bufpool_attr_which(attr)));
}

/*
 * The thresholds follow the reserve (NORMAL = reserve, LOW = 2 * reserve)
 * until one of them is written by hand.
 */
static ssize_t bufpool_tunable_store(struct device *dev,
				     struct device_attribute *attr,
				     const char *buf, size_t len)
{
	enum bufpool_tunable which = bufpool_attr_which(attr);
	struct bufpool *pool = bufpool_system_pool();
	struct bufpool_tunables t, def;
	const char *why = "";
	unsigned int val;
	bool follow;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = kstrtouint(buf, 0, &val);
	if (ret)
		return ret;

	mutex_lock(&bufpool_tune_mutex);
	bufpool_get_tunables(pool, &t);
	def = t;
	bufpool_default_headroom(&def);
	follow = !memcmp(def.headroom, t.headroom, sizeof(t.headroom));
	*bufpool_tunable_field(&t, which) = val;
	if (follow && (which == BUFPOOL_TUNE_LIMIT ||
		       which == BUFPOOL_TUNE_RESERVE))
		bufpool_default_headroom(&t);
	ret = bufpool_set_tunables(pool, &t, &why);
	mutex_unlock(&bufpool_tune_mutex);

	if (ret == -ERANGE) {
		pr_info_ratelimited("tunable rejected: %s (at most limit=%u here)\n",
				    why, bufpool_limit_max(bufpool_bufsize(pool)));
		return ret;
	}
	if (ret) {
		pr_info_ratelimited("tunable rejected: %s\n", why);
		return ret;
	}
	return len;
}

#define BUFPOOL_TUNABLE_ATTR(_name, _which)				\
static struct bufpool_tunable_attr bufpool_attr_##_name = {		\
	.attr = __ATTR(_name, 0644, bufpool_tunable_show,		\
		       bufpool_tunable_store),				\
	.which = _which,						\
}

BUFPOOL_TUNABLE_ATTR(limit, BUFPOOL_TUNE_LIMIT);
BUFPOOL_TUNABLE_ATTR(reserve, BUFPOOL_TUNE_RESERVE);
BUFPOOL_TUNABLE_ATTR(threshold_normal, BUFPOOL_TUNE_THRESHOLD_NORMAL);
BUFPOOL_TUNABLE_ATTR(threshold_low, BUFPOOL_TUNE_THRESHOLD_LOW);
BUFPOOL_TUNABLE_ATTR(user_quota, BUFPOOL_TUNE_USER_QUOTA);

static const char * const bufpool_policy_names[BUFPOOL_NR_POLICIES] = {
	[BUFPOOL_POLICY_HANDOFF] = "handoff",
	[BUFPOOL_POLICY_OFFER] = "offer",
	[BUFPOOL_POLICY_ALL] = "all",
	[BUFPOOL_POLICY_ADAPTIVE] = "adaptive",
};

/* All policies, the current one in brackets, as the I/O schedulers do. */
static ssize_t policy_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct bufpool_tunables t;
	unsigned int i;
	int len = 0;

	bufpool_get_tunables(bufpool_system_pool(), &t);
	for (i = 0; i < BUFPOOL_NR_POLICIES; i++)
		len += sysfs_emit_at(buf, len, i == t.policy ? "%s[%s]" : "%s%s",
				     i ? " " : "", bufpool_policy_names[i]);
	len += sysfs_emit_at(buf, len, "\n");
	return len;
}

static ssize_t policy_store(struct device *dev, struct device_attribute *attr,
			    const char *buf, size_t len)
{
	struct bufpool *pool = bufpool_system_pool();
	struct bufpool_tunables t;
	const char *why = "";
	int policy, ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	policy = sysfs_match_string(bufpool_policy_names, buf);
	if (policy < 0)
		return policy;

	mutex_lock(&bufpool_tune_mutex);
	bufpool_get_tunables(pool, &t);
	t.policy = policy;
	ret = bufpool_set_tunables(pool, &t, &why);
	mutex_unlock(&bufpool_tune_mutex);
	return ret ? ret : len;
}
static DEVICE_ATTR_RW(policy);

static ssize_t bufsize_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%zu\n", bufpool_bufsize(bufpool_system_pool()));
}
static DEVICE_ATTR_RO(bufsize);

static struct attribute *bufpool_tunable_attrs[] = {
	&bufpool_attr_limit.attr.attr,
	&bufpool_attr_reserve.attr.attr,
	&bufpool_attr_threshold_normal.attr.attr,
	&bufpool_attr_threshold_low.attr.attr,
	&bufpool_attr_user_quota.attr.attr,
	&dev_attr_policy.attr,
	&dev_attr_bufsize.attr,
	NULL,
};

static const struct attribute_group bufpool_tunable_group = {
	.attrs = bufpool_tunable_attrs,
};

#define BUFPOOL_STAT_ATTR(name, field)					\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	struct bufpool_stats st;					\
									\
	bufpool_get_stats(bufpool_system_pool(), &st);			\
	return sysfs_emit(buf, "%llu\n", st.field);			\
}									\
static DEVICE_ATTR_RO(name)

BUFPOOL_STAT_ATTR(in_use, in_use);
BUFPOOL_STAT_ATTR(free, free);
BUFPOOL_STAT_ATTR(allocated, allocated);
BUFPOOL_STAT_ATTR(queued_critical, queued[BUFPOOL_CLASS_CRITICAL]);
BUFPOOL_STAT_ATTR(queued_normal, queued[BUFPOOL_CLASS_NORMAL]);
BUFPOOL_STAT_ATTR(queued_low, queued[BUFPOOL_CLASS_LOW]);
BUFPOOL_STAT_ATTR(allocations, allocations);
BUFPOOL_STAT_ATTR(grants_waited, grants_waited);
BUFPOOL_STAT_ATTR(wakeups, wakeups);
BUFPOOL_STAT_ATTR(spurious_wakeups, spurious_wakeups);
BUFPOOL_STAT_ATTR(releases, releases);
BUFPOOL_STAT_ATTR(page_alloc_failures, page_alloc_failures);
BUFPOOL_STAT_ATTR(peak_in_use, peak_in_use);
BUFPOOL_STAT_ATTR(peak_queued, peak_queued);
BUFPOOL_STAT_ATTR(quarantined, quarantined);
BUFPOOL_STAT_ATTR(shrunk, shrunk);
BUFPOOL_STAT_ATTR(drains, drains);

static struct attribute *bufpool_stat_attrs[] = {
	&dev_attr_in_use.attr,
	&dev_attr_free.attr,
	&dev_attr_allocated.attr,
	&dev_attr_queued_critical.attr,
	&dev_attr_queued_normal.attr,
	&dev_attr_queued_low.attr,
	&dev_attr_allocations.attr,
	&dev_attr_grants_waited.attr,
	&dev_attr_wakeups.attr,
	&dev_attr_spurious_wakeups.attr,
	&dev_attr_releases.attr,
	&dev_attr_page_alloc_failures.attr,
	&dev_attr_peak_in_use.attr,
	&dev_attr_peak_queued.attr,
	&dev_attr_quarantined.attr,
	&dev_attr_shrunk.attr,
	&dev_attr_drains.attr,
	NULL,
};

static const struct attribute_group bufpool_stat_group = {
	.name = "stats",
	.attrs = bufpool_stat_attrs,
};

const struct attribute_group *bufpool_sysfs_groups[] = {
	&bufpool_tunable_group,
	&bufpool_stat_group,
	NULL,
};
