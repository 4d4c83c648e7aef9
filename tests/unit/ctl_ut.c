/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctl_ut.c - the control socket (common/ctlsock.c), the Prometheus text
 * (common/metrics.c) and pvscsid's commands (backend/control.c) on the fake
 * xenstore, grant table and event channel: every command, and every kind
 * of bad request (not JSON, not an object, unknown command, wrong argument
 * types, oversized, a refused peer, clients that stall).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "control.h"
#include "ctlsock.h"
#include "cu_run.h"
#include "daemon.h"
#include "fake_evtchn.h"
#include "fake_front.h"
#include "fake_gnt.h"
#include "fake_xs.h"
#include "log.h"
#include "metrics.h"
#include "ring_harness.h"

static char sock_path[108];

/* ---- a test command set ---- */

static int t_echo(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	yajl_val v = pctl_arg(args, "n");

	(void)arg;
	if (v && !YAJL_IS_INTEGER(v))
		return pctl_fail(e, PCTL_E_ARG, "\"n\" must be an integer");
	yajl_gen_map_open(g);
	pctl_u64(g, "n", v ? (unsigned long long)YAJL_GET_INTEGER(v) : 0);
	yajl_gen_map_close(g);
	return 0;
}

/* Fails after generating half a value: the reply must not carry any of it. */
static int t_fail(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	(void)arg;
	(void)args;
	yajl_gen_map_open(g);
	pctl_str(g, "half", "done");
	return pctl_fail(e, PCTL_E_FAILED, "it broke: %d", 42);
}

/* About 1 MiB: more than a socket buffer holds. */
static int t_big(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	static char s[1 << 20];

	(void)arg;
	(void)args;
	(void)e;
	memset(s, 'x', sizeof(s) - 1);
	yajl_gen_string(g, (const unsigned char *)s, sizeof(s) - 1);
	return 0;
}

/* Answers later (pctl_resume()) when it can, at once otherwise. */
static struct pctl_later saved_later;
static int t_later(void *arg, const yajl_val args, yajl_gen g, struct pctl_err *e)
{
	(void)arg;
	(void)args;
	(void)e;
	if (pctl_defer(&saved_later))
		return PCTL_DEFERRED;
	yajl_gen_map_open(g);
	pctl_bool(g, "now", true);
	yajl_gen_map_close(g);
	return 0;
}

static const struct pctl_command tcmds[] = {
    {"echo", t_echo},
    {"fail", t_fail},
    {"big", t_big},
    {"later", t_later},
};

static bool refuse_all(void *arg, pid_t pid, uid_t uid, gid_t gid)
{
	(void)arg;
	(void)pid;
	(void)uid;
	(void)gid;
	return false;
}

static bool allow_all(void *arg, pid_t pid, uid_t uid, gid_t gid)
{
	(void)arg;
	(void)pid;
	(void)uid;
	(void)gid;
	return true;
}

/* The reply to @req through pctl_reply(), parsed; the caller frees it. */
static yajl_val reply_of(const struct pctl_cfg *cfg, const char *req)
{
	char *out, ebuf[128];
	size_t len;
	yajl_val v;

	CU_ASSERT_FATAL(pctl_reply(cfg, req, strlen(req), &out, &len) == 0);
	CU_ASSERT_EQUAL(out[len - 1], '\n');
	CU_ASSERT_PTR_NULL(memchr(out, '\n', len - 1)); /* one line */
	out[len - 1] = '\0';
	v = yajl_tree_parse(out, ebuf, sizeof(ebuf));
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	free(out);
	return v;
}

static const char *err_class(yajl_val v)
{
	const char *p[] = {"error", "class", NULL};
	yajl_val c = yajl_tree_get(v, p, yajl_t_string);

	return c ? YAJL_GET_STRING(c) : "";
}

static const char *err_desc(yajl_val v)
{
	const char *p[] = {"error", "desc", NULL};
	yajl_val c = yajl_tree_get(v, p, yajl_t_string);

	return c ? YAJL_GET_STRING(c) : "";
}

static void expect_error(const struct pctl_cfg *cfg, const char *req, const char *cls,
                         const char *in_desc)
{
	yajl_val v = reply_of(cfg, req);

	CU_ASSERT_STRING_EQUAL(err_class(v), cls);
	if (in_desc && !strstr(err_desc(v), in_desc)) {
		fprintf(stderr, "request %s: desc '%s' lacks '%s'\n", req, err_desc(v), in_desc);
		CU_FAIL("error desc");
	}
	yajl_tree_free(v);
}

static const struct pctl_cfg tcfg = {.cmds = tcmds, .ncmds = 4};

static void test_reply_ok(void)
{
	const char *p[] = {"return", "n", NULL};
	yajl_val v = reply_of(&tcfg, "{\"command\":\"echo\",\"arguments\":{\"n\":7}}");

	CU_ASSERT_EQUAL(YAJL_GET_INTEGER(yajl_tree_get(v, p, yajl_t_number)), 7);
	yajl_tree_free(v);
	v = reply_of(&tcfg, "  {\"command\":\"echo\"}  ");
	CU_ASSERT_EQUAL(YAJL_GET_INTEGER(yajl_tree_get(v, p, yajl_t_number)), 0);
	yajl_tree_free(v);
}

static void test_reply_help(void)
{
	const char *p[] = {"return", NULL};
	yajl_val v = reply_of(&tcfg, "{\"command\":\"help\"}");
	yajl_val a = yajl_tree_get(v, p, yajl_t_array);

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(a->u.array.len, 5); /* the four commands and help */
	CU_ASSERT_STRING_EQUAL(YAJL_GET_STRING(a->u.array.values[0]), "echo");
	yajl_tree_free(v);
}

