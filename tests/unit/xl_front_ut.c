/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xl_front_ut.c - the front as installed over Xen's xl: every other verb is
 * exec'd to Xen's xl with the same argv (argv[0] included), output and exit
 * status; the host-wide lock; libxl's userdata lock; the pvscsid check; and
 * migrate-receive's relay, which holds the receiver's "ready" back until the
 * SCSI devices are attached (or refuses the domain so the sender resumes).
 *
 * Xen's xl is played by a copy of this binary: XL_UT_MODE=echo prints its
 * argv and exits 7, XL_UT_MODE=receiver speaks xl's migration protocol.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "../xl/world.h"

static const char banner[] = "xl migration receiver ready, send binary domain data.\n";
static const char ready[] = "domain received, ready to unpause";
static const char go[] = "domain is yours, you are cleared to unpause";
static const char report[] = "my copy unpause results are as follows";

static char fake_xl[PATH_MAX];

/* ------------------------------------------------------- the fake xl */

static int echo_main(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		printf("argv[%d]=[%s]\n", i, argv[i]);
	fprintf(stderr, "stderr from the real xl\n");
	return 7;
}

/* Read stdin until @want (of @len bytes) has gone by; 0 or -1 at EOF. */
static int read_until(const char *want, size_t len, size_t *total)
{
	char win[128] = {0};
	size_t have = 0;
	char ch;

	while (read(0, &ch, 1) == 1) {
		(*total)++;
		if (have < len) {
			win[have++] = ch;
		} else {
			memmove(win, win + 1, len - 1);
			win[len - 1] = ch;
		}
		if (have == len && !memcmp(win, want, len))
			return 0;
	}
	return -1;
}

/* @together: banner and "ready" in one write, behind the domain data (one read for the front). */
static int receiver_main(bool together)
{
	size_t total = 0;
	char zero = 0, both[sizeof(banner) - 1 + sizeof(ready)];

	if (!together && write(1, banner, sizeof(banner) - 1) < 0)
		return 1;
	if (read_until("DATA-END", 8, &total))
		return 3;
	fprintf(stderr, "fake receiver: %zu bytes of domain data\n", total);
	memcpy(both, banner, sizeof(banner) - 1);
	memcpy(both + sizeof(banner) - 1, ready, sizeof(ready));
	if (together ? write(1, both, sizeof(both)) < 0 : write(1, ready, sizeof(ready)) < 0)
		return 1;
	if (read_until(go, sizeof(go), &total))
		return 4;
	if (write(1, report, sizeof(report)) < 0 || write(1, &zero, 1) < 0)
		return 1;
	return 0;
}

/* -------------------------------------------------------------- helpers */

struct run {
	char out[8192];
	size_t len;
	int status;
};

/* Fork; the child runs @fn with stdout+stderr into a pipe; collect both and the exit status. */
static void capture(int (*fn)(void *), void *arg, struct run *r)
{
	int p[2];
	pid_t pid;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		_exit(fn(arg));
	}
	close(p[1]);
	while ((n = read(p[0], r->out + r->len, sizeof(r->out) - 1 - r->len)) > 0)
		r->len += (size_t)n;
	close(p[0]);
	waitpid(pid, &r->status, 0);
}

static char **front_argv;

static int run_front(void *arg)
{
	int n = 0;

	(void)arg;
	setenv("XL_REAL", fake_xl, 1);
	setenv("XL_UT_MODE", "echo", 1);
	while (front_argv[n])
		n++;
	return xlp_front_main(n, front_argv);
}

static int run_direct(void *arg)
{
	(void)arg;
	setenv("XL_UT_MODE", "echo", 1);
	execv(fake_xl, front_argv);
	return 127;
}

