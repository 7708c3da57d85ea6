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

/* bufpool_status.c: the status page of a file (see there) */
struct bufpool_entity;
struct bufpool_status;
struct vm_area_struct;
bool bufpool_status_vma(const struct vm_area_struct *vma);
int bufpool_status_mmap(struct bufpool_status **slot,
			struct vm_area_struct *vma);
unsigned int bufpool_status_publish_locked(struct bufpool_status *st,
					   struct bufpool_entity *e);
void bufpool_status_free(struct bufpool_status *st);

int bufpool_dev_register(struct bufpool *pool);
void bufpool_dev_unregister(void);

#endif /* _BUFPOOL_DEV_H */