static void test_reply_bad_requests(void)
{
	expect_error(&tcfg, "status", PCTL_E_PARSE, "not JSON");
	expect_error(&tcfg, "{\"command\":", PCTL_E_PARSE, "not JSON");
	expect_error(&tcfg, "", PCTL_E_PARSE, NULL);
	expect_error(&tcfg, "[\"echo\"]", PCTL_E_INVALID, "JSON object");
	expect_error(&tcfg, "\"echo\"", PCTL_E_INVALID, "JSON object");
	expect_error(&tcfg, "{}", PCTL_E_INVALID, "\"command\" is missing");
	expect_error(&tcfg, "{\"command\":5}", PCTL_E_INVALID, "not a string");
	expect_error(&tcfg, "{\"command\":\"echo\",\"arguments\":[1]}", PCTL_E_INVALID,
	             "not an object");
	expect_error(&tcfg, "{\"command\":\"echo\",\"extra\":1}", PCTL_E_INVALID, "\"extra\"");
	expect_error(&tcfg, "{\"command\":\"nope\"}", PCTL_E_NOCMD, "\"nope\"");
	expect_error(&tcfg, "{\"command\":\"echo\",\"arguments\":{\"n\":\"7\"}}", PCTL_E_ARG,
	             "integer");
}

static void test_reply_nul_byte(void)
{
	static const char req[] = "{\"command\":\"echo\"}\0{}";
	char *out;
	size_t len;

	CU_ASSERT_FATAL(pctl_reply(&tcfg, req, sizeof(req) - 1, &out, &len) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, PCTL_E_PARSE));
	free(out);
}

static void test_reply_failure_discarded(void)
{
	yajl_val v = reply_of(&tcfg, "{\"command\":\"fail\"}");
	const char *p[] = {"return", NULL};

	CU_ASSERT_STRING_EQUAL(err_class(v), PCTL_E_FAILED);
	CU_ASSERT_STRING_EQUAL(err_desc(v), "it broke: 42");
	CU_ASSERT_PTR_NULL(yajl_tree_get(v, p, yajl_t_any));
	yajl_tree_free(v);
}

static void test_reply_too_large(void)
{
	struct pctl_cfg c = tcfg;

	c.max_reply = 1000;
	expect_error(&c, "{\"command\":\"big\"}", PCTL_E_REPLY_SIZE, "over the limit of 1000");
}

/* ---- over the socket ---- */

static int client(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	return fd;
}

/*
 * Read one line from @fd, running @step (the server's side) between
 * tries.  Returns its length, or -1 at EOF before a line (after @maxtries).
 */
static int read_line(int fd, char *buf, size_t len, void (*step)(void *), void *arg)
{
	size_t n = 0;

	for (int tries = 0; tries < 500; tries++) {
		ssize_t r = recv(fd, buf + n, len - 1 - n, 0);

		if (r > 0) {
			n += (size_t)r;
			buf[n] = '\0';
			if (memchr(buf, '\n', n))
				return (int)n;
			if (n + 1 >= len)
				return -1;
			continue;
		}
		if (r == 0)
			return -1;
		step(arg);
		poll(NULL, 0, 2);
	}
	return -1;
}

static void step_pctl(void *arg)
{
	pctl_handle(arg);
}

static struct pctl *open_sock(struct pctl_cfg *c)
{
	struct pctl *s = NULL;
	char err[300];