static void test_passthrough_identical(void)
{
	static char *const cases[][8] = {
	    {"xl", "list", NULL},
	    {"xl", "-v", "list", "-l", "a b", "", NULL},
	    {"/usr/local/sbin/xl", "block-attach", "guest", "phy:/dev/vg/x,xvdb,w", NULL},
	    {"xl", "-N", "pci-attach", "3", "0000:01:00.0", NULL},
	    {"xl", "scsi-bogus", "x", NULL},
	    {"xl", "help", "create", NULL},
	    {"xl", "restore", "/no/such/image", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run a, b;

		front_argv = (char **)cases[i];
		capture(run_front, NULL, &a);
		capture(run_direct, NULL, &b);
		CU_ASSERT(WIFEXITED(a.status) && WEXITSTATUS(a.status) == 7);
		CU_ASSERT_EQUAL(a.status, b.status);
		CU_ASSERT_EQUAL(a.len, b.len);
		CU_ASSERT_STRING_EQUAL(a.out, b.out);
		/* argv[0] is what the administrator's shell gave. */
		{
			char want[256];

			snprintf(want, sizeof(want), "argv[0]=[%s]\n", cases[i][0]);
			CU_ASSERT_PTR_NOT_NULL(strstr(a.out, want));
		}
	}
}

static char cfgpath[PATH_MAX];

static void test_create_without_vscsi_passes_through(void)
{
	char *argv[] = {"xl", "create", cfgpath, "memory=64", NULL};
	struct run a, b;
	FILE *f;

	snprintf(cfgpath, sizeof(cfgpath), "/tmp/xl_front_ut.%d.cfg", getpid());
	f = fopen(cfgpath, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("name = \"plain\"\nmemory = 128\n", f);
	fclose(f);
	front_argv = argv;
	capture(run_front, NULL, &a);
	capture(run_direct, NULL, &b);
	CU_ASSERT_EQUAL(WEXITSTATUS(a.status), 7);
	CU_ASSERT_STRING_EQUAL(a.out, b.out);
	unlink(cfgpath);
}

static int run_self_guard(void *arg)
{
	char *argv[] = {"xl", "list", NULL};

	(void)arg;
	setenv("XL_REAL", "/proc/self/exe", 1);
	return xlp_front_main(2, argv);
}

static int run_help(void *arg)
{
	char *argv[] = {"xl", "help", "scsi-attach", NULL};

	(void)arg;
	return xlp_front_main(3, argv);
}

static void test_front_guard_and_help(void)
{
	struct run r;

	/* Refused with exit status 1 and one line, as any Xen's xl not found. */
	capture(run_self_guard, NULL, &r);
	CU_ASSERT_EQUAL(WEXITSTATUS(r.status), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "is this front itself, not Xen's xl"));
	CU_ASSERT_PTR_NOT_NULL(strchr(r.out, '\n'));
	CU_ASSERT_EQUAL(strchr(r.out, '\n') - r.out + 1, (long)r.len);
	capture(run_help, NULL, &r);
	CU_ASSERT_EQUAL(WEXITSTATUS(r.status), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "Usage: xl [-N] scsi-attach"));
}

/* ---------------------------------------------------------------- locks */

static double now_s(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* A child holds flock(@path) for 400 ms; returns once it has it. */
static pid_t hold_lock(const char *path)
{
	int p[2];
	pid_t pid;
	char ch;

	CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		int fd = open(path, O_RDWR | O_CREAT, 0600);

		flock(fd, LOCK_EX);
		if (write(p[1], "x", 1) < 0)
			_exit(1);
		usleep(400000);
		_exit(0);
	}
	close(p[1]);
	CU_ASSERT_EQUAL(read(p[0], &ch, 1), 1);
	close(p[0]);
	return pid;
}

static bool lock_free(const char *path)
{
	int fd = open(path, O_RDWR);
	bool free_ = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0;

	if (fd >= 0)
		close(fd);
	return free_;
}

