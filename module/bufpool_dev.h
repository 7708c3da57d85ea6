/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The character device adapter, as seen by the module's init and exit.
 */
#ifndef _BUFPOOL_DEV_H
#define _BUFPOOL_DEV_H

struct bufpool;

int bufpool_dev_register(struct bufpool *pool);
void bufpool_dev_unregister(void);

#endif /* _BUFPOOL_DEV_H */