	c->path = sock_path;
	if (pctl_open(c, &s, err, sizeof(err)) != 0)
		fprintf(stderr, "%s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	return s;
}

static void test_sock_roundtrip(void)
{
	struct pctl_cfg c = tcfg;
	struct pctl *s;
	struct stat st;
	char buf[4096];
	int fd;

	c.peer_ok = allow_all;
	s = open_sock(&c);
	CU_ASSERT_EQUAL(stat(sock_path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	fd = client();
	/* Two requests in one write: two replies, in order. */
	static const char two[] =
	    "{\"command\":\"echo\",\"arguments\":{\"n\":1}}\n{\"command\":\"x\"}\n";
	CU_ASSERT_EQUAL(send(fd, two, sizeof(two) - 1, 0), (ssize_t)sizeof(two) - 1);
	CU_ASSERT_TRUE(read_line(fd, buf, sizeof(buf), step_pctl, s) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "{\"return\":{\"n\":1}}\n"));
	if (!strstr(buf, "CommandNotFound")) {
		CU_ASSERT_TRUE(
		    read_line(fd, buf + strlen(buf), sizeof(buf) - strlen(buf), step_pctl, s) > 0);
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "CommandNotFound"));
	/* A client that says it is done: its connection goes. */
	close(fd);
	for (int i = 0; i < 50 && pctl_nconns(s); i++) {
		pctl_handle(s);
		poll(NULL, 0, 2);
	}
	CU_ASSERT_EQUAL(pctl_nconns(s), 0);
	pctl_close(s);
	CU_ASSERT_NOT_EQUAL(stat(sock_path, &st), 0);
}

static void gen_seven(void *arg, yajl_gen g)
{
	(void)arg;
	yajl_gen_map_open(g);
	pctl_u64(g, "x", 7);
	yajl_gen_map_close(g);
}

static int t_line(void *arg, const char *line, char **out)
{
	(void)arg;
	if (!strcmp(line, "slow") && pctl_defer(&saved_later))
		return PCTL_DEFERRED;
	*out = strdup("fast\n");
	return *out ? 0 : -ENOMEM;
}

/* Step the server for @ms without any client reading. */
static void step_for(struct pctl *s, int ms)
{
	for (int t = 0; t < ms; t += 5) {
		pctl_handle(s);
		poll(NULL, 0, 5);
	}
}

/*
 * A deferred answer: the connection waits past the client timeout while
 * other clients are served, gets its answer from pctl_resume(), and is
 * served on after it; one that hangs up while it waits is dropped, and a
 * late pctl_resume() finds nobody.  pctl_reply() alone cannot wait.
 */
static void test_sock_deferred(void)
{
	struct pctl_cfg c = tcfg;
	static const char later[] = "{\"command\":\"later\"}\n";
	static const char echo[] = "{\"command\":\"echo\",\"arguments\":{\"n\":3}}\n";
	struct pctl *s;
	struct pctl_later gone;
	char buf[4096];
	yajl_val v;
	int a, b;

	{
		const char *p[] = {"return", "now", NULL};

		v = reply_of(&tcfg, "{\"command\":\"later\"}");
		CU_ASSERT_TRUE(YAJL_IS_TRUE(yajl_tree_get(v, p, yajl_t_any)));
		yajl_tree_free(v);
	}
	c.peer_ok = allow_all;
	c.timeout_ms = 50;
	c.line = t_line;
	s = open_sock(&c);
	a = client();
	CU_ASSERT_EQUAL(send(a, later, sizeof(later) - 1, 0), (ssize_t)sizeof(later) - 1);
	step_for(s, 200);
	CU_ASSERT_EQUAL(pctl_nconns(s), 1);
	CU_ASSERT_EQUAL(recv(a, buf, sizeof(buf), 0), -1);
	b = client();
	CU_ASSERT_EQUAL(send(b, echo, sizeof(echo) - 1, 0), (ssize_t)sizeof(echo) - 1);
	CU_ASSERT_TRUE(read_line(b, buf, sizeof(buf), step_pctl, s) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "{\"return\":{\"n\":3}}"));
	close(b);
	CU_ASSERT_TRUE(pctl_resume(&saved_later, NULL, NULL, gen_seven, NULL));
	CU_ASSERT_FALSE(pctl_resume(&saved_later, NULL, NULL, gen_seven, NULL));
	CU_ASSERT_TRUE(read_line(a, buf, sizeof(buf), step_pctl, s) > 0);
	CU_ASSERT_STRING_EQUAL(buf, "{\"return\":{\"x\":7}}\n");
	CU_ASSERT_EQUAL(send(a, echo, sizeof(echo) - 1, 0), (ssize_t)sizeof(echo) - 1);
	CU_ASSERT_TRUE(read_line(a, buf, sizeof(buf), step_pctl, s) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "{\"return\":{\"n\":3}}"));
	close(a);
	/* An error answer. */
	a = client();
	CU_ASSERT_EQUAL(send(a, later, sizeof(later) - 1, 0), (ssize_t)sizeof(later) - 1);
	step_for(s, 20);
	CU_ASSERT_TRUE(pctl_resume(&saved_later, PCTL_E_FAILED, "it took too long", NULL, NULL));
	CU_ASSERT_TRUE(read_line(a, buf, sizeof(buf), step_pctl, s) > 0);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(buf, "\"class\":\"CommandFailed\",\"desc\":\"it took too long\""));
	close(a);
	/* Gone while it waits. */
	a = client();
	CU_ASSERT_EQUAL(send(a, later, sizeof(later) - 1, 0), (ssize_t)sizeof(later) - 1);
	step_for(s, 20);
	gone = saved_later;
	close(a);
	for (int i = 0; i < 100 && pctl_nconns(s); i++)
		step_for(s, 5);
	CU_ASSERT_EQUAL(pctl_nconns(s), 0);
	CU_ASSERT_FALSE(pctl_resume(&gone, NULL, NULL, NULL, NULL));
	/* The line protocol waits the same way, and closes once answered. */
	a = client();
	CU_ASSERT_EQUAL(send(a, "slow\n", 5, 0), 5);
	step_for(s, 100);
	CU_ASSERT_EQUAL(pctl_nconns(s), 1);
	CU_ASSERT_TRUE(pctl_resume_line(&saved_later, "done\n"));
	CU_ASSERT_TRUE(read_line(a, buf, sizeof(buf), step_pctl, s) > 0);
	CU_ASSERT_STRING_EQUAL(buf, "done\n");
	CU_ASSERT_EQUAL(read_line(a, buf, sizeof(buf), step_pctl, s), -1);
	close(a);
	step_for(s, 20);
	CU_ASSERT_EQUAL(pctl_nconns(s), 0);
	pctl_close(s);
}

static void test_sock_refused_peer(void)
{
	struct pctl_cfg c = tcfg;
	struct pctl *s;
	char buf[512];
	int fd;

	c.peer_ok = refuse_all;
	s = open_sock(&c);
	fd = client();
	send(fd, "{\"command\":\"echo\"}\n", 19, MSG_NOSIGNAL);
	CU_ASSERT_TRUE(read_line(fd, buf, sizeof(buf), step_pctl, s) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"class\":\"PermissionDenied\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "root only"));
	CU_ASSERT_PTR_NULL(strstr(buf, "return"));
	/* And nothing more: the connection is closed. */
	CU_ASSERT_EQUAL(read_line(fd, buf, sizeof(buf), step_pctl, s), -1);
	close(fd);
	CU_ASSERT_EQUAL(pctl_nconns(s), 0);
	pctl_close(s);
}

/* The default check lets uid 0 in: the test runs as root, or it is skipped. */
static void test_sock_default_root_only(void)
{
	struct pctl_cfg c = tcfg;
	struct pctl *s;
	char buf[512];
	int fd;

	s = open_sock(&c);
	fd = client();
	send(fd, "{\"command\":\"echo\"}\n", 19, MSG_NOSIGNAL);
	CU_ASSERT_TRUE(read_line(fd, buf, sizeof(buf), step_pctl, s) > 0);
	if (geteuid() == 0) {
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"return\""));
	} else {
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, "PermissionDenied"));
	}
	close(fd);
	pctl_close(s);
}