static void test_host_lock(void)
{
	struct xlp_ctx c;
	char path[64];
	double t0;
	pid_t pid;

	snprintf(path, sizeof(path), "/tmp/xl_front_ut.%d.lock", getpid());
	xlp_ctx_init(&c);
	c.lock_path = path;
	pid = hold_lock(path);
	t0 = now_s();
	CU_ASSERT_EQUAL(xlp_lock(&c), 0);
	/* A second xl waited for the first. */
	CU_ASSERT(now_s() - t0 > 0.25);
	waitpid(pid, NULL, 0);
	/* Nested: held until the outermost unlock. */
	CU_ASSERT_EQUAL(xlp_lock(&c), 0);
	xlp_unlock(&c);
	CU_ASSERT_FALSE(lock_free(path));
	xlp_unlock(&c);
	CU_ASSERT_TRUE(lock_free(path));
	unlink(path);
	c.lock_path = "/nonexistent-dir/x.lock";
	c.err = fopen("/dev/null", "w");
	CU_ASSERT_EQUAL(xlp_lock(&c), -ENOENT);
	fclose(c.err);
}

static void test_userdata_lock_shared_with_libxl(void)
{
	static const char *const a[] = {"scsi-attach", "guest1", "/dev/sdb", "0:0:0:0", NULL};
	char lock[PATH_MAX + 128];
	double t0;
	pid_t pid;

	w_setup();
	snprintf(lock, sizeof(lock), "%s/userdata-l.5.%s.domain-userdata-lock", W->libdir, UUID5);
	/* libxl (say, xl block-attach) is updating guest1's configuration. */
	pid = hold_lock(lock);
	t0 = now_s();
	CU_ASSERT_EQUAL(w_cmd(xlp_cmd_attach, a), 0);
	CU_ASSERT(now_s() - t0 > 0.25);
	waitpid(pid, NULL, 0);
	/* As libxl does, the lock file is gone once released. */
	CU_ASSERT_EQUAL(access(lock, F_OK), -1);
	{
		char *ud = w_read_userdata(5, UUID5);

		CU_ASSERT_PTR_NOT_NULL(strstr(ud, "pvscsi/0/dev-0/spec"));
		free(ud);
	}
	w_teardown();
}

