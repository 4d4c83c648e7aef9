/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migrate.c - xl migrate-receive: the migration stream between the sender
 * and Xen's xl, passed through unchanged except that the receiver's "ready"
 * message is held back until the guest's SCSI devices are attached here
 * (xlp_migrate_ready(), resolve.c).  Refusing them then destroys the
 * incoming domain, and the sender resumes its guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xlp.h"

/* tools/xl/xl.h: sent with its NUL by the receiver once the domain is in, paused. */
static const char ready_msg[] = "domain received, ready to unpause";

struct buf {
	char *d;
	size_t n, cap;
};

static int buf_add(struct buf *b, const char *d, size_t n)
{
	if (b->n + n > b->cap) {
		size_t cap = (b->n + n) * 2 + 4096;
		char *nd = realloc(b->d, cap);

		if (!nd)
			return -ENOMEM;
		b->d = nd;
		b->cap = cap;
	}
	memcpy(b->d + b->n, d, n);
	b->n += n;
	return 0;
}

static void buf_drop(struct buf *b, size_t n)
{
	memmove(b->d, b->d + n, b->n - n);
	b->n -= n;
}

static ssize_t write_some(int fd, struct buf *b)
{
	ssize_t w = write(fd, b->d, b->n);

	if (w > 0)
		buf_drop(b, (size_t)w);
	return w;
}

/*
 * How much of @b can go on before the ready message (which is held back
 * until xlp_migrate_ready() agrees): the index of the message, or
 * everything but a tail that could be its start.
 */
static size_t forwardable(const struct buf *b, bool *found)
{
	size_t m = sizeof(ready_msg); /* with its NUL */

	*found = false;
	for (size_t i = 0; i < b->n; i++) {
		size_t l = b->n - i < m ? b->n - i : m;

		if (memcmp(b->d + i, ready_msg, l))
			continue;
		if (l == m)
			*found = true;
		return i;
	}
	return b->n;
}

int xlp_cmd_migrate_receive(struct xlp_ctx *c, int argc, char **argv, char **global, int nglobal)
{
	int in[2], out[2], status = 0, k = 0, out_flags;
	struct buf up = {0}, down = {0}; /* up: to the child's stdin; down: to our stdout */
	bool in_eof = false, out_eof = false, passed = false;
	char **xargv;
	pid_t pid;

	c->prefix = NULL;
	/* Remus/COLO streams checkpoint forever: no single point to act at. */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-r") || !strncmp(argv[i], "--colo", 6))
			return -1;
	xargv = calloc((size_t)(argc + nglobal + 2), sizeof(*xargv));
	if (!xargv)
		return 1;
	xargv[k++] = (char *)c->argv0;
	for (int i = 0; i < nglobal; i++)
		xargv[k++] = global[i];
	for (int i = 0; i < argc; i++)
		xargv[k++] = argv[i];
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) {
		free(xargv);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	pid = fork();
	if (pid < 0) {
		free(xargv);
		return 1;
	}
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execv(c->xl_real, xargv);
		fprintf(stderr, "migration target: cannot run %s: %s\n", c->xl_real,
		        strerror(errno));
		_exit(127);
	}
	free(xargv);
	close(in[0]);
	close(out[1]);
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	out_flags = fcntl(1, F_GETFL);
	fcntl(1, F_SETFL, out_flags | O_NONBLOCK);

	while (!out_eof || down.n) {
		struct pollfd pf[4];
		int np = 0, ii = -1, io = -1, ci = -1, co = -1;
		char tmp[65536];
		ssize_t r;

		/* The receiver's "ready" is next in line: attach first, then let it through. */
		if (!passed && down.n) {
			bool found;
			size_t f = forwardable(&down, &found);

			if (found && f == 0) {
				if (xlp_migrate_ready(c)) {
					kill(pid, SIGTERM);
					waitpid(pid, &status, 0);
					if (in[1] >= 0)
						close(in[1]);
					close(out[0]);
					fcntl(1, F_SETFL, out_flags);
					free(up.d);
					free(down.d);
					return 1;
				}
				passed = true;
			}
		}
		if (!in_eof && up.n < (1 << 20)) {
			pf[np] = (struct pollfd){.fd = 0, .events = POLLIN};
			ii = np++;
		}
		if (up.n && in[1] >= 0) {
			pf[np] = (struct pollfd){.fd = in[1], .events = POLLOUT};
			io = np++;
		}
		if (!out_eof) {
			pf[np] = (struct pollfd){.fd = out[0], .events = POLLIN};
			ci = np++;
		}
		if (out_eof)
			passed = true; /* nothing more can complete a held-back tail */
		if (down.n) {
			bool found;
			size_t f = passed ? down.n : forwardable(&down, &found);

			if (f) {
				pf[np] = (struct pollfd){.fd = 1, .events = POLLOUT};
				co = np++;
			}
		}
		if (np == 0)
			break;
		if (poll(pf, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (ii >= 0 && pf[ii].revents) {
			r = read(0, tmp, sizeof(tmp));
			if (r > 0) {
				buf_add(&up, tmp, (size_t)r);
			} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
				in_eof = true;
			}
		}
		if (io >= 0 && pf[io].revents) {
			if (write_some(in[1], &up) < 0 && errno != EAGAIN && errno != EINTR) {
				up.n = 0; /* the child stopped reading; it will say why */
				in_eof = true;
			}
		}
		if (in_eof && !up.n && in[1] >= 0) {
			close(in[1]);
			in[1] = -1;
		}
		if (ci >= 0 && pf[ci].revents) {
			r = read(out[0], tmp, sizeof(tmp));
			if (r > 0)
				buf_add(&down, tmp, (size_t)r);
			else if (r == 0 || (errno != EINTR && errno != EAGAIN))
				out_eof = true;
		}
		if (co >= 0 && pf[co].revents) {
			bool found;
			size_t f = passed ? down.n : forwardable(&down, &found);
			ssize_t w = write(1, down.d, f);

			if (w > 0)
				buf_drop(&down, (size_t)w);
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				down.n = 0;
		}
	}
	if (in[1] >= 0)
		close(in[1]);
	close(out[0]);
	fcntl(1, F_SETFL, out_flags);
	free(up.d);
	free(down.d);
	waitpid(pid, &status, 0);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
