/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvscsictl - pvscsid's control socket from the command line: status,
 * stats, metrics, log-level; pvscsi-vhost-user's too (--socket), whose
 * replies have controllers where pvscsid's have vhosts and rings.  Text for a human by default, the
 * daemon's JSON with --json.  docs/control.md has the protocol, pvscsictl(8) the commands.
 */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "ctlsock.h"

#define DEFAULT_SOCKET "/run/pvscsid/control"

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: pvscsictl [OPTION]... COMMAND [ARGUMENT]\n"
	        "Ask pvscsid through its control socket (or pvscsi-vhost-user, given its\n"
	        "control socket with --socket: the same four commands).\n"
	        "\n"
	        "Commands:\n"
	        "  status              domains, vhosts, rings and their xenbus states; LUNs\n"
	        "                      with spec, identity, device, read-only and reservations\n"
	        "  stats               per LUN and per ring: commands, bytes, errors by sense\n"
	        "                      key, aborts, resets, latency histogram\n"
	        "  metrics             the same counters in the Prometheus text format\n"
	        "  log-level [LEVEL]   show the log level, or set it (emerg, alert, crit, err,\n"
	        "                      warning, notice, info, debug)\n"
	        "  poll [USECS]        pvscsid: show or set how long it polls the rings after\n"
	        "                      a pass that did work before sleeping (0: off)\n"
	        "  defer-kicks [on|off]  pvscsid: show or set whether a ring with commands in\n"
	        "                      flight stays unarmed, what the guest queues behind\n"
	        "                      them taken with their completions (default on)\n"
	        "  coalesce [USECS]    pvscsid: show or set how long it sleeps after a pass\n"
	        "                      that did work, so that one pass answers what completes\n"
	        "                      meanwhile (0: off)\n"
	        "\n"
	        "Options:\n"
	        "  -s, --socket PATH   the daemon's control socket (default %s)\n"
	        "  -j, --json          print the daemon's JSON reply instead of text\n"
	        "  -t, --timeout S     give up after S seconds (default 10)\n"
	        "  -h, --help          this text\n"
	        "  -V, --version       print the version\n"
	        "\n"
	        "Exit status: 0 done, 1 the daemon could not be reached or answered an\n"
	        "error, 2 bad usage.\n",
	        DEFAULT_SOCKET);
}

/* ---- talking to the daemon ---- */

/*
 * The request for @cmd (with "level": @level when set), one line.  @us:
 * poll's or coalesce's argument, or defer-kicks' (0 off, 1 on); -1: none.
 */
static int build_request(const char *cmd, const char *level, long long us, char **out, size_t *len)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *buf;
	size_t n;

	if (!g)
		return -ENOMEM;
	yajl_gen_map_open(g);
	yajl_gen_string(g, (const unsigned char *)"command", 7);
	yajl_gen_string(g, (const unsigned char *)cmd, strlen(cmd));
	if (level) {
		yajl_gen_string(g, (const unsigned char *)"arguments", 9);
		yajl_gen_map_open(g);
		yajl_gen_string(g, (const unsigned char *)"level", 5);
		yajl_gen_string(g, (const unsigned char *)level, strlen(level));
		yajl_gen_map_close(g);
	}
	if (us >= 0 && !strcmp(cmd, "defer-kicks")) {
		yajl_gen_string(g, (const unsigned char *)"arguments", 9);
		yajl_gen_map_open(g);
		yajl_gen_string(g, (const unsigned char *)"on", 2);
		yajl_gen_bool(g, us != 0);
		yajl_gen_map_close(g);
	} else if (us >= 0) {
		yajl_gen_string(g, (const unsigned char *)"arguments", 9);
		yajl_gen_map_open(g);
		yajl_gen_string(g, (const unsigned char *)"us", 2);
		yajl_gen_integer(g, us);
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
	yajl_gen_get_buf(g, &buf, &n);
	*out = malloc(n + 1);
	if (!*out) {
		yajl_gen_free(g);
		return -ENOMEM;
	}
	memcpy(*out, buf, n);
	(*out)[n] = '\n';
	*len = n + 1;
	yajl_gen_free(g);
	return 0;
}

/* ---- reading the reply ---- */

static yajl_val get(yajl_val v, const char *k)
{
	const char *p[] = {k, NULL};

	return v ? yajl_tree_get(v, p, yajl_t_any) : NULL;
}