static void test_backend_check(void)
{
	char dir[64], p[128];
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/xl_front_ut.%d.proc", getpid());
	mkdir(dir, 0755);
	snprintf(p, sizeof(p), "%s/1", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/1/comm", dir);
	f = fopen(p, "w");
	fputs("init\n", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/self", dir);
	mkdir(p, 0755);
	CU_ASSERT_FALSE(xlp_proc_has(dir, "pvscsid"));
	snprintf(p, sizeof(p), "%s/4242", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/4242/comm", dir);
	f = fopen(p, "w");
	fputs("pvscsid\n", f);
	fclose(f);
	CU_ASSERT_TRUE(xlp_proc_has(dir, "pvscsid"));
	CU_ASSERT_FALSE(xlp_proc_has(dir, "pvscsi"));
	/* This very process is not pvscsid. */
	CU_ASSERT_FALSE(xlp_proc_has("/proc", "xl_front_ut-no"));
	{
		char cmd[200];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		CU_ASSERT_EQUAL(system(cmd), 0);
	}
}

/* ------------------------------------------------------- migrate-receive */

#define INCOMING_JSON                                                                              \
	"{\"c_info\":{\"name\":\"guest1\",\"xsdata\":{\"pvscsi/0/dev-0/spec\":\"" NAA_A            \
	":0,0:0:0:0\",\"pvscsi/0/dev-0/pdev\":\"/dev/sdb\"}}}"

/*
 * The sender, as xl migrate behaves: 1 MiB of "domain data" and the end
 * marker, then it waits for the receiver's "ready" before it gives
 * permission to go (a front that held "ready" back for good would hang it),
 * then reads the rest.  Everything it read goes to @log.
 */
static pid_t sender(int to, int from, int other_in, int other_out, const char *log)
{
	pid_t pid = fork();

	if (pid == 0) {
		static char chunk[65536], got[8192];
		size_t len = 0;
		ssize_t n;
		FILE *f;

		/* The receiver's ends: with them open here, neither side would see EOF. */
		close(other_in);
		close(other_out);
		memset(chunk, 0xab, sizeof(chunk));
		for (int i = 0; i < 16; i++)
			if (write(to, chunk, sizeof(chunk)) < 0)
				_exit(1);
		if (write(to, "DATA-END", 8) < 0)
			_exit(1);
		while (!memmem(got, len, ready, sizeof(ready)) &&
		       (n = read(from, got + len, sizeof(got) - len)) > 0)
			len += (size_t)n;
		if (memmem(got, len, ready, sizeof(ready)) && write(to, go, sizeof(go)) < 0)
			_exit(1);
		close(to);
		while ((n = read(from, got + len, sizeof(got) - len)) > 0)
			len += (size_t)n;
		f = fopen(log, "wb");
		fwrite(got, 1, len, f);
		fclose(f);
		_exit(0);
	}
	close(to);
	close(from);
	return pid;
}

static const char *receiver_mode = "receiver";

static int migrate_receive(struct run *r)
{
	int in[2], out[2], save0 = dup(0), save1 = dup(1), rc;
	char *argv[] = {"migrate-receive", NULL};
	char log[64];
	FILE *f;
	pid_t s;

	snprintf(log, sizeof(log), "/tmp/xl_front_ut.%d.sender", getpid());
	CU_ASSERT_EQUAL(pipe(in), 0);
	CU_ASSERT_EQUAL(pipe(out), 0);
	fflush(stdout);
	s = sender(in[1], out[0], in[0], out[1], log);
	dup2(in[0], 0);
	dup2(out[1], 1);
	close(in[0]);
	close(out[1]);
	setenv("XL_UT_MODE", receiver_mode, 1);
	W->c.xl_real = fake_xl;
	/* A relay that holds "ready" for good would hang: make that a failure. */
	alarm(60);
	rc = xlp_cmd_migrate_receive(&W->c, 1, argv, NULL, 0);
	alarm(0);
	unsetenv("XL_UT_MODE");
	fflush(stdout);
	dup2(save1, 1);
	dup2(save0, 0);
	close(save0);
	close(save1);
	/* Our end of the stream is closed now: the sender sees EOF and finishes. */
	waitpid(s, NULL, 0);
	memset(r, 0, sizeof(*r));
	f = fopen(log, "rb");
	if (f) {
		r->len = fread(r->out, 1, sizeof(r->out) - 1, f);
		fclose(f);
	}
	unlink(log);
	return rc;
}

static bool has_bytes(const struct run *r, const char *m, size_t len)
{
	return memmem(r->out, r->len, m, len) != NULL;
}

static void test_migrate_receive_attaches_before_ready(void)
{
	static const char *const a[] = {"scsi-attach", "guest1", "/dev/sdb", "0:0:0:0", NULL};
	struct run r;

	w_setup();
	/* Localhost: the sender's copy (guest1, domain 5) holds the LUN. */
	CU_ASSERT_EQUAL_FATAL(w_cmd(xlp_cmd_attach, a), 0);
	w_domain(9, "guest1--incoming", UUID5);
	w_write_userdata(9, UUID5, INCOMING_JSON);
	CU_ASSERT_EQUAL(migrate_receive(&r), 0);
	CU_ASSERT_EQUAL(memcmp(r.out, banner, sizeof(banner) - 1), 0);
	CU_ASSERT_TRUE(has_bytes(&r, ready, sizeof(ready)));
	CU_ASSERT_TRUE(has_bytes(&r, report, sizeof(report)));
	CU_ASSERT_EQUAL(r.len, sizeof(banner) - 1 + sizeof(ready) + sizeof(report) + 1);
	CU_ASSERT_STRING_EQUAL(
	    fake_xs_get(W->fx, "/local/domain/0/backend/vscsi/9/0/vscsi-devs/dev-0/p-dev"),
	    "2:0:0:0");
	CU_ASSERT_STRING_EQUAL(W->xl_calls, "");
	w_teardown();
}

/* "ready" right behind other output in one read: still held back, still attached first. */
static void test_migrate_receive_ready_in_one_read(void)
{
	struct run r;

	w_setup();
	w_domain(9, "guest1--incoming", UUID5);
	w_write_userdata(9, UUID5, INCOMING_JSON);
	receiver_mode = "receiver-together";
	CU_ASSERT_EQUAL(migrate_receive(&r), 0);
	receiver_mode = "receiver";
	CU_ASSERT_TRUE(has_bytes(&r, ready, sizeof(ready)));
	CU_ASSERT_TRUE(has_bytes(&r, report, sizeof(report)));
	CU_ASSERT_TRUE(fake_xs_exists(W->fx, "/local/domain/0/backend/vscsi/9/0/vscsi-devs/dev-0"));
	/* Its reboot monitor: started before the rename, it follows the UUID. */
	CU_ASSERT_STRING_EQUAL(W->spawned, "9 ");
	w_teardown();
}

static void test_migrate_receive_refuses_missing(void)
{
	struct run r;
	char *err;

	w_setup();
	CU_ASSERT_EQUAL_FATAL(fake_sysfs_clear(&W->fs), 0);
	w_domain(9, "guest1--incoming", UUID5);
	w_write_userdata(9, UUID5, INCOMING_JSON);
	CU_ASSERT_EQUAL(migrate_receive(&r), 1);
	/* No "ready": the sender sees the stream end and resumes its copy. */
	CU_ASSERT_FALSE(has_bytes(&r, ready, sizeof(ready)));
	CU_ASSERT_STRING_EQUAL(W->spawned, "");
	CU_ASSERT_STRING_EQUAL(W->xl_calls, "xl destroy 9\n");
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, "/local/domain/0/backend/vscsi/9"));
	err = w_text(true);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "migration target: SCSI devices missing here"));
	free(err);
	w_teardown();
}

