/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fake_xs.c - in-memory xenstore; see fake_xs.h for what it models.
 *
 * The tree is a flat array of nodes keyed by absolute path: tests hold a few
 * hundred nodes, and a flat array makes a transaction's private copy and its
 * commit trivial.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fake_xs.h"

struct node {
	char *path;
	char *val;
	unsigned int len;
	struct pvx_xs_perm perms[PVX_XS_MAX_PERMS];
	unsigned int nperms;
};

struct tree {
	struct node *v;
	size_t n, cap;
};

/* One change to fire watches for (and, for writes, to record in the history). */
struct change {
	char *path;
	char *val; /* NULL for removals and permission changes */
	bool rm;
	struct pvx_xs_perm perms[PVX_XS_MAX_PERMS];
	unsigned int nperms;
};

struct changes {
	struct change *v;
	size_t n, cap;
};

struct tx {
	uint32_t id;
	uint64_t gen; /* store generation at start */
	struct tree t;
	struct changes ch;
	struct tx *next;
};

struct watch {
	char *path, *token;
};

struct event {
	char *path, *token;
	struct event *next;
};

struct fake_xs_conn {
	struct fake_xs *fx;
	uint32_t domid;
	int efd;
	struct watch *w;
	size_t nw, capw;
	struct event *head, *tail;
	unsigned int nev;
	struct tx *txs;
	struct fake_xs_conn *next;
};

struct hist {
	char *path;
	char *val;
};

struct fake_xs {
	struct tree t;
	uint64_t gen;
	struct fake_xs_conn *conns;
	uint32_t next_tx;
	unsigned int fail_commits;
	unsigned int commits, conflicts;
	struct hist *h;
	size_t nh, caph;
	char *histbuf;
};

/* ---- paths ---- */

static bool valid_path(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n > 3072)
		return false;
	if (p[0] == '@')
		return strspn(p + 1, "abcdefghijklmnopqrstuvwxyz"
		                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == n - 1;
	if (p[0] != '/' || strstr(p, "//"))
		return false;
	if (n > 1 && p[n - 1] == '/')
		return false;
	return strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/_@") == n;
}

/* @child is strictly below @parent. */
static bool below(const char *child, const char *parent)
{
	size_t n = strlen(parent);

	if (strcmp(parent, "/") == 0)
		return child[0] == '/' && child[1] != '\0';
	return strncmp(child, parent, n) == 0 && child[n] == '/';
}

static char *parent_of(const char *p)
{
	const char *s = strrchr(p, '/');
	char *r;

	if (!s || s == p)
		return strdup("/");
	r = strndup(p, (size_t)(s - p));
	return r;
}

/* ---- permissions ---- */

static uint32_t perm_for(uint32_t domid, const struct pvx_xs_perm *p, unsigned int n)
{
	unsigned int i;

	if (domid == 0 || n == 0)
		return PVX_XS_PERM_READ | PVX_XS_PERM_WRITE;
	if (p[0].id == domid)
		return PVX_XS_PERM_READ | PVX_XS_PERM_WRITE;
	for (i = 1; i < n; i++)
		if (p[i].id == domid)
			return p[i].perms;
	return p[0].perms;
}

/* ---- trees ---- */

static long t_find(const struct tree *t, const char *path)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].path, path) == 0)
			return (long)i;
	return -1;
}

static int t_add(struct tree *t, const char *path, const struct pvx_xs_perm *perms,
                 unsigned int nperms)
{
	struct node *n;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct node *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	n = &t->v[t->n];
	memset(n, 0, sizeof(*n));
	n->path = strdup(path);
	n->val = calloc(1, 1);
	if (!n->path || !n->val) {
		free(n->path);
		free(n->val);
		return -ENOMEM;
	}
	memcpy(n->perms, perms, nperms * sizeof(*perms));
	n->nperms = nperms;
	t->n++;
	return 0;
}

static void node_free(struct node *n)
{
	free(n->path);
	free(n->val);
}