static const char *str(yajl_val v, const char *k)
{
	yajl_val x = get(v, k);

	return x && YAJL_IS_STRING(x) ? YAJL_GET_STRING(x) : "";
}

static unsigned long long num(yajl_val v, const char *k)
{
	yajl_val x = get(v, k);

	return x && YAJL_IS_NUMBER(x) ? strtoull(YAJL_GET_NUMBER(x), NULL, 10) : 0;
}

static bool flag(yajl_val v, const char *k)
{
	return YAJL_IS_TRUE(get(v, k));
}

static size_t arr_len(yajl_val v)
{
	return v && YAJL_IS_ARRAY(v) ? v->u.array.len : 0;
}

static void gen_val(yajl_gen g, yajl_val v)
{
	if (!v || YAJL_IS_NULL(v)) {
		yajl_gen_null(g);
	} else if (YAJL_IS_STRING(v)) {
		yajl_gen_string(g, (const unsigned char *)v->u.string, strlen(v->u.string));
	} else if (YAJL_IS_NUMBER(v)) {
		yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
	} else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
		yajl_gen_bool(g, YAJL_IS_TRUE(v));
	} else if (YAJL_IS_ARRAY(v)) {
		yajl_gen_array_open(g);
		for (size_t i = 0; i < v->u.array.len; i++)
			gen_val(g, v->u.array.values[i]);
		yajl_gen_array_close(g);
	} else {
		yajl_gen_map_open(g);
		for (size_t i = 0; i < v->u.object.len; i++) {
			const char *k = v->u.object.keys[i];

			yajl_gen_string(g, (const unsigned char *)k, strlen(k));
			gen_val(g, v->u.object.values[i]);
		}
		yajl_gen_map_close(g);
	}
}

static void print_json(yajl_val v)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *buf;
	size_t n;

	if (!g)
		return;
	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_config(g, yajl_gen_indent_string, "  ");
	gen_val(g, v);
	yajl_gen_get_buf(g, &buf, &n);
	fwrite(buf, 1, n, stdout);
	if (n && buf[n - 1] != '\n')
		putchar('\n');
	yajl_gen_free(g);
}

/* ---- text ---- */

static const char *human_bytes(unsigned long long b, char *buf, size_t len)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)b;
	unsigned int i = 0;

	while (v >= 1024 && i < 5) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%llu B", b);
	else
		snprintf(buf, len, "%.1f %s", v, unit[i]);
	return buf;
}

static void print_resv(yajl_val r)
{
	yajl_val pr = get(r, "persistent"), s2 = get(r, "spc2_holder");
	unsigned long long regs = num(r, "registrations");

	printf("      reservation: ");
	if (!r || YAJL_IS_NULL(r)) {
		printf("-\n");
		return;
	}
	if (pr && YAJL_IS_OBJECT(pr))
		printf("persistent %s, holder %s", str(pr, "type"), str(pr, "holder"));
	else
		printf("no persistent reservation");
	printf(", %llu registration%s, generation %llu", regs, regs == 1 ? "" : "s",
	       num(r, "generation"));
	if (s2 && YAJL_IS_STRING(s2))
		printf(", SPC-2 RESERVE by %s", YAJL_GET_STRING(s2));
	printf("\n");
}