static void test_sock_oversized(void)
{
	struct pctl_cfg c = tcfg;
	static char big[3000];
	struct pctl *s;
	char buf[512];
	int fd;

	c.peer_ok = allow_all;
	c.max_request = 1024;
	s = open_sock(&c);
	fd = client();
	memset(big, ' ', sizeof(big));
	CU_ASSERT_EQUAL(send(fd, big, sizeof(big), MSG_NOSIGNAL), (ssize_t)sizeof(big));
	CU_ASSERT_TRUE(read_line(fd, buf, sizeof(buf), step_pctl, s) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"class\":\"RequestTooLarge\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "1024 bytes"));
	for (int i = 0; i < 50 && pctl_nconns(s); i++) {
		pctl_handle(s);
		poll(NULL, 0, 2);
	}
	CU_ASSERT_EQUAL(pctl_nconns(s), 0);
	close(fd);
	pctl_close(s);
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * A client that sends nothing, and one that asks for a big reply and never
 * reads it: neither makes pctl_handle() wait, and both are dropped after
 * the timeout while a third is still served.
 */
static void test_sock_stuck_clients(void)
{
	struct pctl_cfg c = tcfg;
	struct pctl *s;
	char buf[512];
	int idle, slow, ok;
	uint64_t t0;

	c.peer_ok = allow_all;
	c.timeout_ms = 200;
	s = open_sock(&c);
	idle = client();
	slow = client();
	send(slow, "{\"command\":\"big\"}\n", 18, MSG_NOSIGNAL);
	t0 = ms_now();
	for (int i = 0; i < 20; i++)
		pctl_handle(s);
	CU_ASSERT_TRUE(ms_now() - t0 < 150); /* the unread MiB did not block anything */
	CU_ASSERT_EQUAL(pctl_nconns(s), 2);
	CU_ASSERT_TRUE(pctl_timeout_ms(s) >= 0 && pctl_timeout_ms(s) <= 200);
	ok = client();
	send(ok, "{\"command\":\"echo\"}\n", 19, MSG_NOSIGNAL);
	CU_ASSERT_TRUE(read_line(ok, buf, sizeof(buf), step_pctl, s) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"return\""));
	close(ok);
	while (ms_now() - t0 < 400) {
		pctl_handle(s);
		poll(NULL, 0, 10);
	}
	CU_ASSERT_EQUAL(pctl_nconns(s), 0);
	CU_ASSERT_EQUAL(pctl_timeout_ms(s), -1);
	close(idle);
	close(slow);
	pctl_close(s);
}

static void test_sock_max_conns(void)
{
	struct pctl_cfg c = tcfg;
	struct pctl *s;
	int fd[3];
	char b;

	c.peer_ok = allow_all;
	c.max_conns = 2;
	s = open_sock(&c);
	for (int i = 0; i < 3; i++)
		fd[i] = client();
	for (int i = 0; i < 5; i++)
		pctl_handle(s);
	CU_ASSERT_EQUAL(pctl_nconns(s), 2);
	/* The third was closed at once: EOF, not a wait. */
	CU_ASSERT_EQUAL(recv(fd[2], &b, 1, 0), 0);
	for (int i = 0; i < 3; i++)
		close(fd[i]);
	pctl_close(s);
}

static void test_sock_bad_path(void)
{
	struct pctl_cfg c = tcfg;
	struct pctl *s = NULL;
	char err[300];

	c.path = "/nonexistent/dir/control";
	CU_ASSERT_EQUAL(pctl_open(&c, &s, err, sizeof(err)), -ENOENT);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "control socket /nonexistent/dir/control"));
}

/* ---- the Prometheus text ---- */

static void test_metrics_format(void)
{
	struct pmet_label l[2] = {{"spec", "file:/a \"b\"\\c\nd"}, {"unit", "u:1"}};
	const double bounds[2] = {0.001, 0.01};
	const uint64_t counts[3] = {1, 2, 3};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	pmet_family(f, "x_total", "counter", "A \\ help\nline");
	pmet_sample(f, "x_total", l, 2, 5);
	pmet_sample(f, "y", NULL, 0, 0);
	pmet_histogram(f, "h_seconds", l + 1, 1, bounds, counts, 3, 0.5);
	fclose(f);
	CU_ASSERT_STRING_EQUAL(text, "# HELP x_total A \\\\ help\\nline\n"
	                             "# TYPE x_total counter\n"
	                             "x_total{spec=\"file:/a \\\"b\\\"\\\\c\\nd\",unit=\"u:1\"} 5\n"
	                             "y 0\n"
	                             "h_seconds_bucket{unit=\"u:1\",le=\"0.001\"} 1\n"
	                             "h_seconds_bucket{unit=\"u:1\",le=\"0.01\"} 3\n"
	                             "h_seconds_bucket{unit=\"u:1\",le=\"+Inf\"} 6\n"
	                             "h_seconds_sum{unit=\"u:1\"} 0.5\n"
	                             "h_seconds_count{unit=\"u:1\"} 6\n");
	free(text);
}

/* ---- pvscsid's commands, on the fakes ---- */

#define BEP "/local/domain/0/backend/vscsi/3/0"
#define FEP "/local/domain/3/device/vscsi/0"

struct dm {
	struct fake_xs *fx;
	struct fake_gnt *gnt;
	struct fake_evt *evt;
	struct pvsd_daemon *d;
	struct fake_front f;
	uint8_t *buf;
};

static void step_daemon(void *arg)
{
	struct dm *m = arg;

	pvsd_daemon_iterate(m->d, 5);
}

static int iterate_until(struct dm *m, const char *path, const char *want)
{
	for (int i = 0; i < 200; i++) {
		const char *v = fake_xs_get(m->fx, path);

		if (v && strcmp(v, want) == 0)
			return 0;
		if (pvsd_daemon_iterate(m->d, 20) <= 0)
			return -1;
	}
	return -1;
}

