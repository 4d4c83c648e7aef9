/*
 * ctl.c - LUN configuration and control commands (see ctl.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "log.h"

int vuctl_parse_tl(const char *s, unsigned int *target, unsigned int *lun)
{
	char *end;
	unsigned long t, l;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	t = strtoul(s, &end, 10);
	if (*end != ':' || !isdigit((unsigned char)end[1]))
		return -EINVAL;
	l = strtoul(end + 1, &end, 10);
	if (*end || t > 255 || l > 16383)
		return -EINVAL;
	*target = (unsigned int)t;
	*lun = (unsigned int)l;
	return 0;
}

/* The LUN core's word on what no command shows (a backing removed while attached). */
static void lun_notice(void *arg, struct pvs_lun *lun, const char *msg)
{
	(void)arg;
	(void)lun;
	plog(LOG_WARNING, "%s", msg);
}

int vuctl_add(struct vscsi *vs, struct pvs_worker *w, const char *tl, const char *spec, char *err,
              size_t errlen)
{
	static const struct pvs_lun_opts opts = {.notice = lun_notice};
	unsigned int t, l;
	struct pvs_lun *lun;
	char why[256];
	int rc;

	if (vuctl_parse_tl(tl, &t, &l)) {
		snprintf(err, errlen, "bad target:lun '%s' (0..255:0..16383)", tl);
		return -EINVAL;
	}
	rc = pvs_lun_open(w, spec, &opts, &lun, why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "%s: %s", spec, why);
		return rc;
	}
	rc = vscsi_lun_add(vs, t, l, lun, spec);
	if (rc) {
		pvs_lun_close(lun);
		snprintf(err, errlen, "%u:%u: %s", t, l,
		         rc == -EEXIST ? "already in use" : strerror(-rc));
		return rc;
	}
	plog(LOG_INFO, "LUN %u:%u: %s (%llu blocks of %u)", t, l, spec,
	     (unsigned long long)pvs_lun_blocks(lun), pvs_lun_block_size(lun));
	return 0;
}

static void out_add(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void out_add(char *out, size_t outlen, const char *fmt, ...)
{
	size_t n = strlen(out);
	va_list ap;

	if (n >= outlen)
		return;
	va_start(ap, fmt);
	vsnprintf(out + n, outlen - n, fmt, ap);
	va_end(ap);
}

int vuctl_exec(struct vscsi *vs, struct pvs_worker *w, const char *line, char *out, size_t outlen)
{
	char buf[1024], err[512];
	char *argv[4] = {NULL}, *save = NULL, *p;
	unsigned int argc = 0, t, l;
	int rc = 0;

	out[0] = 0;
	snprintf(buf, sizeof(buf), "%s", line);
	buf[strcspn(buf, "\r\n")] = 0;
	/* A SPEC has no blanks (its options are comma-separated): a 4th word is an error. */
	for (p = strtok_r(buf, " \t", &save); p && argc < 4; p = strtok_r(NULL, " \t", &save))
		argv[argc++] = p;
	if (argc == 0) {
		rc = -EINVAL;
		snprintf(err, sizeof(err), "empty command");
	} else if (!strcmp(argv[0], "add") && argc == 3) {
		rc = vuctl_add(vs, w, argv[1], argv[2], err, sizeof(err));
	} else if ((!strcmp(argv[0], "remove") || !strcmp(argv[0], "resize")) && argc == 2) {
		if (vuctl_parse_tl(argv[1], &t, &l)) {
			rc = -EINVAL;
			snprintf(err, sizeof(err), "bad target:lun '%s'", argv[1]);
		} else if (argv[0][2] == 'm') {
			rc = vscsi_lun_remove(vs, t, l);
			if (!rc)
				plog(LOG_INFO, "LUN %u:%u removed", t, l);
		} else {
			rc = vscsi_lun_refresh(vs, t, l);
			if (rc >= 0) {
				out_add(out, outlen, "%s\n", rc ? "capacity changed" : "unchanged");
				rc = 0;
			}
		}
		if (rc == -ENOENT)
			snprintf(err, sizeof(err), "no LUN %u:%u", t, l);
		else if (rc)
			snprintf(err, sizeof(err), "%s", strerror(-rc));
	} else if (!strcmp(argv[0], "list") && argc == 1) {
		struct vscsi_lun_info li;

		for (unsigned int i = 0; vscsi_lun_get(vs, i, &li); i++)
			out_add(out, outlen, "%u:%u %s blocks=%llu bs=%u inflight=%u\n", li.target,
			        li.lun, li.spec, (unsigned long long)li.blocks, li.block_size,
			        li.inflight);
	} else if (!strcmp(argv[0], "stats") && argc == 1) {
		struct vscsi_stats st;

		vscsi_get_stats(vs, &st);
		out_add(out, outlen,
		        "requests=%llu responses=%llu bad_chains=%llu bad_target=%llu tmfs=%llu "
		        "an=%llu events=%llu events_lost=%llu calls=%llu inflight=%u\n",
		        (unsigned long long)st.requests, (unsigned long long)st.responses,
		        (unsigned long long)st.bad_chains, (unsigned long long)st.bad_target,
		        (unsigned long long)st.tmfs, (unsigned long long)st.an,
		        (unsigned long long)st.events, (unsigned long long)st.events_lost,
		        (unsigned long long)st.calls, vscsi_inflight(vs));
	} else {
		rc = -EINVAL;
		snprintf(err, sizeof(err),
		         "usage: add T:L SPEC | remove T:L | resize T:L | list | stats");
	}
	if (rc)
		out_add(out, outlen, "error: %s\n", err);
	else
		out_add(out, outlen, "ok\n");
	return rc;
}

int vuctl_load(struct vscsi *vs, struct pvs_worker *w, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[1024], why[512];
	unsigned int n = 0;
	int rc = 0;

	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *tl, *spec;

		n++;
		line[strcspn(line, "#\r\n")] = 0;
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			continue;
		if (strncmp(p, "lun", 3) || !isspace((unsigned char)p[3])) {
			snprintf(err, errlen, "%s:%u: expected 'lun T:L SPEC'", path, n);
			rc = -EINVAL;
			break;
		}
		tl = strtok(p + 3, " \t");
		spec = tl ? strtok(NULL, " \t") : NULL;
		if (!spec) {
			snprintf(err, errlen, "%s:%u: expected 'lun T:L SPEC'", path, n);
			rc = -EINVAL;
			break;
		}
		rc = vuctl_add(vs, w, tl, spec, why, sizeof(why));
		if (rc) {
			snprintf(err, errlen, "%s:%u: %s", path, n, why);
			break;
		}
	}
	fclose(f);
	return rc;
}
