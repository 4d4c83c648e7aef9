/*
 * main.c - pvscsi-vhost-user: a vhost-user-scsi back-end for QEMU's
 * vhost-user-scsi-pci, serving LUNs of the pvscsi LUN core.
 *
 * One thread: an epoll loop over the vhost-user listening socket and its
 * one connection, the queues' kick eventfds, the worker's fd, the control
 * socket and a signalfd.  Follows the back-end program conventions of
 * QEMU's docs/interop/vhost-user.rst: --socket-path / --fd,
 * --print-capabilities, no daemonizing, log on stderr, SIGTERM ends it.
 * See docs/vhost-user.md.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "pvscsi/lun.h"
#include "vscsi.h"
#include "vu_dev.h"
#include "vu_log.h"

enum { TAG_LISTEN = 1, TAG_CONN, TAG_CTL, TAG_SIGNAL, TAG_WORKER, TAG_KICK = 0x100 };

struct app {
	int ep;
	int listen_fd;
	int conn_fd;
	int ctl_fd;
	int sig_fd;
	struct pvs_worker *w;
	struct vscsi *vs;
	struct vu_dev *dev;
	const char *socket_path;
	const char *ctl_path;
	bool once; /* --fd: the one connection is all there is */
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: pvscsi-vhost-user --socket-path=PATH [options]\n"
	    "       pvscsi-vhost-user --fd=N [options]\n"
	    "       pvscsi-vhost-user --print-capabilities\n"
	    "       pvscsi-vhost-user ctl CTL-SOCKET COMMAND [ARGS]\n"
	    "options:\n"
	    "  --lun T:L=SPEC      a LUN (repeatable); SPEC: file:PATH[,ro][,bs=N] | mem:SIZE |\n"
	    "                      sg:/dev/sgN[,raw]\n"
	    "  --config FILE       'lun T:L SPEC' lines\n"
	    "  --ctl-socket PATH   control socket (add/remove/resize/list/stats)\n"
	    "  --num-queues N      request queues offered (1..16, default 16)\n"
	    "  --verbose           one line per vhost-user message\n"
	    "control commands: add T:L SPEC | remove T:L | resize T:L | list | stats\n");
}

static int epoll_set(struct app *a, int op, int fd, uint64_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};

	return epoll_ctl(a->ep, op, fd, &ev);
}

