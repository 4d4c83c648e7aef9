/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * host.c - the target device's pool of logical units, keyed by backing.
 *
 * The pool is a list: units are opened and dropped by the toolstack, a few
 * times a minute at most, never on the I/O path.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "host_int.h"
#include "pvscsi/host.h"
#include "pvscsi/spec.h"

struct pvs_unit {
	struct pvs_unit *next;
	struct pvs_host *h;
	/* the backing object: what makes two specs one unit (an rbd: or iscsi:// one's is long) */
	char key[PVS_SPEC_MAX + 300];
	char opts[320]; /* options it was opened with; a second user must agree */
	char spec[PVS_SPEC_MAX];
	char stable[PVS_PDEV_ID_MAX + 32];
	struct pvs_lun *lun;
	struct pvs_worker *w; /* its I/O runs on this worker's thread */
	unsigned int users;
	unsigned int pins;
};

/* One caller waiting for an open under way (pvs_host_unit_open()). */
struct pvs_unit_wait {
	struct pvs_unit_wait *next;
	pvs_unit_done_fn done;
	void *arg;
	bool cancelled;
	bool ref; /* holds a reference on the unit (waiting when the open ended) */
};

/*
 * An open that waits on the network, on a thread of its own: everything
 * the thread reads is set before it starts, and what it writes (lun, rc,
 * err) is read after pthread_join().
 */
struct open_job {
	struct open_job *next;
	struct pvs_host *h;
	struct pvs_unit *u; /* the draft: key, opts, spec */
	struct pvs_spec *sp;
	char initiator[256];
	pthread_t thread;
	int efd; /* the thread's word that it is done, in the worker's epoll set */
	struct pvs_unit_wait *waiters;
	struct pvs_lun *lun;
	int rc;
	char err[1024];
};

struct pvs_host {
	struct pvs_host_cfg cfg;
	struct open_job *jobs;
	struct pvs_unit *units;
	struct pvs_map *maps;
	uint64_t mem_seq;
};

static void job_finish(struct open_job *j);

int pvs_host_new(const struct pvs_host_cfg *cfg, struct pvs_host **out)
{
	struct pvs_host *h = calloc(1, sizeof(*h));

	*out = h;
	if (!h)
		return -ENOMEM;
	h->cfg = *cfg;
	return 0;
}

void pvs_host_free(struct pvs_host *h)
{
	if (!h)
		return;
	/* An open under way is waited for; nobody hears of it any more. */
	for (struct open_job *j = h->jobs; j; j = j->next)
		for (struct pvs_unit_wait *w = j->waiters; w; w = w->next)
			w->cancelled = true;
	while (h->jobs)
		job_finish(h->jobs);
	while (h->units) {
		struct pvs_unit *u = h->units;

		h->units = u->next;
		pvs_lun_close(u->lun);
		free(u);
	}
	/* A map outliving its host keeps working, with no host to tell when it goes. */
	for (struct pvs_map *m = h->maps; m; m = pvsi_map_detach_host(m))
		;
	free(h);
}

/*
 * The key names the backing object, not the spelling: a file by device and
 * inode (two paths, a hard link, a bind mount), a block or sg device by its
 * device number (its node, a by-id link, an H:C:T:L that resolves to it).
 */
static void key_for(struct pvs_host *h, const struct pvs_spec *sp, const char *initiator, char *key,
                    size_t len)
{
	struct stat st;

	/*
	 * An iSCSI LUN is one unit per initiator: each guest has its own
	 * session, its own I_T nexus at the target.  The user is not part of
	 * it (one nexus, one set of credentials: opts_of()).
	 */
	if (sp->kind == PVS_SPEC_ISCSI) {
		const char *at = strchr(sp->name, '@');

		snprintf(key, len, "i:%s|%s", initiator ? initiator : "", at ? at + 1 : sp->name);
		return;
	}

	/*
	 * An rbd: image by its name in the cluster its conf= names (the
	 * cluster's fsid needs a connection, which is the open's to make).
	 */
	if (sp->kind == PVS_SPEC_RBD) {
		char real[4096];
		bool rp = sp->rbd_conf[0] && realpath(sp->rbd_conf, real) &&
		          strlen(real) < sizeof(sp->rbd_conf);

		snprintf(key, len, "r:%s:%s", rp ? real : sp->rbd_conf, sp->name);
		return;
	}
	/*
	 * A RAM disk is a new device each time; a path that cannot be stat'ed
	 * will not open.  A cdrom: drive is a drive, not its medium: each guest
	 * given an image has a tray of its own, as each HVM guest has its own
	 * emulated drive, so that one guest's eject never takes another's
	 * disc.  (A physical drive shared by several guests is a host p-dev.)
	 */
	if (sp->kind == PVS_SPEC_MEM || sp->kind == PVS_SPEC_CDROM || stat(sp->name, &st) != 0) {
		snprintf(key, len, "u:%" PRIu64, ++h->mem_seq);
		return;
	}
	if (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode))
		snprintf(key, len, "%c:%" PRIx64, S_ISBLK(st.st_mode) ? 'b' : 'c',
		         (uint64_t)st.st_rdev);
	else
		snprintf(key, len, "f:%" PRIx64 ":%" PRIx64, (uint64_t)st.st_dev,
		         (uint64_t)st.st_ino);
}