/* pvscsid with one vhost of domain 3, dev-0 a mem: LUN at 0:0:0, connected. */
static void dm_start(struct dm *m)
{
	struct fake_xs_conn *conn;
	struct pvsd_daemon_cfg cfg = {0};
	char v[16];

	memset(m, 0, sizeof(*m));
	m->fx = fake_xs_new();
	conn = fake_xs_connect(m->fx, 0);
	m->gnt = fake_gnt_new();
	m->evt = fake_evt_new();
	m->buf = rh_alloc(65536);
	fake_xs_pvsd(conn, &cfg.xs);
	cfg.gnt = &fake_gnt_ops;
	cfg.gnt_ctx = m->gnt;
	cfg.evt = &fake_evt_ops;
	cfg.evt_ctx = m->evt;
	cfg.resolver.sysfs_root = "/nonexistent";
	cfg.resolver.dev_root = "/nonexistent";
	cfg.own_domid = -1;
	cfg.control = sock_path;
	cfg.control_peer_ok = allow_all;
	CU_ASSERT_FATAL(pvsd_daemon_new(&cfg, &m->d) == 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pvsd_daemon_control(m->d));
	fake_xs_write(m->fx, 0, BEP "/frontend", FEP);
	fake_xs_write(m->fx, 0, BEP "/frontend-id", "3");
	fake_xs_write(m->fx, 0, BEP "/online", "1");
	fake_xs_write(m->fx, 0, BEP "/state", "1");
	fake_xs_write(m->fx, 0, BEP "/vscsi-devs/dev-0/p-dev", "mem:4M");
	fake_xs_write(m->fx, 0, BEP "/vscsi-devs/dev-0/v-dev", "0:0:0:0");
	fake_xs_write(m->fx, 0, BEP "/vscsi-devs/dev-0/state", "1");
	fake_xs_write(m->fx, 0, FEP "/state", "1");
	fake_xs_chmod(m->fx, "/local/domain/0/backend/vscsi/3", "n0 r3", true);
	fake_xs_chmod(m->fx, FEP, "n3 r0", true);
	CU_ASSERT_EQUAL_FATAL(iterate_until(m, BEP "/state", "2"), 0);
	CU_ASSERT_FATAL(fake_front_init(&m->f, m->gnt, m->evt, 3) == 0);
	snprintf(v, sizeof(v), "%u", m->f.ring_ref);
	fake_xs_write(m->fx, 3, FEP "/ring-ref", "%s", v);
	snprintf(v, sizeof(v), "%u", m->f.port);
	fake_xs_write(m->fx, 3, FEP "/event-channel", "%s", v);
	fake_xs_write(m->fx, 3, FEP "/state", "3");
	CU_ASSERT_EQUAL_FATAL(iterate_until(m, BEP "/state", "4"), 0);
	fake_xs_write(m->fx, 3, FEP "/state", "4");
	CU_ASSERT_EQUAL_FATAL(iterate_until(m, BEP "/vscsi-devs/dev-0/state", "4"), 0);
}

static void dm_stop(struct dm *m)
{
	pvsd_daemon_free(m->d);
	CU_ASSERT_EQUAL(m->f.errors, 0);
	fake_front_fini(&m->f);
	fake_xs_free(m->fx);
	fake_evt_free(m->evt);
	fake_gnt_free(m->gnt);
	free(m->buf);
}

/* A READ(10) of @blocks blocks through the ring and the loop. */
static void dm_read(struct dm *m, unsigned int blocks)
{
	struct fake_front_cmd c = {.cdb = {0x28}, .cdb_len = 10, .dir = PVSP_DIR_FROM_DEV};
	struct vscsiif_response rsp;
	int i;

	c.cdb[8] = (uint8_t)blocks;
	c.buf = m->buf;
	c.len = blocks * 512;
	CU_ASSERT_FATAL(fake_front_queue(&m->f, &c) >= 0);
	CU_ASSERT_TRUE(fake_front_push(&m->f));
	for (i = 0; i < 100 && fake_front_response(&m->f, &rsp) != 1; i++)
		pvsd_daemon_iterate(m->d, 5);
	CU_ASSERT_TRUE(i < 100);
}

/* The daemon's reply to @req, parsed (NULL if none came). */
static yajl_val ask(struct dm *m, const char *req)
{
	static char buf[1 << 18];
	char line[4096], ebuf[128];
	int fd = client();
	yajl_val v;

	snprintf(line, sizeof(line), "%s\n", req);
	CU_ASSERT_EQUAL(send(fd, line, strlen(line), MSG_NOSIGNAL), (ssize_t)strlen(line));
	if (read_line(fd, buf, sizeof(buf), step_daemon, m) <= 0) {
		close(fd);
		return NULL;
	}
	close(fd);
	v = yajl_tree_parse(buf, ebuf, sizeof(ebuf));
	CU_ASSERT_PTR_NOT_NULL(v);
	return v;
}

static yajl_val at(yajl_val v, const char *const *path, yajl_type t)
{
	yajl_val r = yajl_tree_get(v, (const char **)path, t);

	if (!r)
		fprintf(stderr, "no %s at %s...\n", path[0], path[1] ? path[1] : "");
	return r;
}