static void t_free(struct tree *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		node_free(&t->v[i]);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static int t_copy(struct tree *dst, const struct tree *src)
{
	size_t i;

	memset(dst, 0, sizeof(*dst));
	for (i = 0; i < src->n; i++) {
		const struct node *s = &src->v[i];
		struct node *d;

		if (t_add(dst, s->path, s->perms, s->nperms)) {
			t_free(dst);
			return -ENOMEM;
		}
		d = &dst->v[dst->n - 1];
		free(d->val);
		d->val = malloc(s->len + 1);
		if (!d->val) {
			t_free(dst);
			return -ENOMEM;
		}
		memcpy(d->val, s->val, s->len + 1);
		d->len = s->len;
	}
	return 0;
}

static int ch_add(struct changes *c, const char *path, const char *val, bool rm,
                  const struct node *n)
{
	struct change *e;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct change *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	e = &c->v[c->n];
	memset(e, 0, sizeof(*e));
	e->path = strdup(path);
	e->val = val ? strdup(val) : NULL;
	if (!e->path || (val && !e->val)) {
		free(e->path);
		free(e->val);
		return -ENOMEM;
	}
	e->rm = rm;
	memcpy(e->perms, n->perms, sizeof(e->perms));
	e->nperms = n->nperms;
	c->n++;
	return 0;
}

static void ch_free(struct changes *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->v[i].path);
		free(c->v[i].val);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

/* Nearest existing ancestor-or-self of @path. */
static long t_nearest(const struct tree *t, const char *path)
{
	char *p = strdup(path);
	long i = -1;

	while (p) {
		char *q;

		i = t_find(t, p);
		if (i >= 0 || strcmp(p, "/") == 0)
			break;
		q = parent_of(p);
		free(p);
		p = q;
	}
	free(p);
	return i;
}

/* Create @path and missing ancestors as xenstored does; index of @path or -errno. */
static long t_create(struct tree *t, uint32_t domid, const char *path, struct changes *ch)
{
	long a = t_nearest(t, path);
	struct pvx_xs_perm perms[PVX_XS_MAX_PERMS];
	unsigned int nperms;
	char *p;
	int rc;

	if (a < 0)
		return -ENOENT;
	if (strcmp(t->v[a].path, path) == 0)
		return a;
	if (!(perm_for(domid, t->v[a].perms, t->v[a].nperms) & PVX_XS_PERM_WRITE))
		return -EACCES;
	memcpy(perms, t->v[a].perms, sizeof(perms));
	nperms = t->v[a].nperms;
	if (domid != 0)
		perms[0].id = domid;
	/* Create from the top down so each new node's parent exists. */
	p = parent_of(path);
	if (!p)
		return -ENOMEM;
	if (t_find(t, p) < 0) {
		long r = t_create(t, domid, p, ch);

		if (r < 0) {
			free(p);
			return r;
		}
	}
	free(p);
	rc = t_add(t, path, perms, nperms);
	if (rc)
		return rc;
	if (ch && ch_add(ch, path, "", false, &t->v[t->n - 1]))
		return -ENOMEM;
	return (long)t->n - 1;
}

static int t_write(struct tree *t, uint32_t domid, const char *path, const char *val,
                   unsigned int len, struct changes *ch)
{
	long i = t_find(t, path);
	struct node *n;
	char *v;

	if (!valid_path(path) || path[0] == '@')
		return -EINVAL;
	if (i >= 0) {
		if (!(perm_for(domid, t->v[i].perms, t->v[i].nperms) & PVX_XS_PERM_WRITE))
			return -EACCES;
	} else {
		i = t_create(t, domid, path, NULL);
		if (i < 0)
			return (int)i;
	}
	n = &t->v[i];
	v = malloc(len + 1);
	if (!v)
		return -ENOMEM;
	memcpy(v, val, len);
	v[len] = '\0';
	free(n->val);
	n->val = v;
	n->len = len;
	return ch_add(ch, path, v, false, n);
}

static int t_rm(struct tree *t, uint32_t domid, const char *path, struct changes *ch)
{
	long i = t_find(t, path);
	size_t j, k;
	int rc;

	if (!valid_path(path) || path[0] == '@' || strcmp(path, "/") == 0)
		return -EINVAL;
	if (i < 0)
		return -ENOENT;
	if (!(perm_for(domid, t->v[i].perms, t->v[i].nperms) & PVX_XS_PERM_WRITE))
		return -EACCES;
	rc = ch_add(ch, path, NULL, true, &t->v[i]);
	if (rc)
		return rc;
	for (j = 0, k = 0; j < t->n; j++) {
		if (strcmp(t->v[j].path, path) == 0 || below(t->v[j].path, path)) {
			node_free(&t->v[j]);
			continue;
		}
		t->v[k++] = t->v[j];
	}
	t->n = k;
	return 0;
}

static long t_readable(const struct tree *t, uint32_t domid, const char *path)
{
	long i;

	if (!valid_path(path) || path[0] == '@')
		return -EINVAL;
	i = t_find(t, path);
	if (i < 0)
		return -ENOENT;
	if (!(perm_for(domid, t->v[i].perms, t->v[i].nperms) & PVX_XS_PERM_READ))
		return -EACCES;
	return i;
}

static int t_set_perms(struct tree *t, uint32_t domid, const char *path,
                       const struct pvx_xs_perm *perms, unsigned int num, struct changes *ch)
{
	long i = t_find(t, path);

	if (!valid_path(path) || path[0] == '@' || num == 0 || num > PVX_XS_MAX_PERMS)
		return -EINVAL;
	if (i < 0)
		return -ENOENT;
	if (domid != 0 && t->v[i].perms[0].id != domid)
		return -EACCES;
	if (domid != 0 && perms[0].id != domid)
		return -EPERM;
	memcpy(t->v[i].perms, perms, num * sizeof(*perms));
	t->v[i].nperms = num;
	return ch_add(ch, path, NULL, false, &t->v[i]);
}

/* ---- watches ---- */

static void enqueue(struct fake_xs_conn *c, const char *path, const char *token)
{
	struct event *e = calloc(1, sizeof(*e));
	uint64_t one = 1;

	if (!e)
		return;
	e->path = strdup(path);
	e->token = strdup(token);
	if (!e->path || !e->token) {
		free(e->path);
		free(e->token);
		free(e);
		return;
	}
	if (c->tail)
		c->tail->next = e;
	else
		c->head = e;
	c->tail = e;
	c->nev++;
	if (write(c->efd, &one, sizeof(one)) < 0) {
		/* The counter only saturates after 2^64-2 events. */
	}
}

static void fire_one(struct fake_xs *fx, const struct change *e)
{
	struct fake_xs_conn *c;
	size_t i;

	for (c = fx->conns; c; c = c->next) {
		if (!(perm_for(c->domid, e->perms, e->nperms) & PVX_XS_PERM_READ))
			continue;
		for (i = 0; i < c->nw; i++) {
			const char *w = c->w[i].path;

			if (strcmp(e->path, w) == 0 || below(e->path, w))
				enqueue(c, e->path, c->w[i].token);
			else if (e->rm && below(w, e->path))
				enqueue(c, w, c->w[i].token);
		}
	}
}

static void hist_add(struct fake_xs *fx, const char *path, const char *val)
{
	if (fx->nh == fx->caph) {
		size_t cap = fx->caph ? fx->caph * 2 : 64;
		struct hist *h = realloc(fx->h, cap * sizeof(*h));

		if (!h)
			return;
		fx->h = h;
		fx->caph = cap;
	}
	fx->h[fx->nh].path = strdup(path);
	fx->h[fx->nh].val = strdup(val);
	fx->nh++;
}

/* Apply the effects of committed changes: history and watch events. */
static void publish(struct fake_xs *fx, const struct changes *ch)
{
	size_t i;

	for (i = 0; i < ch->n; i++) {
		if (ch->v[i].val)
			hist_add(fx, ch->v[i].path, ch->v[i].val);
		fire_one(fx, &ch->v[i]);
	}
	if (ch->n)
		fx->gen++;
}

/* ---- the store ---- */

struct fake_xs *fake_xs_new(void)
{
	struct fake_xs *fx = calloc(1, sizeof(*fx));
	struct pvx_xs_perm root = {0, PVX_XS_PERM_NONE};

	if (!fx)
		return NULL;
	fx->next_tx = 1;
	if (t_add(&fx->t, "/", &root, 1)) {
		free(fx);
		return NULL;
	}
	return fx;
}

static void conn_free(struct fake_xs_conn *c)
{
	struct event *e, *n;
	struct tx *t, *tn;
	size_t i;

	for (e = c->head; e; e = n) {
		n = e->next;
		free(e->path);
		free(e->token);
		free(e);
	}
	for (i = 0; i < c->nw; i++) {
		free(c->w[i].path);
		free(c->w[i].token);
	}
	free(c->w);
	for (t = c->txs; t; t = tn) {
		tn = t->next;
		t_free(&t->t);
		ch_free(&t->ch);
		free(t);
	}
	if (c->efd >= 0)
		close(c->efd);
	free(c);
}

void fake_xs_free(struct fake_xs *fx)
{
	size_t i;

	if (!fx)
		return;
	while (fx->conns) {
		struct fake_xs_conn *c = fx->conns;

		fx->conns = c->next;
		conn_free(c);
	}
	t_free(&fx->t);
	for (i = 0; i < fx->nh; i++) {
		free(fx->h[i].path);
		free(fx->h[i].val);
	}
	free(fx->h);
	free(fx->histbuf);
	free(fx);
}

struct fake_xs_conn *fake_xs_connect(struct fake_xs *fx, uint32_t domid)
{
	struct fake_xs_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fx = fx;
	c->domid = domid;
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->efd < 0) {
		free(c);
		return NULL;
	}
	c->next = fx->conns;
	fx->conns = c;
	return c;
}

