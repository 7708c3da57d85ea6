// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool module entry: the load-time parameters, the system pool they
 * describe, and /dev/bufpool on top of it.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/init.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "bufpool.h"
#include "bufpool_dev.h"

static unsigned int limit = 256;
module_param(limit, uint, 0444);
MODULE_PARM_DESC(limit,
		 "Most buffers in use at once, 1..65536, limit x bufsize at most half of the memory (default 256)");

static unsigned int reserve = 4;
module_param(reserve, uint, 0444);
MODULE_PARM_DESC(reserve,
		 "Buffers only CRITICAL requests may take, preallocated at load; below limit (default 4)");

static unsigned long bufsize = 16384;
module_param(bufsize, ulong, 0444);
MODULE_PARM_DESC(bufsize,
		 "Bytes per buffer, rounded up to whole pages, at most 4 MiB (default 16384)");

static unsigned int user_quota;
module_param(user_quota, uint, 0444);
MODULE_PARM_DESC(user_quota,
		 "Most buffers one user may hold, be granted or wait for; 0 for no quota (default 0)");

static struct bufpool *bufpool_sys;

/**
 * bufpool_system_pool() - the pool behind /dev/bufpool
 *
 * In-kernel users that attach entities to it share the budget of the
 * device's users.  Valid while the caller holds a reference on this
 * module, which a symbol reference gives.
 *
 * Return: the pool.
 */
struct bufpool *bufpool_system_pool(void)
{
	return bufpool_sys;
}
EXPORT_SYMBOL_GPL(bufpool_system_pool);

static int __init bufpool_init(void)
{
	struct bufpool_config cfg = {
		.limit = limit,
		.reserve = reserve,
		.bufsize = bufsize,
		.quota = user_quota,
	};
	const char *why;
	int ret;

	ret = bufpool_check_config(&cfg, &why);
	if (ret == -ERANGE) {
		pr_err("refusing to load: %s (limit=%u bufsize=%lu: at most limit=%u with %lu MiB of memory)\n",
		       why, limit, bufsize, bufpool_limit_max(bufsize),
		       totalram_pages() >> (20 - PAGE_SHIFT));
		return ret;
	}
	if (ret) {
		pr_err("refusing to load: %s (limit=%u reserve=%u bufsize=%lu user_quota=%u)\n",
		       why, limit, reserve, bufsize, user_quota);
		return ret;
	}

	bufpool_sys = bufpool_create(&cfg);
	if (IS_ERR(bufpool_sys)) {
		ret = PTR_ERR(bufpool_sys);
		pr_err("cannot allocate the reserve of %u buffers: %d\n",
		       reserve, ret);
		return ret;
	}

	ret = bufpool_dev_register(bufpool_sys);
	if (ret) {
		pr_err("cannot register /dev/%s: %d\n", BUFPOOL_DEVICE_NAME,
		       ret);
		goto destroy_pool;
	}
	pr_info("limit=%u reserve=%u bufsize=%zu user_quota=%u\n", limit,
		reserve, bufpool_bufsize(bufpool_sys), user_quota);
	return 0;

destroy_pool:
	bufpool_destroy(bufpool_sys);
	return ret;
}

static void __exit bufpool_exit(void)
{
	bufpool_dev_unregister();
	bufpool_destroy(bufpool_sys);
}

module_init(bufpool_init);
module_exit(bufpool_exit);

MODULE_DESCRIPTION("Bounded pool of memory buffers with fair, deadlock-free waiting");
MODULE_LICENSE("GPL");
MODULE_VERSION(BUFPOOL_VERSION);
