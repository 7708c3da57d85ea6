// SPDX-License-Identifier: GPL-2.0
/*
 * Per-user accounts of the character device: every file opened by the same
 * effective uid is charged to one struct bufpool_account, so the pool's
 * quota caps what one user may hold, be granted or wait for.
 */

#include <linux/hashtable.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uidgid.h>

#include "bufpool.h"
#include "bufpool_dev.h"

/**
 * struct bufpool_user - the account of one user
 * @node: link in bufpool_users
 * @uid: the user
 * @refs: open files of the user (under bufpool_users_lock)
 * @account: what the core charges
 */
struct bufpool_user {
	struct hlist_node node;
	kuid_t uid;
	unsigned int refs;
	struct bufpool_account account;
};

static DEFINE_MUTEX(bufpool_users_lock);
static DEFINE_HASHTABLE(bufpool_users, 6);

/**
 * bufpool_user_get() - the account of @uid, created on first use
 * @uid: the user
 *
 * Return: a referenced account, or NULL if out of memory.
 */
struct bufpool_user *bufpool_user_get(kuid_t uid)
{
	struct bufpool_user *u;

	mutex_lock(&bufpool_users_lock);
	hash_for_each_possible(bufpool_users, u, node, __kuid_val(uid))
		if (uid_eq(u->uid, uid))
			goto found;
	u = kzalloc(sizeof(*u), GFP_KERNEL);
	if (!u)
		goto unlock;
	u->uid = uid;
	hash_add(bufpool_users, &u->node, __kuid_val(uid));
found:
	u->refs++;
unlock:
	mutex_unlock(&bufpool_users_lock);
	return u;
}

/**
 * bufpool_user_account() - what the core charges for @u
 * @u: the user
 *
 * Return: the account.
 */
struct bufpool_account *bufpool_user_account(struct bufpool_user *u)
{
	return &u->account;
}

/**
 * bufpool_user_put() - drop a reference taken by bufpool_user_get()
 * @u: the user, whose entity has been destroyed
 */
void bufpool_user_put(struct bufpool_user *u)
{
	mutex_lock(&bufpool_users_lock);
	if (!--u->refs) {
		WARN_ON(u->account.charged);
		hash_del(&u->node);
		kfree(u);
	}
	mutex_unlock(&bufpool_users_lock);
}
