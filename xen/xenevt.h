/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xenevt.h - event channels behind an ops struct.
 *
 * One bound channel per ring.  The real implementation (pvx_evt_real_ops)
 * opens one libxenevtchn handle per channel so that each ring has its own
 * pollable fd and pending() never has to demultiplex ports; the fake
 * (tests/fakes/fake_evtchn.c) uses eventfds.
 */
#ifndef PVX_XENEVT_H
#define PVX_XENEVT_H

#include <stdint.h>

struct pvx_evt_uring {
	int fd;
	unsigned int read_len;
	unsigned int unmask_len;
	uint8_t unmask[8];
};

struct pvx_evt_ops {
	/*
	 * Bind a local port to @remote_port of @domid.  Returns 0 and an
	 * opaque channel in *@chan, or -errno.
	 */
	int (*bind)(void *ctx, uint16_t domid, uint32_t remote_port, void **chan);
	/* Unbind and free the channel. */
	void (*unbind)(void *ctx, void *chan);
	/* Readable when the remote end has signalled. */
	int (*fd)(void *ctx, void *chan);
	/* Signal the remote end.  0 or -errno. */
	int (*notify)(void *ctx, void *chan);
	/*
	 * Consume the pending event behind a readable fd: 1 if one was
	 * pending, 0 if none (spurious wake-up), -errno on failure.  The
	 * channel stays masked until unmask().
	 */
	int (*pending)(void *ctx, void *chan);
	/* Re-arm delivery after pending().  0 or -errno. */
	int (*unmask)(void *ctx, void *chan);
	/*
	 * To read the channel through an io_uring instead of pending() and
	 * unmask() (NULL: not offered): its fd, the length of the read that
	 * takes one pending event, and the bytes that unmask() writes to the
	 * fd (unmask_len 0: unmask() writes nothing).  0 or -errno.
	 */
	int (*uring)(void *ctx, void *chan, struct pvx_evt_uring *u);
};

/* libxenevtchn; ctx is unused (NULL). */
extern const struct pvx_evt_ops pvx_evt_real_ops;

#endif
