/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tracefs for the bufpool selftests: mount it, write and read its files,
 * and switch events on without patching the scheduler.
 */
#ifndef _BUFPOOL_TRACE_UTIL_H
#define _BUFPOOL_TRACE_UTIL_H

#include <sys/mount.h>

#include "bufpool_sys_util.h"

#define TRACEFS		"/sys/kernel/tracing"

/* Write @val to TRACEFS/@name, truncating it: 0 or -errno. */
static inline int tr_write(const char *name, const char *val)
{
	return bp_write_file(TRACEFS, name, val);
}

/* Read the first line of TRACEFS/@name into @buf, or "" on failure. */
static inline void tr_read(const char *name, char *buf, size_t len)
{
	char path[320];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), TRACEFS "/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* Is tracefs at TRACEFS (mounted there now if it was not)? */
static inline bool tr_mounted(void)
{
	struct stat s;

	if (stat(TRACEFS "/trace", &s))
		mount("tracefs", TRACEFS, "tracefs", 0, NULL);
	return !stat(TRACEFS "/trace", &s);
}

/*
 * Stop tracefs recording the comm of each traced task; returns the
 * option's previous value for tr_cmd_restore(), or -errno.  With
 * options/record-cmd set (the default) the first event switched on also
 * hooks sched_switch and sched_wakeup, which patches the scheduler's text
 * while the other CPUs run it: under QEMU TCG that kills a vCPU with an
 * int3 Oops in __schedule().  Switching bufpool's events patches only
 * bufpool's own text.  The tests match events by entity id, never by
 * comm.  Call it while no event is on.
 */
static inline int tr_cmd_off(void)
{
	char was[8];
	int ret;

	tr_read("options/record-cmd", was, sizeof(was));
	if (was[0] != '0' && was[0] != '1')
		return -ENOENT;
	ret = tr_write("options/record-cmd", "0");
	return ret ?: was[0] - '0';
}

/* Put options/record-cmd back as tr_cmd_off() found it (@was >= 0). */
static inline void tr_cmd_restore(int was)
{
	if (was >= 0)
		tr_write("options/record-cmd", was ? "1" : "0");
}

#endif /* _BUFPOOL_TRACE_UTIL_H */