static void test_pvsd_status(void)
{
	static const char *const be[] = {"backend_state", NULL};
	static const char *const fe[] = {"frontend_state", NULL};
	static const char *const sg[] = {"ring", "feature_sg_grant", NULL};
	static const char *const jn[] = {"ring", "journal", NULL};
	static const char *const vh[] = {"return", "vhosts", NULL};
	static const char *const lu[] = {"return", "luns", NULL};
	static const char *const spec[] = {"spec", NULL};
	static const char *const ro[] = {"read_only", NULL};
	static const char *const pdev[] = {"pdev", NULL};
	struct dm m;
	yajl_val v, a, x;

	dm_start(&m);
	v = ask(&m, "{\"command\":\"status\"}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	a = at(v, vh, yajl_t_array);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL_FATAL(a->u.array.len, 1);
	x = a->u.array.values[0];
	CU_ASSERT_STRING_EQUAL(YAJL_GET_STRING(at(x, be, yajl_t_string)), "Connected");
	CU_ASSERT_STRING_EQUAL(YAJL_GET_STRING(at(x, fe, yajl_t_string)), "Connected");
	CU_ASSERT_EQUAL(YAJL_GET_INTEGER(at(x, sg, yajl_t_number)), PVSD_RING_DEFAULT_SEGS);
	CU_ASSERT_STRING_EQUAL(YAJL_GET_STRING(at(x, jn, yajl_t_string)), "off");
	{
		static const char *const dv[] = {"devices", NULL};
		yajl_val d = at(x, dv, yajl_t_array);

		CU_ASSERT_PTR_NOT_NULL_FATAL(d);
		CU_ASSERT_EQUAL_FATAL(d->u.array.len, 1);
		CU_ASSERT_STRING_EQUAL(
		    YAJL_GET_STRING(at(d->u.array.values[0], pdev, yajl_t_string)), "mem:4M");
	}
	a = at(v, lu, yajl_t_array);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL_FATAL(a->u.array.len, 1);
	CU_ASSERT_STRING_EQUAL(YAJL_GET_STRING(at(a->u.array.values[0], spec, yajl_t_string)),
	                       "mem:4M");
	CU_ASSERT_TRUE(YAJL_IS_FALSE(at(a->u.array.values[0], ro, yajl_t_any)));
	yajl_tree_free(v);
	/* Arguments it does not take. */
	v = ask(&m, "{\"command\":\"status\",\"arguments\":{\"x\":1}}");
	CU_ASSERT_STRING_EQUAL(err_class(v), PCTL_E_ARG);
	yajl_tree_free(v);
	dm_stop(&m);
}

static uint64_t lun_counter(yajl_val v, const char *name)
{
	static const char *const lu[] = {"return", "luns", NULL};
	const char *p[] = {name, NULL};
	yajl_val a = yajl_tree_get(v, (const char **)lu, yajl_t_array);

	if (!a || a->u.array.len != 1)
		return UINT64_MAX;
	return (uint64_t)YAJL_GET_INTEGER(yajl_tree_get(a->u.array.values[0], p, yajl_t_number));
}

static void test_pvsd_stats(void)
{
	static const char *const rg[] = {"return", "rings", NULL};
	static const char *const cmds[] = {"commands", NULL};
	static const char *const br[] = {"bytes_read", NULL};
	struct dm m;
	yajl_val v, a;
	uint64_t c0, b0;

	dm_start(&m);
	dm_read(&m, 1); /* takes the power-on unit attention */
	v = ask(&m, "{\"command\":\"stats\"}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	{
		/* That first one ended CHECK CONDITION, UNIT ATTENTION. */
		static const char *const ua[] = {"return", "luns", NULL};
		const char *p[] = {"sense_keys", "Unit Attention", NULL};
		yajl_val l = yajl_tree_get(v, (const char **)ua, yajl_t_array);

		CU_ASSERT_PTR_NOT_NULL_FATAL(l);
		CU_ASSERT_EQUAL(
		    YAJL_GET_INTEGER(yajl_tree_get(l->u.array.values[0], p, yajl_t_number)), 1);
	}
	c0 = lun_counter(v, "commands");
	b0 = lun_counter(v, "bytes_read");
	yajl_tree_free(v);
	dm_read(&m, 8);
	dm_read(&m, 8);
	v = ask(&m, "{\"command\":\"stats\"}");
	CU_ASSERT_EQUAL(lun_counter(v, "commands"), c0 + 2);
	CU_ASSERT_EQUAL(lun_counter(v, "bytes_read"), b0 + 8192);
	a = yajl_tree_get(v, (const char **)rg, yajl_t_array);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL_FATAL(a->u.array.len, 1);
	CU_ASSERT_TRUE(YAJL_GET_INTEGER(at(a->u.array.values[0], cmds, yajl_t_number)) >= 2);
	CU_ASSERT_TRUE(YAJL_GET_INTEGER(at(a->u.array.values[0], br, yajl_t_number)) >= 8192);
	yajl_tree_free(v);
	dm_stop(&m);
}

static void test_pvsd_metrics(void)
{
	static const char *const tx[] = {"return", "text", NULL};
	struct dm m;
	yajl_val v, t;
	const char *s;

	dm_start(&m);
	dm_read(&m, 4);
	v = ask(&m, "{\"command\":\"metrics\"}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	t = at(v, tx, yajl_t_string);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	s = YAJL_GET_STRING(t);
	if (getenv("CTL_UT_METRICS")) {
		/* For checking with tests/e2e/lib/prom_check.py by hand. */
		FILE *f = fopen(getenv("CTL_UT_METRICS"), "w");

		if (f) {
			fputs(s, f);
			fclose(f);
		}
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "# TYPE pvscsi_lun_commands_total counter\n"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(s, "pvscsi_lun_read_bytes_total{unit=\"u:1\",spec=\"mem:4M\"} "));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(s, "pvscsi_lun_check_conditions_total{unit=\"u:1\",spec=\"mem:4M\",sense_key="));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "pvscsi_ring_commands_total{domid=\"3\",vhost=\"0\"} "));
	CU_ASSERT_PTR_NOT_NULL(strstr(
	    s, "pvscsi_lun_latency_seconds_bucket{unit=\"u:1\",spec=\"mem:4M\",le=\"+Inf\"} "));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "# TYPE pvscsi_ring_latency_seconds histogram\n"));
	yajl_tree_free(v);
	dm_stop(&m);
}

