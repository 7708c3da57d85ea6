// SPDX-License-Identifier: GPL-2.0
/*
 * Quota accounts of the character device.  Every file is charged to the
 * account of the user who opened it, so the pool's quota caps what one
 * user may hold, be granted or wait for, over all of the user's files.
 *
 * Who "one user" is: in the initial user namespace, the effective uid.  A
 * process in a user namespace is charged to whoever created the outermost
 * user namespace it lives in (the one whose parent is the initial one),
 * whatever its uid: all the uids of a rootless container (its subordinate
 * uids) and every namespace nested in it share the quota of the user who
 * started it, who cannot multiply quotas by creating namespaces.  A
 * namespace that root created (a system container manager) is an account
 * of its own, shared by everything inside it.
 */

#include <linux/cred.h>
#include <linux/hash.h>
#include <linux/hashtable.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/uidgid.h>
#include <linux/user_namespace.h>

#include "bufpool.h"
#include "bufpool_dev.h"

/**
 * struct bufpool_user - the account of one user
 * @node: link in bufpool_users
 * @uid: the user, when @ns is NULL
 * @ns: the root-created outermost user namespace this account is, or NULL
 *	(referenced)
 * @refs: open files of the user, and buffers the core keeps quarantined
 *	charged to it (dropped to zero only under bufpool_users_lock)
 * @account: what the core charges
 */
struct bufpool_user {
	struct hlist_node node;
	kuid_t uid;
	struct user_namespace *ns;
	refcount_t refs;
	struct bufpool_account account;
};

static DEFINE_MUTEX(bufpool_users_lock);
static DEFINE_HASHTABLE(bufpool_users, 6);

/* Who @cred is charged to: a uid (*@ns NULL) or a root-created namespace. */
static void bufpool_user_key(const struct cred *cred, kuid_t *uid,
			     struct user_namespace **ns)
{
	struct user_namespace *outer = cred->user_ns;

	*ns = NULL;
	if (outer == &init_user_ns) {
		*uid = cred->euid;
		return;
	}
	while (outer->parent != &init_user_ns)
		outer = outer->parent;
	*uid = outer->owner;
	if (uid_eq(outer->owner, GLOBAL_ROOT_UID))
		*ns = outer;
}

static u32 bufpool_user_hash(kuid_t uid, const struct user_namespace *ns)
{
	return hash_ptr(ns, 32) ^ __kuid_val(uid);
}

static struct bufpool_user *to_user(struct bufpool_account *account)
{
	return container_of(account, struct bufpool_user, account);
}

/* Under the pool lock: the entity giving the buffer back holds a reference. */
static void bufpool_user_account_get(struct bufpool_account *account)
{
	refcount_inc(&to_user(account)->refs);
}

static void bufpool_user_account_put(struct bufpool_account *account)
{
	bufpool_user_put(to_user(account));
}

/**
 * bufpool_user_get() - the account @cred is charged to, created on first use
 * @cred: the opener's credentials
 *
 * Return: a referenced account, or NULL if out of memory.
 */
struct bufpool_user *bufpool_user_get(const struct cred *cred)
{
	struct user_namespace *ns;
	struct bufpool_user *u;
	kuid_t uid;
	u32 key;

	bufpool_user_key(cred, &uid, &ns);
	key = bufpool_user_hash(uid, ns);
	mutex_lock(&bufpool_users_lock);
	hash_for_each_possible(bufpool_users, u, node, key)
		if (uid_eq(u->uid, uid) && u->ns == ns)
			goto found;
	u = kzalloc(sizeof(*u), GFP_KERNEL);
	if (!u)
		goto unlock;
	u->uid = uid;
	u->ns = ns ? get_user_ns(ns) : NULL;
	u->account.get = bufpool_user_account_get;
	u->account.put = bufpool_user_account_put;
	refcount_set(&u->refs, 1);
	hash_add(bufpool_users, &u->node, key);
	goto unlock;
found:
	refcount_inc(&u->refs);
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
 *
 * May sleep.  The account outlives its last file while buffers given back
 * through it are quarantined: the core holds a reference for each.
 */
void bufpool_user_put(struct bufpool_user *u)
{
	struct user_namespace *ns;

	if (!refcount_dec_and_mutex_lock(&u->refs, &bufpool_users_lock))
		return;
	WARN_ON(atomic_read(&u->account.charged));
	hash_del(&u->node);
	ns = u->ns;
	kfree(u);
	mutex_unlock(&bufpool_users_lock);
	if (ns)
		put_user_ns(ns);
}
