/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake_gnt.c - memcpy grant table (see fake_gnt.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fake_gnt.h"

#define PAGE 4096u

struct entry {
	void *page;
	uint16_t domid;
	bool used;
	bool readonly;
	unsigned int maps;
};

struct fake_gnt {
	/*
	 * As the kernel's gntdev, callable from several threads at once
	 * (pvscsid's loop threads, a test's guest): recursive, for the copy
	 * hook that grants or revokes.
	 */
	pthread_mutex_t mu;
	struct entry e[FAKE_GNT_MAX];
	uint32_t next; /* search hint */
	unsigned int active;
	/* error injection */
	bool fail_nth_armed;
	uint64_t fail_nth_at; /* absolute element number */
	int16_t fail_nth_status;
	unsigned int fail_calls;
	int fail_calls_err;
	int fail_map_err;
	void (*hook)(void *arg);
	void *hook_arg;
	struct fake_gnt_stats st;
};

struct fake_gnt *fake_gnt_new(void)
{
	struct fake_gnt *g = calloc(1, sizeof(*g));
	pthread_mutexattr_t a;

	if (!g)
		return NULL;
	g->next = 1;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&g->mu, &a);
	pthread_mutexattr_destroy(&a);
	return g;
}

void fake_gnt_free(struct fake_gnt *g)
{
	if (!g)
		return;
	pthread_mutex_destroy(&g->mu);
	free(g);
}

static uint32_t grant_locked(struct fake_gnt *g, uint16_t domid, void *page, bool readonly)
{
	/* Ref 0 stays unused: Xen reserves the first entries, and 0 reads as "none". */
	for (unsigned int n = 0; n < FAKE_GNT_MAX - 1; n++) {
		uint32_t ref = g->next;

		g->next = g->next + 1 >= FAKE_GNT_MAX ? 1 : g->next + 1;
		if (g->e[ref].used)
			continue;
		g->e[ref] = (struct entry){
		    .page = page, .domid = domid, .used = true, .readonly = readonly};
		g->active++;
		return ref;
	}
	return 0;
}

uint32_t fake_gnt_grant(struct fake_gnt *g, uint16_t domid, void *page, bool readonly)
{
	uint32_t ref;

	pthread_mutex_lock(&g->mu);
	ref = grant_locked(g, domid, page, readonly);
	pthread_mutex_unlock(&g->mu);
	return ref;
}

static bool revoke_locked(struct fake_gnt *g, uint32_t gref)
{
	if (gref == 0 || gref >= FAKE_GNT_MAX || !g->e[gref].used)
		return true;
	if (g->e[gref].maps)
		return false;
	g->e[gref].used = false;
	g->active--;
	return true;
}

bool fake_gnt_revoke(struct fake_gnt *g, uint32_t gref)
{
	bool ok;

	pthread_mutex_lock(&g->mu);
	ok = revoke_locked(g, gref);
	pthread_mutex_unlock(&g->mu);
	return ok;
}

unsigned int fake_gnt_active(const struct fake_gnt *g)
{
	return g->active;
}

void fake_gnt_fail_nth(struct fake_gnt *g, unsigned int nth, int16_t status)
{
	g->fail_nth_armed = true;
	g->fail_nth_at = g->st.copy_elems + nth;
	g->fail_nth_status = status;
}

void fake_gnt_fail_calls(struct fake_gnt *g, unsigned int n, int err)
{
	g->fail_calls = n;
	g->fail_calls_err = err;
}

void fake_gnt_fail_clear(struct fake_gnt *g)
{
	g->fail_nth_armed = false;
	g->fail_calls = 0;
}

void fake_gnt_fail_map(struct fake_gnt *g, int err)
{
	g->fail_map_err = err;
}

void fake_gnt_set_copy_hook(struct fake_gnt *g, void (*hook)(void *arg), void *arg)
{
	g->hook = hook;
	g->hook_arg = arg;
}

void fake_gnt_get_stats(const struct fake_gnt *g, struct fake_gnt_stats *out)
{
	pthread_mutex_lock((pthread_mutex_t *)&g->mu);
	*out = g->st;
	pthread_mutex_unlock((pthread_mutex_t *)&g->mu);
}

static struct entry *lookup(struct fake_gnt *g, uint16_t domid, uint32_t ref, int16_t *st)
{
	if (ref == 0 || ref >= FAKE_GNT_MAX || !g->e[ref].used) {
		*st = GNTST_bad_gntref;
		return NULL;
	}
	if (g->e[ref].domid != domid) {
		/* Another domain's ref number names a different grant: as unknown. */
		*st = GNTST_bad_gntref;
		return NULL;
	}
	return &g->e[ref];
}

