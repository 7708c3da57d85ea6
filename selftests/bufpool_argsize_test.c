// SPDX-License-Identifier: GPL-2.0
/*
 * bufpool argument sizes: every command accepts a size from the first
 * published version of its structure (BUFPOOL_*_SIZE_VER0) up to
 * BUFPOOL_ARG_SIZE_MAX, refuses one below with -EINVAL and one above with
 * -E2BIG whatever the page size, and writes results back over no more than
 * min(caller's size, kernel's size): a canary past the caller's structure
 * is never touched.  Unknown command numbers are -ENOTTY.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "bufpool_util.h"

/* room for the largest accepted argument and a canary after it */
#define ARG_ROOM	(2 * BUFPOOL_ARG_SIZE_MAX)
#define CANARY		0xa5

struct cmd_size {
	const char *name;
	unsigned long cmd;
	size_t ver0;		/* first published size */
	size_t size;		/* this header's size */
};

static const struct cmd_size cmds[] = {
	{ "INFO", BUFPOOL_IOC_INFO, BUFPOOL_INFO_SIZE_VER0,
	  sizeof(struct bufpool_info) },
	{ "ALLOC", BUFPOOL_IOC_ALLOC, BUFPOOL_ALLOC_SIZE_VER0,
	  sizeof(struct bufpool_alloc) },
	{ "RELEASE", BUFPOOL_IOC_RELEASE, BUFPOOL_RELEASE_SIZE_VER0,
	  sizeof(struct bufpool_release) },
	{ "CANCEL", BUFPOOL_IOC_CANCEL, BUFPOOL_CANCEL_SIZE_VER0,
	  sizeof(struct bufpool_cancel) },
	{ "STATS", BUFPOOL_IOC_STATS, BUFPOOL_STATS_SIZE_VER0,
	  sizeof(struct bufpool_stats) },
};

FIXTURE(argsize) {
	int fd;
	unsigned char *arg;	/* ARG_ROOM bytes */
};

FIXTURE_SETUP(argsize)
{
	self->fd = bp_open(0);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", BP_DEV, strerror(errno));
	ASSERT_EQ(0, bp_wait_idle(self->fd));
	self->arg = malloc(ARG_ROOM);
	ASSERT_NE(NULL, self->arg);
}

FIXTURE_TEARDOWN(argsize)
{
	free(self->arg);
	close(self->fd);
}

/* Zero the first @len bytes of @b, fill the rest with the canary. */
static void arg_prep(unsigned char *b, size_t len)
{
	memset(b, 0, len);
	memset(b + len, CANARY, ARG_ROOM - len);
}

/* Offset of the first byte from @from on that is not the canary, or 0. */
static int canary_hit(const unsigned char *b, int from)
{
	int i;

	for (i = from; i < ARG_ROOM; i++)
		if (b[i] != CANARY)
			return i;
	return 0;
}

/* @call, expecting @err, with STATS unchanged around it; @what says which. */
#define EXPECT_NOCHANGE(err, call, what, ...) do {			\
	struct bufpool_stats __b, __a;					\
									\
	ASSERT_EQ(0, bp_stats(self->fd, &__b));				\
	EXPECT_EQ(err, (call)) TH_LOG(what, ##__VA_ARGS__);		\
	ASSERT_EQ(0, bp_stats(self->fd, &__a));				\
	EXPECT_TRUE(bp_stats_same(&__b, &__a));				\
} while (0)

TEST_F(argsize, below_first_version)
{
	__u32 *size = (__u32 *)self->arg;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		/* refused before anything is read or written past the size */
		arg_prep(self->arg, sizeof(*size));
		*size = cmds[i].ver0 - 1;
		EXPECT_NOCHANGE(-EINVAL, bp_ioctl(self->fd, cmds[i].cmd,
						  self->arg),
				"%s size %zu", cmds[i].name, cmds[i].ver0 - 1);
		*size = 0;
		EXPECT_NOCHANGE(-EINVAL, bp_ioctl(self->fd, cmds[i].cmd,
						  self->arg),
				"%s size 0", cmds[i].name);
		EXPECT_EQ(0, canary_hit(self->arg, sizeof(*size)));
	}
}

TEST_F(argsize, above_max_any_page_size)
{
	static const __u32 sizes[] = {
		BUFPOOL_ARG_SIZE_MAX + 1, BUFPOOL_ARG_SIZE_MAX + 8,
		2 * BUFPOOL_ARG_SIZE_MAX, 16384, 65536, 0xffffffff,
	};
	__u32 *size = (__u32 *)self->arg;
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		for (j = 0; j < ARRAY_SIZE(sizes); j++) {
			/* the whole room zero: only the size is wrong */
			memset(self->arg, 0, ARG_ROOM);
			*size = sizes[j];
			EXPECT_NOCHANGE(-E2BIG, bp_ioctl(self->fd, cmds[i].cmd,
							 self->arg),
					"%s size %u", cmds[i].name, sizes[j]);
		}
	}
}

