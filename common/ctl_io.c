/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctl_io.c - the LUN core's state and counters for the control sockets (ctl_io.h).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_io.h"
#include "ctlsock.h"
#include "sense_text.h"

void pctl_gen_io(yajl_gen g, const struct pvs_io_stats *st)
{
	char key[40];

	pctl_u64(g, "commands", st->commands);
	pctl_u64(g, "bytes_read", st->bytes_read);
	pctl_u64(g, "bytes_written", st->bytes_written);
	pctl_u64(g, "errors", st->errors);
	/* Only the keys seen: sixteen zeroes would drown the one that matters. */
	pctl_key(g, "sense_keys");
	yajl_gen_map_open(g);
	for (unsigned int k = 0; k < 16; k++)
		if (st->sense_key[k])
			pctl_u64(g, psense_key_text(k, key, sizeof(key)), st->sense_key[k]);
	yajl_gen_map_close(g);
	pctl_u64(g, "reservation_conflicts", st->conflicts);
	pctl_u64(g, "busy", st->busy);
	pctl_u64(g, "host_errors", st->host_errors);
	pctl_u64(g, "aborted", st->aborted);
	pctl_u64(g, "reset", st->reset);
	pctl_u64(g, "task_aborts", st->tmf_aborts);
	pctl_u64(g, "task_resets", st->tmf_resets);
	pctl_key(g, "latency");
	yajl_gen_map_open(g);
	pctl_u64(g, "sum_ns", st->latency_ns);
	pctl_key(g, "bounds_us");
	yajl_gen_array_open(g);
	for (unsigned int i = 0; i + 1 < PVS_LAT_BUCKETS; i++)
		yajl_gen_integer(g, (long long)pvs_lat_bound_us(i));
	yajl_gen_array_close(g);
	pctl_key(g, "counts");
	yajl_gen_array_open(g);
	for (unsigned int i = 0; i < PVS_LAT_BUCKETS; i++)
		yajl_gen_integer(g, (long long)st->latency[i]);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
}

static const char *pr_type_name(uint8_t t)
{
	switch (t) {
	case 1:
		return "Write Exclusive";
	case 3:
		return "Exclusive Access";
	case 5:
		return "Write Exclusive - Registrants Only";
	case 6:
		return "Exclusive Access - Registrants Only";
	case 7:
		return "Write Exclusive - All Registrants";
	case 8:
		return "Exclusive Access - All Registrants";
	default:
		return "unknown";
	}
}

static void gen_resv(yajl_gen g, const struct pvs_lun *l)
{
	struct pvs_lun_resv r;
	char id[24];

	pvs_lun_get_resv(l, &r);
	yajl_gen_map_open(g);
	pctl_key(g, "spc2_holder");
	if (r.spc2_reserved) {
		snprintf(id, sizeof(id), "0x%016" PRIx64, r.spc2_holder);
		yajl_gen_string(g, (const unsigned char *)id, strlen(id));
	} else {
		yajl_gen_null(g);
	}
	pctl_u64(g, "registrations", r.registrations);
	pctl_u64(g, "generation", r.generation);
	pctl_key(g, "persistent");
	if (r.pr_reserved) {
		yajl_gen_map_open(g);
		pctl_str(g, "type", pr_type_name(r.pr_type));
		snprintf(id, sizeof(id), "0x%016" PRIx64, r.pr_holder);
		pctl_str(g, "holder", r.pr_type >= 7 ? "all registrants" : id);
		yajl_gen_map_close(g);
	} else {
		yajl_gen_null(g);
	}
	yajl_gen_map_close(g);
}

void pctl_gen_unit_status(yajl_gen g, const struct pvs_unit *u)
{
	const struct pvs_lun *l = pvs_unit_lun(u);

	yajl_gen_map_open(g);
	pctl_str(g, "unit", pvs_unit_id(u));
	pctl_str(g, "spec", pvs_unit_spec(u));
	pctl_str(g, "stable", pvs_unit_stable(u));
	pctl_str(g, "device", l ? pvs_lun_backing(l) : "");
	pctl_str(g, "kind", !l ? "closed" : pvs_lun_is_passthrough(l) ? "passthrough" : "emulated");
	pctl_bool(g, "read_only", pvs_unit_ro(u));
	pctl_bool(g, "raw", l && pvs_lun_is_raw(l));
	pctl_bool(g, "gone", l && pvs_lun_gone(l));
	pctl_u64(g, "users", pvs_unit_users(u));
	pctl_u64(g, "inflight", l ? pvs_lun_inflight(l) : 0);
	pctl_u64(g, "block_size", l ? pvs_lun_block_size(l) : 0);
	pctl_u64(g, "blocks", l ? pvs_lun_blocks(l) : 0);
	pctl_key(g, "reservation");
	if (l)
		gen_resv(g, l);
	else
		yajl_gen_null(g);
	yajl_gen_map_close(g);
}

