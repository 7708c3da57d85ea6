/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The character device adapter, as seen by the module's init and exit,
 * and the sysfs attributes it carries.
 */
#ifndef _BUFPOOL_DEV_H
#define _BUFPOOL_DEV_H

struct attribute_group;
struct bufpool;

/* bufpool_sysfs.c: the attribute groups of the device */
extern const struct attribute_group *bufpool_sysfs_groups[];

int bufpool_dev_register(struct bufpool *pool);
void bufpool_dev_unregister(void);

#endif /* _BUFPOOL_DEV_H */
