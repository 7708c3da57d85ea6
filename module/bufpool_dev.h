/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The character device adapter, as seen by the module's init and exit,
 * and its helpers: sysfs attributes and per-user accounts.
 */
#ifndef _BUFPOOL_DEV_H
#define _BUFPOOL_DEV_H

struct attribute_group;
struct bufpool;
struct bufpool_account;
struct bufpool_user;
struct cred;

/* bufpool_users.c: one quota account per user (see there who that is) */
struct bufpool_user *bufpool_user_get(const struct cred *cred);
struct bufpool_account *bufpool_user_account(struct bufpool_user *u);
void bufpool_user_put(struct bufpool_user *u);

/* bufpool_sysfs.c: the attribute groups of the device */
extern const struct attribute_group *bufpool_sysfs_groups[];

int bufpool_dev_register(struct bufpool *pool);
void bufpool_dev_unregister(void);

#endif /* _BUFPOOL_DEV_H */
