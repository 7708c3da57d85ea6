/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: the doubly linked circular list API the core uses,
 * written from the kernel's documented semantics.  Deleted entries are
 * poisoned so that a use after list_del() faults.
 */
#ifndef _BP_SHIM_LIST_H
#define _BP_SHIM_LIST_H

#include <linux/kernel.h>

struct list_head {
	struct list_head *next, *prev;
};

#define LIST_POISON1	((struct list_head *)0x100)
#define LIST_POISON2	((struct list_head *)0x122)

#define LIST_HEAD_INIT(name)	{ &(name), &(name) }
#define LIST_HEAD(name)		struct list_head name = LIST_HEAD_INIT(name)

static inline void INIT_LIST_HEAD(struct list_head *h)
{
	WRITE_ONCE(h->next, h);
	h->prev = h;
}

static inline void __list_link(struct list_head *n, struct list_head *prev,
			       struct list_head *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	WRITE_ONCE(prev->next, n);
}

static inline void list_add(struct list_head *n, struct list_head *h)
{
	__list_link(n, h, h->next);
}

static inline void list_add_tail(struct list_head *n, struct list_head *h)
{
	__list_link(n, h->prev, h);
}

static inline void __list_unlink(struct list_head *e)
{
	e->next->prev = e->prev;
	WRITE_ONCE(e->prev->next, e->next);
}

static inline void list_del(struct list_head *e)
{
	__list_unlink(e);
	e->next = LIST_POISON1;
	e->prev = LIST_POISON2;
}

static inline void list_del_init(struct list_head *e)
{
	__list_unlink(e);
	INIT_LIST_HEAD(e);
}

static inline void list_move_tail(struct list_head *e, struct list_head *h)
{
	__list_unlink(e);
	list_add_tail(e, h);
}

static inline void list_move(struct list_head *e, struct list_head *h)
{
	__list_unlink(e);
	list_add(e, h);
}

static inline bool list_empty(const struct list_head *h)
{
	return READ_ONCE(h->next) == h;
}

static inline bool list_is_singular(const struct list_head *h)
{
	return !list_empty(h) && h->next == h->prev;
}

/* Insert the entries of @from between @prev and @next. */
static inline void __list_splice(const struct list_head *from,
				 struct list_head *prev,
				 struct list_head *next)
{
	struct list_head *first = from->next, *last = from->prev;

	first->prev = prev;
	prev->next = first;
	last->next = next;
	next->prev = last;
}

static inline void list_splice(const struct list_head *from,
			       struct list_head *h)
{
	if (!list_empty(from))
		__list_splice(from, h, h->next);
}

static inline void list_splice_tail(const struct list_head *from,
				    struct list_head *h)
{
	if (!list_empty(from))
		__list_splice(from, h->prev, h);
}

static inline void list_splice_init(struct list_head *from,
				    struct list_head *h)
{
	if (!list_empty(from)) {
		__list_splice(from, h, h->next);
		INIT_LIST_HEAD(from);
	}
}

static inline void list_splice_tail_init(struct list_head *from,
					 struct list_head *h)
{
	if (!list_empty(from)) {
		__list_splice(from, h->prev, h);
		INIT_LIST_HEAD(from);
	}
}

#define list_entry(ptr, type, member)	container_of(ptr, type, member)
#define list_first_entry(h, type, member) list_entry((h)->next, type, member)
#define list_last_entry(h, type, member) list_entry((h)->prev, type, member)
#define list_next_entry(pos, member) \
	list_entry((pos)->member.next, __typeof__(*(pos)), member)
#define list_entry_is_head(pos, h, member)	(&(pos)->member == (h))

#define list_first_entry_or_null(h, type, member) ({			\
	struct list_head *__h = (h);					\
	struct list_head *__n = READ_ONCE(__h->next);			\
	__n != __h ? list_entry(__n, type, member) : NULL; })

#define list_for_each(pos, h) \
	for (pos = (h)->next; pos != (h); pos = pos->next)

#define list_for_each_entry(pos, h, member)				\
	for (pos = list_first_entry(h, __typeof__(*pos), member);	\
	     !list_entry_is_head(pos, h, member);			\
	     pos = list_next_entry(pos, member))

#define list_for_each_entry_safe(pos, n, h, member)			\
	for (pos = list_first_entry(h, __typeof__(*pos), member),	\
	     n = list_next_entry(pos, member);				\
	     !list_entry_is_head(pos, h, member);			\
	     pos = n, n = list_next_entry(n, member))

static inline size_t list_count_nodes(const struct list_head *h)
{
	const struct list_head *p;
	size_t n = 0;

	list_for_each(p, h)
		n++;
	return n;
}

#endif