static void on_kick_fd(void *arg, unsigned int q, int fd)
{
	struct app *a = arg;

	/* The old fd was closed, which took it out of the epoll set. */
	if (fd >= 0 && epoll_set(a, EPOLL_CTL_ADD, fd, TAG_KICK + q) < 0)
		vu_log(LOG_ERR, "queue %u: epoll: %s", q, strerror(errno));
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		vu_log(LOG_ERR, "%s: path too long", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		vu_log(LOG_ERR, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void connect_dev(struct app *a, int fd)
{
	struct timeval tv = {5, 0};

	/* A front-end that stops in the middle of a message must not hang the back-end. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (vu_dev_new(fd, vscsi_dev_ops(a->vs), a->vs, &a->dev)) {
		close(fd);
		return;
	}
	vscsi_attach(a->vs, a->dev);
	a->conn_fd = fd;
	epoll_set(a, EPOLL_CTL_ADD, fd, TAG_CONN);
	vu_log(LOG_INFO, "front-end connected");
}

static void disconnect_dev(struct app *a, int why)
{
	if (!a->dev)
		return;
	epoll_ctl(a->ep, EPOLL_CTL_DEL, a->conn_fd, NULL);
	/* Drains every queue, then unmaps guest memory and closes the fds. */
	vu_dev_free(a->dev);
	vscsi_attach(a->vs, NULL);
	a->dev = NULL;
	a->conn_fd = -1;
	vu_log(LOG_INFO, "front-end disconnected (%s)", strerror(-why));
}

static void handle_ctl(struct app *a)
{
	char line[1024], out[16384];
	struct timeval tv = {2, 0};
	ssize_t n;
	size_t got = 0;
	int fd = accept4(a->ctl_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (got < sizeof(line) - 1 && (n = read(fd, line + got, sizeof(line) - 1 - got)) > 0) {
		got += (size_t)n;
		if (memchr(line, '\n', got))
			break;
	}
	line[got] = 0;
	vuctl_exec(a->vs, a->w, line, out, sizeof(out));
	if (write(fd, out, strlen(out)) < 0)
		vu_log(LOG_ERR, "control socket: %s", strerror(errno));
	close(fd);
}

static int run(struct app *a)
{
	for (;;) {
		struct epoll_event ev[16];
		int n = epoll_wait(a->ep, ev, 16, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (int i = 0; i < n; i++) {
			uint64_t tag = ev[i].data.u64;
			int rc;

			switch (tag) {
			case TAG_LISTEN: {
				int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC);

				if (fd < 0)
					break;
				if (a->dev) {
					/* One front-end at a time. */
					vu_log(LOG_ERR, "second front-end refused");
					close(fd);
					break;
				}
				connect_dev(a, fd);
				break;
			}
			case TAG_CONN:
				if (!a->dev)
					break;
				rc = vu_dev_handle(a->dev);
				if (rc) {
					disconnect_dev(a, rc);
					if (a->once)
						return 0;
				}
				break;
			case TAG_CTL:
				handle_ctl(a);
				break;
			case TAG_SIGNAL: {
				struct signalfd_siginfo si;

				if (read(a->sig_fd, &si, sizeof(si)) == sizeof(si))
					vu_log(LOG_INFO, "signal %u: exiting", si.ssi_signo);
				return 0;
			}
			case TAG_WORKER:
				pvs_worker_poll(a->w);
				vscsi_flush(a->vs);
				break;
			default:
				if (tag >= TAG_KICK && a->dev) {
					vu_dev_kick_ack(a->dev, (unsigned int)(tag - TAG_KICK));
					vscsi_kick(a->vs, (unsigned int)(tag - TAG_KICK));
				}
				break;
			}
		}
	}
}

/* pvscsi-vhost-user ctl SOCKET WORDS...: send one command, print the reply. */
static int ctl_client(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char line[1024] = "", buf[4096];
	ssize_t n;
	int fd, failed = 0;

	if (argc < 4) {
		usage(stderr);
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		strncat(line, argv[i], sizeof(line) - strlen(line) - 2);
		strncat(line, i + 1 < argc ? " " : "\n", sizeof(line) - strlen(line) - 1);
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[2]);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "pvscsi-vhost-user: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (write(fd, line, strlen(line)) < 0)
		return 1;
	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = 0;
		if (strstr(buf, "error: "))
			failed = 1;
		fputs(buf, stdout);
	}
	close(fd);
	return failed;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket-path", required_argument, NULL, 's'},
	    {"fd", required_argument, NULL, 'f'},
	    {"print-capabilities", no_argument, NULL, 'p'},
	    {"lun", required_argument, NULL, 'l'},
	    {"config", required_argument, NULL, 'c'},
	    {"ctl-socket", required_argument, NULL, 'C'},
	    {"num-queues", required_argument, NULL, 'q'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct app a = {.ep = -1, .listen_fd = -1, .conn_fd = -1, .ctl_fd = -1, .sig_fd = -1};
	struct vscsi_cfg cfg = {0};
	const char *luns[VSCSI_MAX_LUNS], *config = NULL;
	unsigned int nluns = 0, nq = VSCSI_MAX_REQ_QUEUES;
	int fd = -1, c, rc = 1;
	char err[512];
	sigset_t mask;

	if (argc >= 2 && !strcmp(argv[1], "ctl"))
		return ctl_client(argc, argv);
	while ((c = getopt_long(argc, argv, "s:f:pl:c:C:q:vh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			a.socket_path = optarg;
			break;
		case 'f':
			fd = atoi(optarg);
			break;
		case 'p':
			/* vhost-user.rst "Backend program conventions", vhost-user.json. */
			printf("{\n  \"type\": \"scsi\",\n  \"features\": []\n}\n");
			return 0;
		case 'l':
			if (nluns == VSCSI_MAX_LUNS) {
				fprintf(stderr, "pvscsi-vhost-user: too many --lun\n");
				return 2;
			}
			luns[nluns++] = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'C':
			a.ctl_path = optarg;
			break;
		case 'q':
			nq = (unsigned int)atoi(optarg);
			break;
		case 'v':
			vu_log_level(LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (!a.socket_path) == (fd < 0) || nq == 0 ||
	    nq > VSCSI_MAX_REQ_QUEUES) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (pvs_worker_new(256, &a.w)) {
		vu_log(LOG_ERR, "cannot create the worker");
		return 1;
	}
	cfg.worker = a.w;
	/* One virtio-scsi device, one I_T nexus for reservations and unit attentions. */
	cfg.initiator = 0x7669727469000000ull | (uint64_t)getpid();
	/*
	 * QEMU's vhost-user-scsi-pci picks its own num_queues (one per vCPU by
	 * default); it must not exceed what is offered here (GET_QUEUE_NUM).
	 */
	cfg.num_queues = nq;
	cfg.kick_fd = on_kick_fd;
	cfg.kick_arg = &a;
	if (vscsi_new(&cfg, &a.vs))
		goto out;
	for (unsigned int i = 0; i < nluns; i++) {
		char tl[32];
		const char *eq = strchr(luns[i], '=');

		if (!eq || (size_t)(eq - luns[i]) >= sizeof(tl)) {
			vu_log(LOG_ERR, "--lun %s: expected T:L=SPEC", luns[i]);
			goto out;
		}
		memcpy(tl, luns[i], (size_t)(eq - luns[i]));
		tl[eq - luns[i]] = 0;
		if (vuctl_add(a.vs, a.w, tl, eq + 1, err, sizeof(err))) {
			vu_log(LOG_ERR, "--lun %s", err);
			goto out;
		}
	}
	if (config && vuctl_load(a.vs, a.w, config, err, sizeof(err))) {
		vu_log(LOG_ERR, "%s", err);
		goto out;
	}
	a.ep = epoll_create1(EPOLL_CLOEXEC);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	a.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (a.ep < 0 || a.sig_fd < 0)
		goto out;
	epoll_set(&a, EPOLL_CTL_ADD, a.sig_fd, TAG_SIGNAL);
	epoll_set(&a, EPOLL_CTL_ADD, pvs_worker_fd(a.w), TAG_WORKER);
	if (a.ctl_path) {
		a.ctl_fd = listen_unix(a.ctl_path);
		if (a.ctl_fd < 0)
			goto out;
		epoll_set(&a, EPOLL_CTL_ADD, a.ctl_fd, TAG_CTL);
	}
	if (a.socket_path) {
		a.listen_fd = listen_unix(a.socket_path);
		if (a.listen_fd < 0)
			goto out;
		epoll_set(&a, EPOLL_CTL_ADD, a.listen_fd, TAG_LISTEN);
		vu_log(LOG_INFO, "listening on %s", a.socket_path);
	} else {
		a.once = true;
		connect_dev(&a, fd);
	}
	rc = run(&a) ? 1 : 0;
out:
	disconnect_dev(&a, -ESHUTDOWN);
	vscsi_free(a.vs);
	pvs_worker_free(a.w);
	if (a.listen_fd >= 0) {
		close(a.listen_fd);
		unlink(a.socket_path);
	}
	if (a.ctl_fd >= 0) {
		close(a.ctl_fd);
		unlink(a.ctl_path);
	}
	if (a.sig_fd >= 0)
		close(a.sig_fd);
	if (a.ep >= 0)
		close(a.ep);
	return rc;
}