/* ---- metrics ---- */

/* One counter of struct pvs_io_stats, for LUNs and rings alike. */
struct io_metric {
	const char *name; /* after "pvscsi_lun_" or "pvscsi_ring_" */
	const char *help;
	size_t off;
};

#define IO_METRIC(n, f, h)                                                                         \
	{                                                                                          \
		n, h, offsetof(struct pvs_io_stats, f)                                             \
	}
static const struct io_metric io_metrics[] = {
    IO_METRIC("commands_total", commands, "SCSI commands completed"),
    IO_METRIC("read_bytes_total", bytes_read, "Bytes transferred to the initiator (data-in)"),
    IO_METRIC("written_bytes_total", bytes_written,
              "Bytes transferred from the initiator (data-out)"),
    IO_METRIC("errors_total", errors, "Commands that did not end GOOD with host status OK"),
    IO_METRIC("reservation_conflicts_total", conflicts, "Commands that ended RESERVATION CONFLICT"),
    IO_METRIC("busy_total", busy, "Commands that ended BUSY or TASK SET FULL"),
    IO_METRIC("host_errors_total", host_errors,
              "Commands that failed below SCSI (no connect, transport or passthrough error)"),
    IO_METRIC("aborted_commands_total", aborted, "Commands ended by an abort task function"),
    IO_METRIC("reset_commands_total", reset, "Commands ended by a LUN or I_T nexus reset"),
    IO_METRIC("task_aborts_total", tmf_aborts,
              "ABORT TASK, ABORT TASK SET and CLEAR TASK SET functions received"),
    IO_METRIC("task_resets_total", tmf_resets, "LUN RESET and I_T NEXUS RESET functions received"),
};

void pmet_io(FILE *f, const char *prefix, const char *what, const struct pmet_io_sample *s,
             size_t n)
{
	char name[96], help[200], key[40];
	double bounds[PVS_LAT_BUCKETS];

	for (size_t k = 0; k < sizeof(io_metrics) / sizeof(io_metrics[0]); k++) {
		snprintf(name, sizeof(name), "%s%s", prefix, io_metrics[k].name);
		snprintf(help, sizeof(help), "%s, per %s", io_metrics[k].help, what);
		pmet_family(f, name, "counter", help);
		for (size_t i = 0; i < n; i++)
			pmet_sample(
			    f, name, s[i].l, s[i].nl,
			    *(const uint64_t *)((const char *)&s[i].st + io_metrics[k].off));
	}
	snprintf(name, sizeof(name), "%scheck_conditions_total", prefix);
	snprintf(help, sizeof(help), "Commands that ended CHECK CONDITION, by sense key, per %s",
	         what);
	pmet_family(f, name, "counter", help);
	for (size_t i = 0; i < n; i++)
		for (unsigned int sk = 0; sk < 16; sk++) {
			struct pmet_label l[PMET_IO_LABELS + 1];

			memcpy(l, s[i].l, sizeof(s[i].l));

			l[s[i].nl].name = "sense_key";
			l[s[i].nl].value = psense_key_text(sk, key, sizeof(key));
			pmet_sample(f, name, l, s[i].nl + 1, s[i].st.sense_key[sk]);
		}
	snprintf(name, sizeof(name), "%sinflight", prefix);
	snprintf(help, sizeof(help), "Commands in flight now, per %s", what);
	pmet_family(f, name, "gauge", help);
	for (size_t i = 0; i < n; i++)
		pmet_sample(f, name, s[i].l, s[i].nl, s[i].inflight);
	snprintf(name, sizeof(name), "%slatency_seconds", prefix);
	snprintf(help, sizeof(help), "Time from submission to completion of a command, per %s",
	         what);
	pmet_family(f, name, "histogram", help);
	for (unsigned int b = 0; b + 1 < PVS_LAT_BUCKETS; b++)
		bounds[b] = (double)pvs_lat_bound_us(b) / 1e6;
	for (size_t i = 0; i < n; i++)
		pmet_histogram(f, name, s[i].l, s[i].nl, bounds, s[i].st.latency, PVS_LAT_BUCKETS,
		               (double)s[i].st.latency_ns / 1e9);
}

int pctl_metrics_reply(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e,
                       int (*render)(void *arg, char **text, size_t *len))
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (pctl_no_args(args, e))
		return -1;
	rc = render(arg, &text, &len);
	if (rc)
		return pctl_fail(e, PCTL_E_FAILED, "rendering the metrics: %s", strerror(-rc));
	yajl_gen_map_open(g);
	pctl_str(g, "content_type", "text/plain; version=0.0.4");
	pctl_key(g, "text");
	yajl_gen_string(g, (const unsigned char *)text, len);
	yajl_gen_map_close(g);
	free(text);
	return 0;
}