static void *map_ring_locked(void *ctx, uint16_t domid, uint32_t ref)
{
	struct fake_gnt *g = ctx;
	struct entry *e;
	int16_t st;

	if (g->fail_map_err) {
		errno = g->fail_map_err;
		return NULL;
	}
	e = lookup(g, domid, ref, &st);
	if (!e || e->readonly) {
		errno = EINVAL;
		return NULL;
	}
	e->maps++;
	g->st.mapped++;
	g->st.maps++;
	return e->page;
}

static void *fake_map_ring(void *ctx, uint16_t domid, uint32_t ref)
{
	struct fake_gnt *g = ctx;
	void *p;

	pthread_mutex_lock(&g->mu);
	p = map_ring_locked(ctx, domid, ref);
	pthread_mutex_unlock(&g->mu);
	return p;
}

static int unmap_ring_locked(void *ctx, void *addr)
{
	struct fake_gnt *g = ctx;

	for (uint32_t ref = 1; ref < FAKE_GNT_MAX; ref++) {
		if (g->e[ref].used && g->e[ref].page == addr && g->e[ref].maps) {
			g->e[ref].maps--;
			g->st.mapped--;
			return 0;
		}
	}
	return -EINVAL;
}

static int fake_unmap_ring(void *ctx, void *addr)
{
	struct fake_gnt *g = ctx;
	int rc;

	pthread_mutex_lock(&g->mu);
	rc = unmap_ring_locked(ctx, addr);
	pthread_mutex_unlock(&g->mu);
	return rc;
}

static int16_t copy_one(struct fake_gnt *g, pvx_gnt_copy_t *op)
{
	const bool src_foreign = op->flags & GNTCOPY_source_gref;
	const bool dst_foreign = op->flags & GNTCOPY_dest_gref;
	uint8_t *src, *dst;
	int16_t st = GNTST_okay;

	if (src_foreign == dst_foreign)
		return GNTST_general_error; /* pvscsid only copies between guest and local */
	if (src_foreign) {
		struct entry *e = lookup(g, op->source.foreign.domid, op->source.foreign.ref, &st);

		if (!e)
			return st;
		if ((unsigned int)op->source.foreign.offset + op->len > PAGE)
			return GNTST_bad_copy_arg;
		src = (uint8_t *)e->page + op->source.foreign.offset;
		dst = op->dest.virt;
	} else {
		struct entry *e = lookup(g, op->dest.foreign.domid, op->dest.foreign.ref, &st);

		if (!e)
			return st;
		if (e->readonly)
			return GNTST_permission_denied;
		if ((unsigned int)op->dest.foreign.offset + op->len > PAGE)
			return GNTST_bad_copy_arg;
		src = op->source.virt;
		dst = (uint8_t *)e->page + op->dest.foreign.offset;
	}
	memcpy(dst, src, op->len);
	g->st.copy_bytes += op->len;
	return GNTST_okay;
}

static int copy_locked(void *ctx, pvx_gnt_copy_t *ops, unsigned int n)
{
	struct fake_gnt *g = ctx;

	g->st.copy_calls++;
	if (g->fail_calls) {
		g->fail_calls--;
		if (g->hook)
			g->hook(g->hook_arg);
		return -g->fail_calls_err;
	}
	for (unsigned int i = 0; i < n; i++) {
		if (g->fail_nth_armed && g->st.copy_elems == g->fail_nth_at) {
			g->fail_nth_armed = false;
			ops[i].status = g->fail_nth_status;
		} else {
			ops[i].status = copy_one(g, &ops[i]);
		}
		g->st.copy_elems++;
	}
	if (g->hook)
		g->hook(g->hook_arg);
	return 0;
}

static int fake_copy(void *ctx, pvx_gnt_copy_t *ops, unsigned int n)
{
	struct fake_gnt *g = ctx;
	int rc;

	pthread_mutex_lock(&g->mu);
	rc = copy_locked(ctx, ops, n);
	pthread_mutex_unlock(&g->mu);
	return rc;
}

const struct pvx_gnt_ops fake_gnt_ops = {
    .map_ring = fake_map_ring,
    .unmap_ring = fake_unmap_ring,
    .copy = fake_copy,
};