static void opts_of(const struct pvs_spec *sp, char *buf, size_t len)
{
	/*
	 * bs=512 is the default: an explicit one is the same unit.  cache=none
	 * is another open of the backing (O_DIRECT), so another set of options;
	 * so is writes=inline, which one LUN cannot do for one user and not for
	 * the other.
	 */
	const char *at = sp->kind == PVS_SPEC_ISCSI ? strchr(sp->name, '@') : NULL;

	snprintf(buf, len, "%s%s%s%s%s%s%.*s%s%s%s", sp->ro ? "ro," : "", sp->raw ? "raw," : "",
	         sp->bs == 4096 ? "bs=4096," : "", sp->direct ? "cache=none," : "",
	         sp->inline_writes ? "writes=inline," : "", at ? "user=" : "",
	         at ? (int)(at - sp->name) : 0, at ? sp->name : "", at ? "," : "",
	         sp->chap[0] ? "chap=" : "", sp->chap);
	if (sp->chap[0] && strlen(buf) + 1 < len)
		strcat(buf, ",");
	if (buf[0])
		buf[strlen(buf) - 1] = '\0';
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A host p-dev becomes the sg node it resolves to now; *@stable is how to find it again. */
static int resolve_host(struct pvs_host *h, const char *spec, struct pvs_spec *sp, char *stable,
                        size_t slen, char *err, size_t errlen)
{
	struct pvs_pdev *pd = calloc(1, sizeof(*pd));
	int rc;

	if (!pd) {
		set_err(err, errlen, "LUN spec '%s': out of memory", spec);
		return -ENOMEM;
	}
	rc = pvs_resolve(&h->cfg.resolver, sp->name, pd, err, errlen);
	if (!rc && !pd->sg[0]) {
		set_err(err, errlen, "p-dev '%s' is %u:%u:%u:%u, which has no sg node", sp->name,
		        pd->host, pd->channel, pd->target, pd->lun);
		rc = -ENODEV;
	}
	if (!rc) {
		if (pvs_pdev_stable_spec(pd, stable, slen) != 0)
			stable[0] = '\0';
		snprintf(sp->name, sizeof(sp->name), "%s", pd->sg);
		sp->kind = PVS_SPEC_SG;
	}
	free(pd);
	return rc;
}

/* The LUN core's word on what no command shows (a backing removed while attached). */
static void unit_notice(void *arg, struct pvs_lun *lun, const char *msg)
{
	struct pvs_host *h = arg;

	(void)lun;
	h->cfg.log(h->cfg.log_arg, 4, "%s", msg);
}

int pvs_host_unit_get(struct pvs_host *h, const char *spec, bool raw, struct pvs_unit **out,
                      char *err, size_t errlen)
{
	return pvs_host_unit_get_as(h, spec, raw, NULL, out, err, errlen);
}

/*
 * The unit @spec names, before it is opened: parsed, checked, a host p-dev
 * resolved, its key and options.  0 with *@up (and *@spp) to be freed by
 * the caller, or a negative errno with @err.
 */
static int prepare(struct pvs_host *h, const char *spec, bool raw, const char *initiator,
                   struct pvs_spec **spp, struct pvs_unit **up, char *err, size_t errlen)
{
	struct pvs_spec *sp = malloc(sizeof(*sp));
	struct pvs_unit *u = calloc(1, sizeof(*u));
	int rc;

	*spp = sp;
	*up = u;
	if (!sp || !u) {
		set_err(err, errlen, "LUN spec '%s': out of memory", spec);
		return -ENOMEM;
	}
	rc = pvs_spec_parse(spec, sp, err, errlen);
	if (rc)
		return rc;
	/* The controller's feature-host concerns passthrough LUNs; an emulated one ignores it. */
	if (sp->kind == PVS_SPEC_ISCSI && !(initiator && *initiator)) {
		set_err(err, errlen,
		        "LUN spec '%s': an iSCSI LUN needs the guest's initiator name, which this "
		        "transport did not give",
		        spec);
		return -EINVAL;
	}
	if (raw &&
	    (sp->kind == PVS_SPEC_SG || sp->kind == PVS_SPEC_HOST || sp->kind == PVS_SPEC_ISCSI)) {
		if (sp->ro) {
			set_err(
			    err, errlen,
			    "LUN spec '%s': read-only needs the CDB filter, and raw (feature-host) "
			    "passthrough has none: the device would see every write; drop one of "
			    "ro and feature-host",
			    spec);
			return -EINVAL;
		}
		sp->raw = true;
	}
	if (sp->kind == PVS_SPEC_HOST) {
		rc = resolve_host(h, spec, sp, u->stable, sizeof(u->stable), err, errlen);
		if (rc)
			return rc;
	}
	rc = pvs_spec_format(sp, u->spec, sizeof(u->spec));
	if (rc) {
		set_err(err, errlen, "LUN spec '%s': too long once resolved", spec);
		return rc;
	}
	key_for(h, sp, initiator, u->key, sizeof(u->key));
	opts_of(sp, u->opts, sizeof(u->opts));
	u->w = h->cfg.worker;
	return 0;
}

/*
 * A unit is used from its worker's thread only: another event loop cannot
 * share it (the caller places its initiator on the unit's loop instead,
 * pvs_host_unit_where()).
 */
static int elsewhere(const struct pvs_unit *u, const char *spec, char *err, size_t errlen)
{
	set_err(err, errlen,
	        "%s is served by another event loop (opened as '%s'); every user of a LUN must "
	        "be on its loop",
	        u->spec, spec);
	return -EXDEV;
}

static int opts_clash(const struct pvs_unit *u, const char *spec, const char *opts, char *err,
                      size_t errlen)
{
	set_err(err, errlen,
	        "%s is already open as '%s'; a second user must use the same options ('%s' vs "
	        "'%s')",
	        u->spec, spec, u->opts, opts);
	return -EBUSY;
}

/* The open unit @u's key names: 1 with *@out (a reference taken), 0 for none, -EBUSY. */
static int find_open(struct pvs_host *h, const struct pvs_unit *u, struct pvs_unit **out, char *err,
                     size_t errlen)
{
	for (struct pvs_unit *o = h->units; o; o = o->next) {
		if (strcmp(o->key, u->key) != 0 || !o->lun)
			continue;
		if (strcmp(o->opts, u->opts) != 0)
			return opts_clash(u, o->spec, o->opts, err, errlen);
		if (o->w != u->w)
			return elsewhere(u, o->spec, err, errlen);
		o->users++;
		*out = o;
		return 1;
	}
	return 0;
}

/*
 * Put the draft @u, whose LUN is open, in the pool with @users references;
 * *@out is the unit.  An rbd: image named through another conf file (another
 * path to the same cluster) is known only once open, by its identity: the
 * cluster's fsid and the image's id, which the NAA is made of; it is then
 * the unit already open, and @u's LUN is closed.  0 (@u taken), 1 (@u left
 * to the caller), or -EBUSY.
 */
static int install(struct pvs_host *h, struct pvs_unit *u, enum pvs_spec_kind kind,
                   unsigned int users, struct pvs_unit **out, char *err, size_t errlen)
{
	if (kind == PVS_SPEC_RBD) {
		for (struct pvs_unit *o = h->units; o; o = o->next) {
			if (!o->lun || o->lun->store != u->lun->store ||
			    memcmp(o->lun->naa, u->lun->naa, sizeof(o->lun->naa)) != 0)
				continue;
			pvs_lun_close(u->lun);
			u->lun = NULL;
			if (strcmp(o->opts, u->opts) != 0)
				return opts_clash(u, o->spec, o->opts, err, errlen);
			if (o->w != u->w)
				return elsewhere(u, o->spec, err, errlen);
			o->users += users;
			*out = o;
			return 1;
		}
	}
	u->h = h;
	u->users = users;
	u->next = h->units;
	h->units = u;
	*out = u;
	return 0;
}

/*
 * Open the draft *@up on this thread (@mode PVSI_OPEN_SYNC or
 * PVSI_OPEN_ADOPT) and put it in the pool; *@up is NULL once taken.
 */
static int open_now(struct pvs_host *h, const struct pvs_spec *sp, struct pvs_unit **up,
                    const char *initiator, enum pvsi_open_mode mode, struct pvs_unit **out,
                    char *err, size_t errlen)
{
	struct pvs_lun_opts lo = {.notice = h->cfg.log ? unit_notice : NULL,
	                          .notice_arg = h,
	                          .initiator_name = initiator};
	struct pvs_unit *u = *up;
	int rc = pvsi_lun_open_mode(u->w, sp, u->spec, &lo, mode, &u->lun, err, errlen);

	if (!rc) {
		int r = install(h, u, sp->kind, 1, out, err, errlen);

		if (r == 0)
			*up = NULL;
		else if (r < 0)
			rc = r;
	}
	return rc;
}

static struct open_job *job_of(struct pvs_host *h, const char *key)
{
	for (struct open_job *j = h->jobs; j; j = j->next)
		if (!strcmp(j->u->key, key))
			return j;
	return NULL;
}

static void *job_thread(void *arg)
{
	struct open_job *j = arg;
	struct pvs_lun_opts lo = {.initiator_name = j->initiator[0] ? j->initiator : NULL};

	j->rc = pvsi_lun_open_mode(j->u->w, j->sp, j->u->spec, &lo, PVSI_OPEN_DETACHED, &j->lun,
	                           j->err, sizeof(j->err));
	eventfd_write(j->efd, 1);
	return NULL;
}

/*
 * The thread is done (or is waited for): bind the LUN to the worker, put
 * it in the pool with a reference for each caller still waiting, and tell
 * them.  A LUN nobody waits for any more is closed as any unused unit is
 * (an iSCSI session then lingers, for a retry to take up).
 */
static void job_finish(struct open_job *j)
{
	struct pvs_host *h = j->h;
	struct pvs_unit *unit = NULL;
	unsigned int live = 0;
	int rc;

	pthread_join(j->thread, NULL);
	pvsi_worker_del_fd(h->cfg.worker, j->efd);
	close(j->efd);
	for (struct open_job **pp = &h->jobs; *pp; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	}
	for (struct pvs_unit_wait *w = j->waiters; w; w = w->next) {
		w->ref = !w->cancelled;
		live += w->ref;
	}
	rc = j->rc;
	j->u->lun = j->lun;
	if (!rc) {
		rc = pvsi_lun_bind(j->u->lun, h->cfg.log ? unit_notice : NULL, h, j->err,
		                   sizeof(j->err));
		if (rc) {
			pvs_lun_close(j->u->lun);
			j->u->lun = NULL;
		}
	}
	if (!rc) {
		int r = install(h, j->u, j->sp->kind, live, &unit, j->err, sizeof(j->err));

		if (r == 0)
			j->u = NULL;
		else if (r < 0)
			rc = r;
		if (!live && unit)
			pvs_host_sweep(h);
	}
	/* Whoever waits logs the error; with nobody left, the pool does. */
	if (rc && !live && h->cfg.log)
		h->cfg.log(h->cfg.log_arg, 6, "an open nobody waits for any more failed: %s",
		           j->err);
	/*
	 * Each caller is told in turn; one told may cancel another's wait
	 * (a vhost going away with two devices), whose reference then goes.
	 */
	while (j->waiters) {
		struct pvs_unit_wait *w = j->waiters;

		j->waiters = w->next;
		if (w->cancelled) {
			if (!rc && w->ref)
				pvs_unit_put(unit);
		} else {
			w->done(w->arg, rc ? NULL : unit, rc, rc ? j->err : "");
		}
		free(w);
	}
	free(j->u);
	free(j->sp);
	free(j);
}

static void job_ready(void *opaque, uint32_t events)
{
	(void)events;
	job_finish(opaque);
}

static int job_wait(struct open_job *j, pvs_unit_done_fn done, void *arg,
                    struct pvs_unit_wait **wait)
{
	struct pvs_unit_wait *w = calloc(1, sizeof(*w)), **pp = &j->waiters;

	if (!w)
		return -ENOMEM;
	w->done = done;
	w->arg = arg;
	/* In the order asked. */
	while (*pp)
		pp = &(*pp)->next;
	*pp = w;
	*wait = w;
	return PVS_UNIT_PENDING;
}

/* Start @u's open (@sp's) on a thread; the job takes @u and @sp. */
static int job_start(struct pvs_host *h, struct pvs_unit *u, struct pvs_spec *sp,
                     const char *initiator, pvs_unit_done_fn done, void *arg,
                     struct pvs_unit_wait **wait, char *err, size_t errlen)
{
	struct open_job *j = calloc(1, sizeof(*j));
	int rc;

	if (!j) {
		set_err(err, errlen, "%s: out of memory", u->spec);
		return -ENOMEM;
	}
	j->h = h;
	j->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	snprintf(j->initiator, sizeof(j->initiator), "%s", initiator ? initiator : "");
	if (j->efd < 0) {
		rc = -errno;
		set_err(err, errlen, "%s: eventfd: %s", u->spec, strerror(errno));
		free(j);
		return rc;
	}
	rc = pvsi_worker_add_fd(h->cfg.worker, j->efd, EPOLLIN, job_ready, j);
	if (rc) {
		set_err(err, errlen, "%s: cannot poll the open's eventfd: %s", u->spec,
		        strerror(-rc));
		close(j->efd);
		free(j);
		return rc;
	}
	rc = job_wait(j, done, arg, wait);
	if (rc < 0) {
		set_err(err, errlen, "%s: out of memory", u->spec);
		pvsi_worker_del_fd(h->cfg.worker, j->efd);
		close(j->efd);
		free(j);
		return rc;
	}
	j->u = u;
	j->sp = sp;
	rc = pthread_create(&j->thread, NULL, job_thread, j);
	if (rc) {
		set_err(err, errlen, "%s: cannot start a thread for the open: %s", u->spec,
		        strerror(rc));
		pvsi_worker_del_fd(h->cfg.worker, j->efd);
		close(j->efd);
		free(j->waiters);
		free(j);
		*wait = NULL;
		return -rc;
	}
	j->next = h->jobs;
	h->jobs = j;
	return PVS_UNIT_PENDING;
}

/* No unit, no open under way: take up a lingering session, or open on a thread. */
static int open_async(struct pvs_host *h, struct pvs_spec *sp, struct pvs_unit *u,
                      const char *initiator, pvs_unit_done_fn done, void *arg,
                      struct pvs_unit **out, struct pvs_unit_wait **wait, char *err, size_t errlen)
{
	int rc;

	if (sp->kind == PVS_SPEC_ISCSI) {
		rc = open_now(h, sp, &u, initiator, PVSI_OPEN_ADOPT, out, err, errlen);
		if (rc != -EWOULDBLOCK) {
			free(u);
			free(sp);
			return rc;
		}
		if (err && errlen)
			err[0] = '\0';
	}
	rc = job_start(h, u, sp, initiator, done, arg, wait, err, errlen);
	if (rc < 0) {
		free(u);
		free(sp);
	}
	return rc;
}

int pvs_host_unit_open(struct pvs_host *h, const char *spec, bool raw, const char *initiator,
                       pvs_unit_done_fn done, void *arg, struct pvs_unit **out,
                       struct pvs_unit_wait **wait, char *err, size_t errlen)
{
	return pvs_host_unit_open_on(h, NULL, spec, raw, initiator, done, arg, out, wait, err,
	                             errlen);
}

int pvs_host_unit_open_on(struct pvs_host *h, struct pvs_worker *w, const char *spec, bool raw,
                          const char *initiator, pvs_unit_done_fn done, void *arg,
                          struct pvs_unit **out, struct pvs_unit_wait **wait, char *err,
                          size_t errlen)
{
	struct pvs_spec *sp;
	struct pvs_unit *u;
	struct open_job *j = NULL;
	int rc;

	*out = NULL;
	*wait = NULL;
	if (err && errlen)
		err[0] = '\0';
	rc = prepare(h, spec, raw, initiator, &sp, &u, err, errlen);
	if (!rc && w)
		u->w = w;
	if (!rc)
		rc = find_open(h, u, out, err, errlen);
	if (rc == 1) /* open already */
		rc = 0;
	else if (!rc && sp->kind != PVS_SPEC_ISCSI && sp->kind != PVS_SPEC_RBD)
		rc = open_now(h, sp, &u, initiator, PVSI_OPEN_SYNC, out, err, errlen);
	else if (!rc && (j = job_of(h, u->key)) != NULL && strcmp(j->u->opts, u->opts) != 0)
		rc = opts_clash(u, j->u->spec, j->u->opts, err, errlen);
	else if (!rc && j && j->u->w != u->w)
		rc = elsewhere(u, j->u->spec, err, errlen);
	else if (!rc && j && (rc = job_wait(j, done, arg, wait)) == -ENOMEM)
		set_err(err, errlen, "%s: out of memory", u->spec);
	else if (!rc)
		return open_async(h, sp, u, initiator, done, arg, out, wait, err, errlen);
	free(u);
	free(sp);
	return rc < 0 || rc == PVS_UNIT_PENDING ? rc : 0;
}

void pvs_unit_wait_cancel(struct pvs_unit_wait *w)
{
	if (w)
		w->cancelled = true;
}

unsigned int pvs_host_opening(const struct pvs_host *h)
{
	unsigned int n = 0;

	for (const struct open_job *j = h->jobs; j; j = j->next)
		n++;
	return n;
}

int pvs_host_unit_get_as(struct pvs_host *h, const char *spec, bool raw, const char *initiator,
                         struct pvs_unit **out, char *err, size_t errlen)
{
	return pvs_host_unit_get_on(h, NULL, spec, raw, initiator, out, err, errlen);
}

int pvs_host_unit_get_on(struct pvs_host *h, struct pvs_worker *w, const char *spec, bool raw,
                         const char *initiator, struct pvs_unit **out, char *err, size_t errlen)
{
	struct pvs_spec *sp;
	struct pvs_unit *u;
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	rc = prepare(h, spec, raw, initiator, &sp, &u, err, errlen);
	if (!rc && w)
		u->w = w;
	if (!rc) {
		/* One login per nexus: an open of the same unit under way ends first. */
		struct open_job *j = job_of(h, u->key);

		if (j)
			job_finish(j);
		rc = find_open(h, u, out, err, errlen);
	}
	if (!rc)
		rc = open_now(h, sp, &u, initiator, PVSI_OPEN_SYNC, out, err, errlen);
	free(u);
	free(sp);
	return rc < 0 ? rc : 0;
}

void pvs_unit_put(struct pvs_unit *u)
{
	if (!u || !u->users)
		return;
	if (--u->users == 0)
		pvs_host_sweep(u->h);
}

void pvs_host_sweep(struct pvs_host *h)
{
	struct pvs_unit **pp = &h->units;

	while (*pp) {
		struct pvs_unit *u = *pp;

		if (u->users == 0 && u->lun && pvs_lun_inflight(u->lun) == 0) {
			if (h->cfg.log)
				h->cfg.log(h->cfg.log_arg, 6, "closing LUN %s", u->spec);
			pvs_lun_close(u->lun);
			u->lun = NULL;
		}
		if (u->users == 0 && !u->lun && u->pins == 0) {
			*pp = u->next;
			free(u);
			continue;
		}
		pp = &u->next;
	}
}

bool pvs_host_sweep_due(const struct pvs_host *h, const struct pvs_worker *w)
{
	for (const struct pvs_unit *u = h->units; u; u = u->next)
		if (u->w == w && u->users == 0 && u->lun && pvs_lun_inflight(u->lun) == 0)
			return true;
	return false;
}

void pvs_host_drain(struct pvs_host *h)
{
	for (;;) {
		struct pvs_worker *closing = NULL;

		pvs_host_sweep(h);
		for (const struct pvs_unit *u = h->units; u && !closing; u = u->next)
			if (u->users == 0 && u->lun)
				closing = u->w;
		if (!closing)
			return;
		pvs_worker_wait(closing, 100);
	}
}

void pvs_unit_pin(struct pvs_unit *u)
{
	u->pins++;
}

void pvs_unit_unpin(struct pvs_unit *u)
{
	if (u->pins)
		u->pins--;
	pvs_host_sweep(u->h);
}

bool pvs_unit_is_open(const struct pvs_unit *u)
{
	return u->lun != NULL;
}

struct pvs_lun *pvs_unit_lun(const struct pvs_unit *u)
{
	return u->lun;
}

struct pvs_worker *pvs_unit_worker(const struct pvs_unit *u)
{
	return u->w;
}

bool pvs_unit_busy(const struct pvs_unit *u)
{
	return u->lun && pvsi_lun_busy(u->lun);
}

int pvs_unit_move(struct pvs_unit *u, struct pvs_worker *to, char *err, size_t errlen)
{
	char why[600] = "";
	int rc;

	if (err && errlen)
		err[0] = '\0';
	/* A unit the pool hands out is bound; a record whose LUN closed has nothing to move. */
	if (!to || !u->lun || u->lun->bind) {
		set_err(err, errlen, "%s: %s", u->spec,
		        !to ? "no worker to move to" : "not open: nothing to move");
		return -EINVAL;
	}
	if (to == u->w)
		return 0;
	if (pvsi_lun_busy(u->lun)) {
		set_err(err, errlen,
		        "%s: cannot change event loop while busy (%u requests in flight, or its "
		        "store's own operations)",
		        u->spec, pvs_lun_inflight(u->lun));
		return -EBUSY;
	}
	rc = pvsi_lun_move(u->lun, to, why, sizeof(why));
	if (rc) {
		set_err(err, errlen, "%s: cannot change event loop, it stays on its own: %s",
		        u->spec, why);
		return rc;
	}
	u->w = to;
	return 0;
}

struct pvs_worker *pvs_host_unit_where(struct pvs_host *h, const char *spec, bool raw,
                                       const char *initiator)
{
	struct pvs_worker *w = NULL;
	struct pvs_spec *sp;
	struct pvs_unit *u;
	struct open_job *j;
	char err[256]; /* the open, if it comes, says what is wrong */

	if (prepare(h, spec, raw, initiator, &sp, &u, err, sizeof(err)) == 0) {
		for (const struct pvs_unit *o = h->units; o && !w; o = o->next)
			if (o->lun && !strcmp(o->key, u->key))
				w = o->w;
		if (!w && (j = job_of(h, u->key)) != NULL)
			w = j->u->w;
	}
	free(u);
	free(sp);
	return w;
}

const char *pvs_unit_spec(const struct pvs_unit *u)
{
	return u->spec;
}

const char *pvs_unit_stable(const struct pvs_unit *u)
{
	return u->stable;
}

unsigned int pvs_unit_users(const struct pvs_unit *u)
{
	return u->users;
}

const char *pvs_unit_id(const struct pvs_unit *u)
{
	return u->key;
}

void pvs_unit_get_stats(const struct pvs_unit *u, struct pvs_io_stats *out)
{
	if (u->lun)
		pvs_lun_get_stats(u->lun, out);
	else
		memset(out, 0, sizeof(*out));
}

bool pvs_unit_ro(const struct pvs_unit *u)
{
	return u->lun && pvs_lun_is_ro(u->lun);
}

void pvs_host_get_stats(const struct pvs_host *h, struct pvs_host_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (const struct pvs_unit *u = h->units; u; u = u->next)
		out->units += u->lun != NULL;
	for (const struct pvs_map *m = h->maps; m; m = pvsi_map_next(m))
		out->maps++;
}

struct pvs_unit *pvs_host_unit_at(const struct pvs_host *h, unsigned int i)
{
	for (struct pvs_unit *u = h->units; u; u = u->next)
		if (u->lun && i-- == 0)
			return u;
	return NULL;
}

int pvs_host_map_new(struct pvs_host *h, uint64_t initiator, struct pvs_map **out)
{
	int rc = pvs_map_new(out);

	if (rc)
		return rc;
	pvsi_map_attach_host(*out, h, initiator, h->maps);
	h->maps = *out;
	return 0;
}

void pvsi_host_map_gone(struct pvs_host *h, struct pvs_map *m)
{
	struct pvs_map **pp = &h->maps;

	while (*pp && *pp != m)
		pp = pvsi_map_nextp(*pp);
	if (*pp)
		*pp = pvsi_map_next(m);
}
