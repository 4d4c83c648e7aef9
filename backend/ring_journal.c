/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ring_journal.c - a ring's journal (layout and order of stores in
 * ring_journal.h): opened fresh or adopted at connect, one entry per
 * consumed request, removed with the ring.  ring.c marks answers in it
 * (respond()) and runs an adopted journal's entries again (replay()).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "ring_int.h"

void pvsd_journal_consumed(struct pvsd_ring *r, struct slot *s, RING_IDX idx)
{
	struct jentry *e;

	if (!r->j)
		return;
	e = &r->j->e[slot_index(r, s)];
	e->req_idx = idx;
	e->seq = r->seq;
	__atomic_store_n(&e->state, JE_INFLIGHT, __ATOMIC_RELEASE);
	__atomic_store_n(&r->j->cons, ++r->seq, __ATOMIC_RELEASE);
}

/* The ring is gone: so is its journal. */
void pvsd_journal_close(struct pvsd_ring *r)
{
	if (!r->j)
		return;
	munmap(r->j, r->j_len);
	r->j = NULL;
	if (unlink(r->j_path) < 0 && errno != ENOENT)
		pvsd_ring_log(r, LOG_WARNING, "removing journal %s: %s", r->j_path,
		              strerror(errno));
}

/*
 * Whether an existing journal belongs to this ring and agrees with it:
 * written by us for the same frontend ring, and its consumer index
 * between the shared rsp_prod and req_prod.
 */
static const char *journal_check(const struct pvsd_ring *r, const struct journal *j,
                                 uint32_t ring_ref, uint32_t evtchn, RING_IDX start, RING_IDX prod)
{
	unsigned int again = 0;

	if (j->magic != JOURNAL_MAGIC || j->version != JOURNAL_VERSION || j->nslots != r->nslots)
		return "not a journal of this version";
	if (j->domid != r->cfg.domid || j->vhost != r->cfg.vhost || j->ring_ref != ring_ref ||
	    j->evtchn != evtchn)
		return "of another ring";
	if ((RING_IDX)((RING_IDX)j->cons - start) > (RING_IDX)(prod - start))
		return "consumer index outside the ring's";
	for (unsigned int i = 0; i < r->nslots; i++) {
		const struct jentry *e = &j->e[i];

		/*
		 * INFLIGHT at seq == cons: killed between the entry and the
		 * count; the request is still on the ring and is read from there.
		 */
		if (e->state > JE_ANSWERED || (e->state == JE_INFLIGHT && e->seq > j->cons) ||
		    (e->state == JE_ANSWERED && e->seq >= j->cons))
			return "entry in an impossible state";
		/* What replay() would run again. */
		again += (e->state == JE_INFLIGHT && e->seq < j->cons) ||
		         (e->state == JE_ANSWERED && (RING_IDX)(e->rsp_idx - start) < (1u << 31));
	}
	/*
	 * Every request consumed and not answered where the frontend can see
	 * it (below the shared rsp_prod) is one entry to run again, or was
	 * dropped by an adoption without a journal.  More entries than that
	 * would answer some request twice, and put responses past the
	 * consumer count, over requests not taken yet.
	 */
	if (again > (RING_IDX)((RING_IDX)j->cons - start))
		return "with more entries to run again than requests unanswered";
	return NULL;
}

/*
 * Open the ring's journal: fresh (truncated) for a new ring, or the one a
 * previous daemon left when adopting.  Returns whether an adopted journal
 * is valid (entries to replay, consumption from its cons).  Without a
 * journal the ring still works; only adoption loses its guarantee.
 */
bool pvsd_journal_open(struct pvsd_ring *r, uint32_t ring_ref, uint32_t evtchn, RING_IDX start,
                       RING_IDX prod)
{
	struct journal *j;
	struct stat st;
	const char *why = NULL;
	bool valid = false;
	int fd;

	r->j_len = sizeof(struct journal) + r->nslots * sizeof(struct jentry);
	if ((size_t)snprintf(r->j_path, sizeof(r->j_path), "%s/dom%u-vhost%u.journal",
	                     r->cfg.state_dir, r->cfg.domid, r->cfg.vhost) >= sizeof(r->j_path)) {
		pvsd_ring_log(r, LOG_WARNING, "state directory path too long: no journal");
		return false;
	}
	fd = open(r->j_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fstat(fd, &st) < 0) {
		pvsd_ring_log(r, LOG_WARNING,
		              "journal %s: %s; a restarted daemon may lose requests", r->j_path,
		              strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	if (r->cfg.adopt && (size_t)st.st_size != r->j_len)
		why = st.st_size ? "of another size" : "missing";
	if (ftruncate(fd, (off_t)r->j_len) < 0) {
		pvsd_ring_log(r, LOG_WARNING, "journal %s: %s", r->j_path, strerror(errno));
		close(fd);
		return false;
	}
	j = mmap(NULL, r->j_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (j == MAP_FAILED) {
		pvsd_ring_log(r, LOG_WARNING, "journal %s: mmap: %s", r->j_path, strerror(errno));
		return false;
	}
	r->j = j;
	if (r->cfg.adopt && !why)
		why = journal_check(r, j, ring_ref, evtchn, start, prod);
	if (r->cfg.adopt && !why) {
		valid = true;
		r->seq = j->cons;
	} else {
		if (r->cfg.adopt)
			pvsd_ring_log(
			    r, LOG_WARNING,
			    "journal %s %s: adopting from the ring alone (requests in flight "
			    "when the previous daemon died may be lost)",
			    r->j_path, why);
		memset(j, 0, r->j_len);
		j->version = JOURNAL_VERSION;
		j->domid = r->cfg.domid;
		j->vhost = r->cfg.vhost;
		j->ring_ref = ring_ref;
		j->evtchn = evtchn;
		j->nslots = r->nslots;
		/* Every request before the attach point counts as consumed and answered. */
		r->seq = start;
		j->cons = start;
		__atomic_store_n(&j->magic, JOURNAL_MAGIC, __ATOMIC_RELEASE);
	}
	return valid;
}