static void test_migrate_receive_without_scsi(void)
{
	struct run r;

	w_setup();
	w_domain(9, "plain--incoming", UUID5);
	w_write_userdata(9, UUID5, "{\"c_info\":{\"name\":\"plain\"}}");
	CU_ASSERT_EQUAL(migrate_receive(&r), 0);
	CU_ASSERT_TRUE(has_bytes(&r, ready, sizeof(ready)));
	CU_ASSERT_FALSE(fake_xs_exists(W->fx, "/local/domain/0/backend/vscsi/9"));
	w_teardown();
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
	    {"passthrough_identical", test_passthrough_identical},
	    {"create_without_vscsi_passes_through", test_create_without_vscsi_passes_through},
	    {"front_guard_and_help", test_front_guard_and_help},
	    {"host_lock", test_host_lock},
	    {"userdata_lock_shared_with_libxl", test_userdata_lock_shared_with_libxl},
	    {"backend_check", test_backend_check},
	    {"migrate_receive_attaches_before_ready", test_migrate_receive_attaches_before_ready},
	    {"migrate_receive_ready_in_one_read", test_migrate_receive_ready_in_one_read},
	    {"migrate_receive_refuses_missing", test_migrate_receive_refuses_missing},
	    {"migrate_receive_without_scsi", test_migrate_receive_without_scsi},
	};
	const char *mode = getenv("XL_UT_MODE");
	CU_pSuite s;
	unsigned int failed;
	char cmd[PATH_MAX * 2 + 32];

	if (mode && !strcmp(mode, "echo"))
		return echo_main(argc, argv);
	if (mode && !strcmp(mode, "receiver"))
		return receiver_main(false);
	if (mode && !strcmp(mode, "receiver-together"))
		return receiver_main(true);
	/* The front exec'ing itself as Xen's xl: a failure, not the suite run again, recursively.
	 */
	if (argc < 1 || !strstr(argv[0], "xl_front_ut")) {
		fprintf(stderr, "xl_front_ut: started as '%s': the front ran itself as Xen's xl\n",
		        argc ? argv[0] : "");
		return 3;
	}

	/* A copy of this binary plays Xen's xl (the front refuses to exec itself). */
	snprintf(fake_xl, sizeof(fake_xl), "/tmp/xl_front_ut.%d.xl", getpid());
	snprintf(cmd, sizeof(cmd), "cp /proc/%d/exe %s", getpid(), fake_xl);
	if (system(cmd))
		return 2;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("xl_front", NULL, NULL);
	if (!s)
		return 2;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (!CU_add_test(s, tests[i].name, tests[i].fn))
			return 2;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	unlink(fake_xl);
	return failed ? 1 : 0;
}