static void test_pvsd_log_level(void)
{
	static const char *const lv[] = {"return", "level", NULL};
	static const char *const pv[] = {"return", "previous", NULL};
	int old = plog_get_level();
	struct dm m;
	yajl_val v;

	dm_start(&m);
	v = ask(&m, "{\"command\":\"log-level\",\"arguments\":{\"level\":\"debug\"}}");
	CU_ASSERT_STRING_EQUAL(YAJL_GET_STRING(at(v, lv, yajl_t_string)), "debug");
	CU_ASSERT_STRING_EQUAL(YAJL_GET_STRING(at(v, pv, yajl_t_string)), plog_level_name(old));
	CU_ASSERT_EQUAL(plog_get_level(), LOG_DEBUG);
	yajl_tree_free(v);
	v = ask(&m, "{\"command\":\"log-level\"}");
	CU_ASSERT_STRING_EQUAL(YAJL_GET_STRING(at(v, lv, yajl_t_string)), "debug");
	yajl_tree_free(v);
	v = ask(&m, "{\"command\":\"log-level\",\"arguments\":{\"level\":7}}");
	CU_ASSERT_STRING_EQUAL(err_class(v), PCTL_E_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_desc(v), "must be a string"));
	yajl_tree_free(v);
	v = ask(&m, "{\"command\":\"log-level\",\"arguments\":{\"level\":\"loud\"}}");
	CU_ASSERT_STRING_EQUAL(err_class(v), PCTL_E_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_desc(v), "'loud'"));
	yajl_tree_free(v);
	v = ask(&m, "{\"command\":\"log-level\",\"arguments\":{\"lvl\":\"info\"}}");
	CU_ASSERT_STRING_EQUAL(err_class(v), PCTL_E_ARG);
	yajl_tree_free(v);
	CU_ASSERT_EQUAL(plog_get_level(), LOG_DEBUG);
	plog_level(old);
	dm_stop(&m);
}

/* poll: adaptive polling at run time, within bounds, the previous value named. */
/*
 * A setting in microseconds at run time (poll, coalesce): read, set to
 * @val, refused above @max (naming the range), as a string, under another
 * name; set back to 0, the reply says the value before.
 */
static void us_command(const char *cmd, unsigned int val, unsigned int max)
{
	static const char *const us[] = {"return", "us", NULL};
	static const char *const pv[] = {"return", "previous", NULL};
	char req[128], range[32];
	struct dm m;
	yajl_val v;

	dm_start(&m);
	snprintf(req, sizeof(req), "{\"command\":\"%s\"}", cmd);
	v = ask(&m, req);
	CU_ASSERT_EQUAL(YAJL_GET_INTEGER(at(v, us, yajl_t_number)), 0);
	yajl_tree_free(v);
	snprintf(req, sizeof(req), "{\"command\":\"%s\",\"arguments\":{\"us\":%u}}", cmd, val);
	v = ask(&m, req);
	CU_ASSERT_EQUAL(YAJL_GET_INTEGER(at(v, us, yajl_t_number)), val);
	CU_ASSERT_EQUAL(YAJL_GET_INTEGER(at(v, pv, yajl_t_number)), 0);
	yajl_tree_free(v);
	snprintf(req, sizeof(req), "{\"command\":\"%s\",\"arguments\":{\"us\":%u}}", cmd, max + 1);
	v = ask(&m, req);
	CU_ASSERT_STRING_EQUAL(err_class(v), PCTL_E_ARG);
	snprintf(range, sizeof(range), "0..%u", max);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_desc(v), range));
	yajl_tree_free(v);
	snprintf(req, sizeof(req), "{\"command\":\"%s\",\"arguments\":{\"us\":\"fast\"}}", cmd);
	v = ask(&m, req);
	CU_ASSERT_STRING_EQUAL(err_class(v), PCTL_E_ARG);
	yajl_tree_free(v);
	snprintf(req, sizeof(req), "{\"command\":\"%s\",\"arguments\":{\"usec\":5}}", cmd);
	v = ask(&m, req);
	CU_ASSERT_STRING_EQUAL(err_class(v), PCTL_E_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_desc(v), "usec"));
	yajl_tree_free(v);
	snprintf(req, sizeof(req), "{\"command\":\"%s\",\"arguments\":{\"us\":0}}", cmd);
	v = ask(&m, req);
	CU_ASSERT_EQUAL(YAJL_GET_INTEGER(at(v, us, yajl_t_number)), 0);
	CU_ASSERT_EQUAL(YAJL_GET_INTEGER(at(v, pv, yajl_t_number)), val);
	yajl_tree_free(v);
	dm_stop(&m);
}

static void test_pvsd_poll(void)
{
	us_command("poll", 50, 1000);
}

/* Completion coalescing at run time: the same shape as poll, its own bound. */
static void test_pvsd_coalesce(void)
{
	us_command("coalesce", 5000, 10000);
}