/* INFO and STATS at @usize: 0, and nothing written past min(usize, ours). */
static void check_result_clamped(struct __test_metadata *_metadata,
				 int fd, unsigned char *b,
				 const struct cmd_size *c, size_t usize)
{
	int hit, limit = usize < c->size ? usize : c->size;

	arg_prep(b, usize);
	*(__u32 *)b = usize;
	ASSERT_EQ(0, bp_ioctl(fd, c->cmd, b))
		TH_LOG("%s size %zu refused", c->name, usize);
	/* the kernel's own size goes back in the size field */
	EXPECT_EQ(c->size, *(__u32 *)b);
	hit = canary_hit(b, usize);
	EXPECT_EQ(0, hit) TH_LOG("%s size %zu: byte %d written", c->name,
				 usize, hit);
	/* a zero tail past the kernel's structure stays zero */
	for (hit = limit; hit < (int)usize; hit++)
		if (b[hit])
			break;
	EXPECT_EQ((int)usize, hit)
		TH_LOG("%s size %zu: tail byte %d written", c->name, usize,
		       hit);
}

TEST_F(argsize, results_clamped)
{
	struct bufpool_stats st;
	unsigned int i;

	ASSERT_EQ(0, bp_stats(self->fd, &st));
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		const struct cmd_size *c = &cmds[i];

		if (c->cmd != BUFPOOL_IOC_INFO && c->cmd != BUFPOOL_IOC_STATS)
			continue;
		check_result_clamped(_metadata, self->fd, self->arg, c,
				     c->ver0);
		check_result_clamped(_metadata, self->fd, self->arg, c,
				     c->size);
		check_result_clamped(_metadata, self->fd, self->arg, c,
				     c->size + 8);
		check_result_clamped(_metadata, self->fd, self->arg, c,
				     BUFPOOL_ARG_SIZE_MAX);
		/* a size between two versions is a shorter structure */
		if (c->size > c->ver0)
			check_result_clamped(_metadata, self->fd, self->arg,
					     c, c->ver0 + 4);
	}
}

TEST_F(argsize, info_first_version)
{
	struct bufpool_info *info = (struct bufpool_info *)self->arg;
	struct bufpool_stats st;

	/* a program built against the first INFO, without entity_id */
	ASSERT_EQ(0, bp_stats(self->fd, &st));
	arg_prep(self->arg, BUFPOOL_INFO_SIZE_VER0);
	info->size = BUFPOOL_INFO_SIZE_VER0;
	ASSERT_EQ(0, bp_ioctl(self->fd, BUFPOOL_IOC_INFO, info));
	EXPECT_EQ((__u32)BUFPOOL_ABI_VERSION, info->abi_version);
	EXPECT_EQ((__u32)BUFPOOL_NR_CLASSES, info->nr_classes);
	EXPECT_EQ((__u32)BUFPOOL_ALLOC_MAX, info->alloc_max);
	EXPECT_EQ(st.bufsize, info->bufsize);
	EXPECT_EQ(sizeof(*info), info->size);
	EXPECT_EQ(0, canary_hit(self->arg, BUFPOOL_INFO_SIZE_VER0));
}

TEST_F(argsize, input_first_version)
{
	unsigned char *b = self->arg;
	__u32 id = 0, ids[1];
	struct bufpool_alloc *a = (struct bufpool_alloc *)b;
	struct bufpool_release *r = (struct bufpool_release *)b;
	struct bufpool_cancel *c = (struct bufpool_cancel *)b;

	/* the first published sizes of the commands that take input */
	arg_prep(b, BUFPOOL_ALLOC_SIZE_VER0);
	a->size = BUFPOOL_ALLOC_SIZE_VER0;
	a->flags = BUFPOOL_ALLOC_NOQUEUE;
	a->alloc_class = BP_CRIT;
	a->count = 1;
	a->ids_ptr = bp_ptr(ids);
	ASSERT_EQ(0, bp_ioctl(self->fd, BUFPOOL_IOC_ALLOC, a));
	EXPECT_EQ(0, canary_hit(b, BUFPOOL_ALLOC_SIZE_VER0));
	id = ids[0];

	arg_prep(b, BUFPOOL_RELEASE_SIZE_VER0);
	r->size = BUFPOOL_RELEASE_SIZE_VER0;
	r->count = 1;
	r->ids_ptr = bp_ptr(&id);
	EXPECT_EQ(0, bp_ioctl(self->fd, BUFPOOL_IOC_RELEASE, r));
	EXPECT_EQ(0, canary_hit(b, BUFPOOL_RELEASE_SIZE_VER0));

	arg_prep(b, BUFPOOL_CANCEL_SIZE_VER0);
	c->size = BUFPOOL_CANCEL_SIZE_VER0;
	EXPECT_EQ(-ENOENT, bp_ioctl(self->fd, BUFPOOL_IOC_CANCEL, c));
	EXPECT_EQ(0, canary_hit(b, BUFPOOL_CANCEL_SIZE_VER0));
}

TEST_F(argsize, unknown_number)
{
	static const unsigned int nrs[] = { 5, 6, 0x10, 0x7f, 0x80, 0xff };
	__u32 *size = (__u32 *)self->arg;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(nrs); i++) {
		memset(self->arg, 0, ARG_ROOM);
		*size = sizeof(struct bufpool_stats);
		EXPECT_NOCHANGE(-ENOTTY,
				bp_ioctl(self->fd,
					 _IOWR(BUFPOOL_IOC_MAGIC, nrs[i],
					       struct bufpool_stats),
					 self->arg),
				"number %#x", nrs[i]);
		/* an unknown command reads nothing: a bad pointer is fine */
		EXPECT_EQ(-ENOTTY, bp_ioctl(self->fd,
					    _IOWR(BUFPOOL_IOC_MAGIC, nrs[i],
						  struct bufpool_stats),
					    NULL));
	}
}

TEST_HARNESS_MAIN