void fake_xs_pvsd(struct fake_xs_conn *c, struct pvx_xs *out)
{
	out->ops = &fake_xs_ops;
	out->ctx = c;
}

/* Non-transactional change: apply to the store and publish at once. */
static int direct(struct fake_xs *fx, int rc, struct changes *ch)
{
	if (rc == 0)
		publish(fx, ch);
	ch_free(ch);
	return rc;
}

int fake_xs_write(struct fake_xs *fx, uint32_t domid, const char *path, const char *fmt, ...)
{
	struct changes ch = {0};
	char buf[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	return direct(fx, t_write(&fx->t, domid, path, buf, (unsigned int)n, &ch), &ch);
}

int fake_xs_rm(struct fake_xs *fx, uint32_t domid, const char *path)
{
	struct changes ch = {0};

	return direct(fx, t_rm(&fx->t, domid, path, &ch), &ch);
}

static int parse_perms(const char *spec, struct pvx_xs_perm *p, unsigned int *num)
{
	unsigned int n = 0;
	const char *s = spec;

	while (*s) {
		char *end;
		unsigned long id;
		uint32_t perm;

		while (*s == ' ' || *s == ',')
			s++;
		if (!*s)
			break;
		switch (*s) {
		case 'n':
			perm = PVX_XS_PERM_NONE;
			break;
		case 'r':
			perm = PVX_XS_PERM_READ;
			break;
		case 'w':
			perm = PVX_XS_PERM_WRITE;
			break;
		case 'b':
			perm = PVX_XS_PERM_READ | PVX_XS_PERM_WRITE;
			break;
		default:
			return -EINVAL;
		}
		s++;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		id = strtoul(s, &end, 10);
		s = end;
		if (n == PVX_XS_MAX_PERMS || id > UINT32_MAX)
			return -EINVAL;
		p[n].id = (uint32_t)id;
		p[n].perms = perm;
		n++;
	}
	if (n == 0)
		return -EINVAL;
	*num = n;
	return 0;
}

int fake_xs_chmod(struct fake_xs *fx, const char *path, const char *spec, bool recurse)
{
	struct pvx_xs_perm p[PVX_XS_MAX_PERMS];
	struct changes ch = {0};
	unsigned int num;
	size_t i;
	int rc;

	rc = parse_perms(spec, p, &num);
	if (rc)
		return rc;
	rc = t_set_perms(&fx->t, 0, path, p, num, &ch);
	for (i = 0; rc == 0 && recurse && i < fx->t.n; i++)
		if (below(fx->t.v[i].path, path))
			rc = t_set_perms(&fx->t, 0, fx->t.v[i].path, p, num, &ch);
	return direct(fx, rc, &ch);
}

const char *fake_xs_get(const struct fake_xs *fx, const char *path)
{
	long i = t_find(&fx->t, path);

	return i < 0 ? NULL : fx->t.v[i].val;
}

bool fake_xs_exists(const struct fake_xs *fx, const char *path)
{
	return t_find(&fx->t, path) >= 0;
}

int fake_xs_perms_str(const struct fake_xs *fx, const char *path, char *buf, size_t len)
{
	long i = t_find(&fx->t, path);
	static const char letter[] = "nrwb";
	size_t off = 0;
	unsigned int j;

	if (i < 0)
		return -ENOENT;
	buf[0] = '\0';
	for (j = 0; j < fx->t.v[i].nperms; j++) {
		const struct pvx_xs_perm *p = &fx->t.v[i].perms[j];
		int n = snprintf(buf + off, len - off, "%s%c%u", j ? "," : "", letter[p->perms & 3],
		                 p->id);

		if (n < 0 || (size_t)n >= len - off)
			return -ENOSPC;
		off += (size_t)n;
	}
	return 0;
}

const char *fake_xs_history(struct fake_xs *fx, const char *path)
{
	size_t i, total = 1;
	char *b;

	for (i = 0; i < fx->nh; i++)
		if (strcmp(fx->h[i].path, path) == 0)
			total += strlen(fx->h[i].val) + 1;
	b = malloc(total);
	if (!b)
		return "";
	b[0] = '\0';
	for (i = 0; i < fx->nh; i++) {
		if (strcmp(fx->h[i].path, path) != 0)
			continue;
		if (b[0])
			strcat(b, ",");
		strcat(b, fx->h[i].val);
	}
	free(fx->histbuf);
	fx->histbuf = b;
	return b;
}

void fake_xs_clear_history(struct fake_xs *fx)
{
	size_t i;

	for (i = 0; i < fx->nh; i++) {
		free(fx->h[i].path);
		free(fx->h[i].val);
	}
	fx->nh = 0;
}

unsigned int fake_xs_count(const struct fake_xs *fx)
{
	return (unsigned int)fx->t.n;
}

void fake_xs_fire(struct fake_xs *fx, const char *path)
{
	struct change e = {.path = (char *)path, .nperms = 0};

	fire_one(fx, &e);
}

void fake_xs_fail_commits(struct fake_xs *fx, unsigned int n)
{
	fx->fail_commits = n;
}

unsigned int fake_xs_commits(const struct fake_xs *fx)
{
	return fx->commits;
}

unsigned int fake_xs_commit_conflicts(const struct fake_xs *fx)
{
	return fx->conflicts;
}

unsigned int fake_xs_pending(const struct fake_xs_conn *c)
{
	return c->nev;
}

unsigned int fake_xs_nwatches(const struct fake_xs_conn *c)
{
	return (unsigned int)c->nw;
}

/* ---- the ops ---- */

static struct tx *find_tx(struct fake_xs_conn *c, pvx_xs_tx id)
{
	struct tx *t;

	for (t = c->txs; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

/* The tree an operation in @id acts on, or NULL for an unknown transaction. */
static struct tree *tree_for(struct fake_xs_conn *c, pvx_xs_tx id, struct changes **ch)
{
	struct tx *t;

	*ch = NULL;
	if (id == PVX_XS_NOTX)
		return &c->fx->t;
	t = find_tx(c, id);
	if (!t)
		return NULL;
	*ch = &t->ch;
	return &t->t;
}

static int mutate_done(struct fake_xs_conn *c, int rc, struct changes *txch, struct changes *ch)
{
	if (txch)
		return rc; /* recorded in the transaction; published at commit */
	return direct(c->fx, rc, ch);
}

static char *op_read(void *ctx, pvx_xs_tx tx, const char *path, unsigned int *len)
{
	struct fake_xs_conn *c = ctx;
	struct changes *txch;
	struct tree *t = tree_for(c, tx, &txch);
	long i;
	char *v;

	if (!t) {
		errno = ESRCH;
		return NULL;
	}
	i = t_readable(t, c->domid, path);
	if (i < 0) {
		errno = (int)-i;
		return NULL;
	}
	v = malloc(t->v[i].len + 1);
	if (!v) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(v, t->v[i].val, t->v[i].len + 1);
	if (len)
		*len = t->v[i].len;
	return v;
}

static int op_write(void *ctx, pvx_xs_tx tx, const char *path, const char *val, unsigned int len)
{
	struct fake_xs_conn *c = ctx;
	struct changes *txch, ch = {0};
	struct tree *t = tree_for(c, tx, &txch);

	if (!t)
		return -ESRCH;
	return mutate_done(c, t_write(t, c->domid, path, val, len, txch ? txch : &ch), txch, &ch);
}

static int op_mkdir(void *ctx, pvx_xs_tx tx, const char *path)
{
	struct fake_xs_conn *c = ctx;
	struct changes *txch, ch = {0};
	struct tree *t = tree_for(c, tx, &txch);
	long i;

	if (!t)
		return -ESRCH;
	if (!valid_path(path) || path[0] == '@')
		return -EINVAL;
	if (t_find(t, path) >= 0)
		return 0;
	i = t_create(t, c->domid, path, txch ? txch : &ch);
	return mutate_done(c, i < 0 ? (int)i : 0, txch, &ch);
}

static int op_rm(void *ctx, pvx_xs_tx tx, const char *path)
{
	struct fake_xs_conn *c = ctx;
	struct changes *txch, ch = {0};
	struct tree *t = tree_for(c, tx, &txch);
	int rc;

	if (!t)
		return -ESRCH;
	rc = t_rm(t, c->domid, path, txch ? txch : &ch);
	if (rc == -ENOENT)
		rc = 0;
	return mutate_done(c, rc, txch, &ch);
}

static char **op_directory(void *ctx, pvx_xs_tx tx, const char *path, unsigned int *num)
{
	struct fake_xs_conn *c = ctx;
	struct changes *txch;
	struct tree *t = tree_for(c, tx, &txch);
	size_t i, n = 0, bytes = 0, plen;
	char **arr, *s;
	long at;

	if (!t) {
		errno = ESRCH;
		return NULL;
	}
	at = t_readable(t, c->domid, path);
	if (at < 0) {
		errno = (int)-at;
		return NULL;
	}
	plen = strcmp(path, "/") == 0 ? 0 : strlen(path);
	for (i = 0; i < t->n; i++) {
		const char *p = t->v[i].path;

		if (below(p, path) && !strchr(p + plen + 1, '/')) {
			n++;
			bytes += strlen(p + plen + 1) + 1;
		}
	}
	/* One block like libxenstore: the array, then the strings. */
	arr = malloc((n + 1) * sizeof(char *) + bytes);
	if (!arr) {
		errno = ENOMEM;
		return NULL;
	}
	s = (char *)(arr + n + 1);
	n = 0;
	for (i = 0; i < t->n; i++) {
		const char *p = t->v[i].path;

		if (below(p, path) && !strchr(p + plen + 1, '/')) {
			strcpy(s, p + plen + 1);
			arr[n++] = s;
			s += strlen(s) + 1;
		}
	}
	arr[n] = NULL;
	*num = (unsigned int)n;
	return arr;
}

static int op_get_perms(void *ctx, pvx_xs_tx tx, const char *path, struct pvx_xs_perm *out,
                        unsigned int max)
{
	struct fake_xs_conn *c = ctx;
	struct changes *txch;
	struct tree *t = tree_for(c, tx, &txch);
	unsigned int j;
	long i;

	if (!t)
		return -ESRCH;
	i = t_readable(t, c->domid, path);
	if (i < 0)
		return (int)i;
	for (j = 0; j < t->v[i].nperms && j < max; j++)
		out[j] = t->v[i].perms[j];
	return (int)j;
}

static int op_set_perms(void *ctx, pvx_xs_tx tx, const char *path, const struct pvx_xs_perm *perms,
                        unsigned int num)
{
	struct fake_xs_conn *c = ctx;
	struct changes *txch, ch = {0};
	struct tree *t = tree_for(c, tx, &txch);

	if (!t)
		return -ESRCH;
	return mutate_done(c, t_set_perms(t, c->domid, path, perms, num, txch ? txch : &ch), txch,
	                   &ch);
}

static int op_watch(void *ctx, const char *path, const char *token)
{
	struct fake_xs_conn *c = ctx;
	size_t i;

	if (!valid_path(path))
		return -EINVAL;
	for (i = 0; i < c->nw; i++)
		if (strcmp(c->w[i].path, path) == 0 && strcmp(c->w[i].token, token) == 0)
			return -EEXIST;
	if (c->nw == c->capw) {
		size_t cap = c->capw ? c->capw * 2 : 8;
		struct watch *w = realloc(c->w, cap * sizeof(*w));

		if (!w)
			return -ENOMEM;
		c->w = w;
		c->capw = cap;
	}
	c->w[c->nw].path = strdup(path);
	c->w[c->nw].token = strdup(token);
	if (!c->w[c->nw].path || !c->w[c->nw].token) {
		free(c->w[c->nw].path);
		free(c->w[c->nw].token);
		return -ENOMEM;
	}
	c->nw++;
	enqueue(c, path, token);
	return 0;
}

static int op_unwatch(void *ctx, const char *path, const char *token)
{
	struct fake_xs_conn *c = ctx;
	size_t i;

	for (i = 0; i < c->nw; i++) {
		if (strcmp(c->w[i].path, path) == 0 && strcmp(c->w[i].token, token) == 0) {
			free(c->w[i].path);
			free(c->w[i].token);
			c->w[i] = c->w[--c->nw];
			return 0;
		}
	}
	return -ENOENT;
}

static int op_read_watch(void *ctx, char **path, char **token)
{
	struct fake_xs_conn *c = ctx;
	struct event *e = c->head;
	uint64_t v;

	if (!e)
		return 0;
	c->head = e->next;
	if (!c->head)
		c->tail = NULL;
	c->nev--;
	if (c->nev == 0 && read(c->efd, &v, sizeof(v)) < 0) {
		/* Already clear. */
	}
	*path = e->path;
	*token = e->token;
	free(e);
	return 1;
}

static int op_fileno(void *ctx)
{
	struct fake_xs_conn *c = ctx;

	return c->efd;
}

static int op_tx_start(void *ctx, pvx_xs_tx *id)
{
	struct fake_xs_conn *c = ctx;
	struct tx *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	if (t_copy(&t->t, &c->fx->t)) {
		free(t);
		return -ENOMEM;
	}
	t->id = c->fx->next_tx++;
	if (c->fx->next_tx == 0)
		c->fx->next_tx = 1;
	t->gen = c->fx->gen;
	t->next = c->txs;
	c->txs = t;
	*id = t->id;
	return 0;
}

static int op_tx_end(void *ctx, pvx_xs_tx id, bool abort)
{
	struct fake_xs_conn *c = ctx;
	struct fake_xs *fx = c->fx;
	struct tx **pp, *t;
	int rc = 0;

	for (pp = &c->txs; *pp && (*pp)->id != id; pp = &(*pp)->next)
		;
	t = *pp;
	if (!t)
		return -ESRCH;
	*pp = t->next;
	if (!abort) {
		fx->commits++;
		if (fx->fail_commits || t->gen != fx->gen) {
			if (fx->fail_commits)
				fx->fail_commits--;
			fx->conflicts++;
			rc = -EAGAIN;
		} else {
			struct tree old = fx->t;

			fx->t = t->t;
			t->t = old;
			publish(fx, &t->ch);
		}
	}
	t_free(&t->t);
	ch_free(&t->ch);
	free(t);
	return rc;
}

static void op_close(void *ctx)
{
	struct fake_xs_conn *c = ctx;
	struct fake_xs_conn **pp;

	for (pp = &c->fx->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	conn_free(c);
}

const struct pvx_xs_ops fake_xs_ops = {
    .read = op_read,
    .write = op_write,
    .mkdir = op_mkdir,
    .rm = op_rm,
    .directory = op_directory,
    .get_perms = op_get_perms,
    .set_perms = op_set_perms,
    .watch = op_watch,
    .unwatch = op_unwatch,
    .read_watch = op_read_watch,
    .fileno = op_fileno,
    .tx_start = op_tx_start,
    .tx_end = op_tx_end,
    .close = op_close,
};