static void text_status(yajl_val r)
{
	yajl_val vh = get(r, "vhosts"), luns = get(r, "luns"), cs = get(r, "controllers");

	if (cs) {
		/* pvscsi-vhost-user: virtio-scsi controllers where pvscsid has vhosts. */
		printf("pvscsi-vhost-user %s (pid %llu), log level %s\n", str(r, "version"),
		       num(r, "pid"), str(r, "log_level"));
		printf("\ncontrollers: %zu\n", arr_len(cs));
	} else {
		printf("pvscsid %s (pid %llu) serving %s, log level %s", str(r, "version"),
		       num(r, "pid"), str(r, "base"), str(r, "log_level"));
		if (num(r, "threads") > 1)
			printf(", %llu of up to %llu event-loop threads running",
			       num(r, "threads_running"), num(r, "threads"));
		printf("\n");
		printf("\nvhosts: %zu\n", arr_len(vh));
	}
	for (size_t i = 0; i < arr_len(cs); i++) {
		yajl_val c = cs->u.array.values[i], cl = get(c, "luns");

		printf("  %s on %s: %s, %llu queues, initiator %s, %llu in flight\n",
		       str(c, "name"), str(c, "socket"), str(c, "state"), num(c, "queues"),
		       str(c, "initiator"), num(c, "inflight"));
		for (size_t j = 0; j < arr_len(cl); j++) {
			yajl_val l = cl->u.array.values[j];

			printf("    %s -> unit %s: %s%s, %llu in flight\n", str(l, "lun"),
			       str(l, "unit"), str(l, "spec"),
			       flag(l, "read_only") ? ", read-only" : "", num(l, "inflight"));
		}
	}
	for (size_t i = 0; i < arr_len(vh); i++) {
		yajl_val v = vh->u.array.values[i], ring = get(v, "ring"), devs = get(v, "devices");

		printf("  domain %llu vhost %llu: backend %s, frontend %s%s%s\n", num(v, "domid"),
		       num(v, "vhost"), str(v, "backend_state"), str(v, "frontend_state"),
		       flag(v, "active") ? "" : ", not served",
		       flag(v, "feature_host") ? ", feature-host" : "");
		if (ring && YAJL_IS_OBJECT(ring) && num(r, "threads") > 1)
			printf("    ring: feature-sg-grant %llu, %llu in flight, journal %s, loop "
			       "%llu%s\n",
			       num(ring, "feature_sg_grant"), num(ring, "inflight"),
			       str(ring, "journal"), num(v, "loop"),
			       flag(ring, "broken") ? ", BROKEN (bogus producer index)" : "");
		else if (ring && YAJL_IS_OBJECT(ring))
			printf("    ring: feature-sg-grant %llu, %llu in flight, journal %s%s\n",
			       num(ring, "feature_sg_grant"), num(ring, "inflight"),
			       str(ring, "journal"),
			       flag(ring, "broken") ? ", BROKEN (bogus producer index)" : "");
		else
			printf("    ring: not connected\n");
		for (size_t j = 0; j < arr_len(devs); j++) {
			yajl_val d = devs->u.array.values[j];
			const char *vdev = str(d, "vdev");

			yajl_val m = get(d, "medium");

			printf("    %s: v-dev %s, p-dev %s%s%s\n", str(d, "name"),
			       vdev[0] ? vdev : "-", str(d, "pdev")[0] ? str(d, "pdev") : "-",
			       str(d, "unit")[0] ? " -> unit " : " (not mapped)", str(d, "unit"));
			if (m && YAJL_IS_OBJECT(m))
				printf("      disc: %s%s\n",
				       flag(m, "loaded")      ? str(m, "image")
				       : flag(m, "tray_open") ? "none, tray open"
				                              : "none",
				       flag(m, "prevented") ? ", removal prevented by the guest"
				                            : "");
		}
	}
	printf("\nLUNs: %zu\n", arr_len(luns));
	for (size_t i = 0; i < arr_len(luns); i++) {
		yajl_val l = luns->u.array.values[i];

		printf("  unit %s: %s\n", str(l, "unit"), str(l, "spec"));
		printf("      %s, device %s, %s%s%s, %llu user%s, %llu in flight, %llu blocks of "
		       "%llu\n",
		       str(l, "kind"), str(l, "device"),
		       flag(l, "read_only") ? "read-only" : "read-write",
		       flag(l, "raw") ? ", raw" : "", flag(l, "gone") ? ", GONE" : "",
		       num(l, "users"), num(l, "users") == 1 ? "" : "s", num(l, "inflight"),
		       num(l, "blocks"), num(l, "block_size"));
		if (str(l, "stable")[0])
			printf("      stable identity: %s\n", str(l, "stable"));
		print_resv(get(l, "reservation"));
	}
}