static void test_pvsd_defer_kicks(void)
{
	static const char *const on[] = {"return", "on", NULL};
	static const char *const pv[] = {"return", "previous", NULL};
	struct dm m;
	yajl_val v;

	dm_start(&m);
	v = ask(&m, "{\"command\":\"defer-kicks\"}");
	CU_ASSERT_TRUE(YAJL_IS_FALSE(at(v, on, yajl_t_false)));
	yajl_tree_free(v);
	v = ask(&m, "{\"command\":\"defer-kicks\",\"arguments\":{\"on\":true}}");
	CU_ASSERT_TRUE(YAJL_IS_TRUE(at(v, on, yajl_t_true)));
	CU_ASSERT_TRUE(YAJL_IS_FALSE(at(v, pv, yajl_t_false)));
	yajl_tree_free(v);
	CU_ASSERT_TRUE(pvsd_xenbus_defer_kicks(pvsd_daemon_xenbus(m.d)));
	v = ask(&m, "{\"command\":\"defer-kicks\",\"arguments\":{\"on\":1}}");
	CU_ASSERT_STRING_EQUAL(err_class(v), PCTL_E_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_desc(v), "true or false"));
	yajl_tree_free(v);
	v = ask(&m, "{\"command\":\"defer-kicks\",\"arguments\":{\"off\":true}}");
	CU_ASSERT_STRING_EQUAL(err_class(v), PCTL_E_ARG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_desc(v), "off"));
	yajl_tree_free(v);
	v = ask(&m, "{\"command\":\"defer-kicks\",\"arguments\":{\"on\":false}}");
	CU_ASSERT_TRUE(YAJL_IS_FALSE(at(v, on, yajl_t_false)));
	CU_ASSERT_TRUE(YAJL_IS_TRUE(at(v, pv, yajl_t_true)));
	yajl_tree_free(v);
	CU_ASSERT_FALSE(pvsd_xenbus_defer_kicks(pvsd_daemon_xenbus(m.d)));
	dm_stop(&m);
}

/* Garbage on the socket: error replies, and the daemon serves on. */
static void test_pvsd_serves_on(void)
{
	static const char *const ver[] = {"return", "version", NULL};
	struct dm m;
	yajl_val v;

	dm_start(&m);
	v = ask(&m, "not json at all");
	CU_ASSERT_STRING_EQUAL(err_class(v), PCTL_E_PARSE);
	yajl_tree_free(v);
	v = ask(&m, "[1,2,3]");
	CU_ASSERT_STRING_EQUAL(err_class(v), PCTL_E_INVALID);
	yajl_tree_free(v);
	v = ask(&m, "{\"command\":\"reboot\"}");
	CU_ASSERT_STRING_EQUAL(err_class(v), PCTL_E_NOCMD);
	yajl_tree_free(v);
	dm_read(&m, 1);
	v = ask(&m, "{\"command\":\"status\"}");
	CU_ASSERT_STRING_EQUAL(YAJL_GET_STRING(at(v, ver, yajl_t_string)), PVSCSI_VERSION);
	yajl_tree_free(v);
	dm_stop(&m);
}

static void test_pvsd_options(void)
{
	FILE *null = fopen("/dev/null", "w");
	struct pvsd_opts o;
	char *a1[] = {"pvscsid", NULL};
	char *a2[] = {"pvscsid", "--control", "none", NULL};
	char *a3[] = {"pvscsid", "--control", "/tmp/x.sock", NULL};
	char *a4[] = {"pvscsid", "--control", "rel/x.sock", NULL};

	CU_ASSERT_EQUAL(pvsd_opts_parse(1, a1, &o, null, null), 0);
	CU_ASSERT_STRING_EQUAL(o.control, PVSD_DEFAULT_CONTROL);
	CU_ASSERT_EQUAL(pvsd_opts_parse(3, a2, &o, null, null), 0);
	CU_ASSERT_PTR_NULL(o.control);
	CU_ASSERT_EQUAL(pvsd_opts_parse(3, a3, &o, null, null), 0);
	CU_ASSERT_STRING_EQUAL(o.control, "/tmp/x.sock");
	CU_ASSERT_EQUAL(pvsd_opts_parse(3, a4, &o, null, null), -EINVAL);
	fclose(null);
}

static const struct cu_test proto_tests[] = {
    {"a command's reply", test_reply_ok},
    {"help", test_reply_help},
    {"bad requests", test_reply_bad_requests},
    {"NUL byte", test_reply_nul_byte},
    {"failure discards output", test_reply_failure_discarded},
    {"reply too large", test_reply_too_large},
};
static const struct cu_test sock_tests[] = {
    {"round trip", test_sock_roundtrip},
    {"a deferred answer", test_sock_deferred},
    {"refused peer", test_sock_refused_peer},
    {"root only by default", test_sock_default_root_only},
    {"oversized request", test_sock_oversized},
    {"stuck clients dropped", test_sock_stuck_clients},
    {"connection limit", test_sock_max_conns},
    {"bad path", test_sock_bad_path},
};
static const struct cu_test metrics_tests[] = {
    {"text format", test_metrics_format},
};
static const struct cu_test pvsd_tests[] = {
    {"status", test_pvsd_status},     {"stats", test_pvsd_stats},
    {"metrics", test_pvsd_metrics},   {"log-level", test_pvsd_log_level},
    {"poll", test_pvsd_poll},         {"defer-kicks", test_pvsd_defer_kicks},
    {"coalesce", test_pvsd_coalesce}, {"serves on after garbage", test_pvsd_serves_on},
    {"--control", test_pvsd_options},
};

int main(void)
{
	static const struct cu_suite suites[] = {
	    CU_SUITE("protocol", NULL, NULL, proto_tests),
	    CU_SUITE("socket", NULL, NULL, sock_tests),
	    CU_SUITE("metrics", NULL, NULL, metrics_tests),
	    CU_SUITE("pvscsid", NULL, NULL, pvsd_tests),
	};
	char dir[] = "/tmp/ctl_ut.XXXXXX";
	int rc;

	signal(SIGPIPE, SIG_IGN);
	plog_level(LOG_WARNING);
	if (!mkdtemp(dir))
		return 2;
	snprintf(sock_path, sizeof(sock_path), "%s/control", dir);
	rc = CU_RUN_SUITES(suites);
	unlink(sock_path);
	rmdir(dir);
	return rc;
}