static void text_io(yajl_val s)
{
	yajl_val sk = get(s, "sense_keys"), lat = get(s, "latency");
	yajl_val bounds = get(lat, "bounds_us"), counts = get(lat, "counts");
	unsigned long long cmds = num(s, "commands");
	char r[32], w[32];

	printf("      %llu commands, %s read, %s written, %llu errors\n", cmds,
	       human_bytes(num(s, "bytes_read"), r, sizeof(r)),
	       human_bytes(num(s, "bytes_written"), w, sizeof(w)), num(s, "errors"));
	if (sk && YAJL_IS_OBJECT(sk) && sk->u.object.len) {
		printf("      check conditions:");
		for (size_t i = 0; i < sk->u.object.len; i++)
			printf("%s %s %s", i ? "," : "", sk->u.object.keys[i],
			       YAJL_IS_NUMBER(sk->u.object.values[i])
			           ? YAJL_GET_NUMBER(sk->u.object.values[i])
			           : "?");
		printf("\n");
	}
	printf("      %llu reservation conflicts, %llu busy, %llu host errors, %llu aborted, %llu "
	       "reset; %llu abort and %llu reset functions\n",
	       num(s, "reservation_conflicts"), num(s, "busy"), num(s, "host_errors"),
	       num(s, "aborted"), num(s, "reset"), num(s, "task_aborts"), num(s, "task_resets"));
	if (!cmds)
		return;
	printf("      latency: mean %.0f us;", (double)num(lat, "sum_ns") / 1e3 / (double)cmds);
	for (size_t i = 0; i < arr_len(counts); i++) {
		yajl_val c = counts->u.array.values[i];
		unsigned long long n =
		    YAJL_IS_NUMBER(c) ? strtoull(YAJL_GET_NUMBER(c), NULL, 10) : 0;

		if (!n)
			continue;
		if (i < arr_len(bounds))
			printf(" <%sus %llu", YAJL_GET_NUMBER(bounds->u.array.values[i]), n);
		else
			printf(" more %llu", n);
	}
	printf("\n");
}

static void text_stats(yajl_val r)
{
	yajl_val luns = get(r, "luns"), rings = get(r, "rings"), cs = get(r, "controllers");

	printf("LUNs: %zu\n", arr_len(luns));
	for (size_t i = 0; i < arr_len(luns); i++) {
		yajl_val l = luns->u.array.values[i];

		printf("  unit %s: %s, %llu in flight\n", str(l, "unit"), str(l, "spec"),
		       num(l, "inflight"));
		text_io(l);
	}
	for (size_t i = 0; i < arr_len(cs); i++) {
		yajl_val c = cs->u.array.values[i];

		if (!i)
			printf("\ncontrollers: %zu\n", arr_len(cs));
		printf("  %s: %llu requests, %llu responses, %llu in flight, %llu bad chains, "
		       "%llu bad target, %llu task management\n",
		       str(c, "name"), num(c, "requests"), num(c, "responses"), num(c, "inflight"),
		       num(c, "bad_chains"), num(c, "bad_target"), num(c, "tmfs"));
		text_io(c);
	}
	if (cs)
		return;
	printf("\nrings: %zu\n", arr_len(rings));
	for (size_t i = 0; i < arr_len(rings); i++) {
		yajl_val g = rings->u.array.values[i];

		printf(
		    "  domain %llu vhost %llu: %llu requests, %llu responses, %llu in flight, %llu "
		    "rejected, %llu no connect, %llu task management\n",
		    num(g, "domid"), num(g, "vhost"), num(g, "requests"), num(g, "responses"),
		    num(g, "inflight"), num(g, "rejected"), num(g, "no_connect"), num(g, "tmfs"));
		text_io(g);
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"socket", required_argument, NULL, 's'},  {"json", no_argument, NULL, 'j'},
	    {"timeout", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0},
	};
	const char *path = DEFAULT_SOCKET, *cmd, *level = NULL;
	unsigned long timeout = 10;
	long long us = -1; /* poll's or coalesce's argument; -1: none */
	bool json = false;
	char *req = NULL, *reply = NULL, ebuf[256], *end;
	yajl_val v = NULL, ret, err;
	size_t len;
	int c, fd, rc = 1;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:jt:hV", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 't':
			timeout = strtoul(optarg, &end, 10);
			if (!optarg[0] || *end || timeout < 1 || timeout > 3600) {
				fprintf(stderr,
				        "pvscsictl: --timeout: '%s' is not a number of seconds "
				        "in 1..3600\n",
				        optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("pvscsictl (pvscsi) %s\n", PVSCSI_VERSION);
			return 0;
		case ':':
			fprintf(stderr, "pvscsictl: %s needs an argument (see --help)\n",
			        argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "pvscsictl: unknown option '%s' (see --help)\n",
			        argv[optind - 1]);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "pvscsictl: no command (status, stats, metrics, log-level, poll, "
		                "defer-kicks or coalesce; see --help)\n");
		return 2;
	}
	cmd = argv[optind++];
	if (strcmp(cmd, "status") && strcmp(cmd, "stats") && strcmp(cmd, "metrics") &&
	    strcmp(cmd, "log-level") && strcmp(cmd, "poll") && strcmp(cmd, "defer-kicks") &&
	    strcmp(cmd, "coalesce")) {
		fprintf(stderr,
		        "pvscsictl: unknown command '%s' (status, stats, metrics, log-level, poll, "
		        "defer-kicks or coalesce)\n",
		        cmd);
		return 2;
	}
	if (!strcmp(cmd, "log-level") && optind < argc)
		level = argv[optind++];
	if ((!strcmp(cmd, "poll") || !strcmp(cmd, "coalesce")) && optind < argc) {
		const char *a = argv[optind++];

		errno = 0;
		us = strtoll(a, &end, 10);
		if (errno || end == a || *end || us < 0 || us > INT_MAX) {
			fprintf(stderr, "pvscsictl: %s: '%s' is not a number of microseconds\n",
			        cmd, a);
			return 2;
		}
	}
	if (!strcmp(cmd, "defer-kicks") && optind < argc) {
		const char *a = argv[optind++];

		if (strcmp(a, "on") && strcmp(a, "off")) {
			fprintf(stderr, "pvscsictl: defer-kicks: '%s' is neither on nor off\n", a);
			return 2;
		}
		us = !strcmp(a, "on");
	}
	if (optind < argc) {
		fprintf(stderr, "pvscsictl: %s: unexpected argument '%s'\n", cmd, argv[optind]);
		return 2;
	}
	if (build_request(cmd, level, us, &req, &len)) {
		fprintf(stderr, "pvscsictl: out of memory\n");
		return 1;
	}
	fd = pctl_client_connect(
	    "pvscsictl", path, (unsigned int)timeout,
	    "is pvscsid, or the pvscsi-vhost-user of that --ctl-socket, running?");
	if (fd < 0)
		goto out;
	reply = pctl_client_exchange("pvscsictl", fd, path, req, len);
	close(fd);
	if (!reply)
		goto out;
	v = yajl_tree_parse(reply, ebuf, sizeof(ebuf));
	if (!v) {
		ebuf[strcspn(ebuf, "\n")] = '\0';
		fprintf(stderr, "pvscsictl: the reply from %s is not JSON: %s\n", path, ebuf);
		goto out;
	}
	err = get(v, "error");
	ret = get(v, "return");
	if (err) {
		fprintf(stderr, "pvscsictl: %s: %s (%s)\n", cmd, str(err, "desc"),
		        str(err, "class"));
		goto out;
	}
	if (!ret) {
		fprintf(stderr,
		        "pvscsictl: the reply from %s has neither \"return\" nor \"error\"\n",
		        path);
		goto out;
	}
	rc = 0;
	if (json)
		print_json(ret);
	else if (!strcmp(cmd, "status"))
		text_status(ret);
	else if (!strcmp(cmd, "stats"))
		text_stats(ret);
	else if (!strcmp(cmd, "metrics"))
		fputs(str(ret, "text"), stdout);
	else if (!strcmp(cmd, "poll"))
		printf("poll %llu us%s\n", num(ret, "us"), num(ret, "us") ? "" : " (off)");
	else if (!strcmp(cmd, "coalesce"))
		printf("coalesce %llu us%s\n", num(ret, "us"), num(ret, "us") ? "" : " (off)");
	else if (!strcmp(cmd, "defer-kicks"))
		printf("deferred kicks %s\n", YAJL_IS_TRUE(get(ret, "on")) ? "on" : "off");
	else if (level && strcmp(str(ret, "previous"), str(ret, "level")))
		printf("log level %s (was %s)\n", str(ret, "level"), str(ret, "previous"));
	else
		printf("log level %s\n", str(ret, "level"));
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "pvscsictl: writing the output: %s\n", strerror(errno));
		rc = 1;
	}
out:
	yajl_tree_free(v);
	free(reply);
	free(req);
	return rc;
}
