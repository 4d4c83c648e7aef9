/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fz.h - reading a libFuzzer input as a stream of small decisions, for
 * the targets in tests/fuzz.  Past the end every read returns zeroes, so
 * a short input is a valid input (the fuzzer grows what matters), and a
 * harness never has to check lengths itself.
 *
 * FZ_CHECK() is the harness's assertion: a broken invariant prints what
 * and where, then abort()s, which libFuzzer reports as a crash and saves
 * the input that caused it.
 */
#ifndef FZ_H
#define FZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline void fz_init(struct fz *f, const uint8_t *data, size_t size)
{
	f->p = data;
	f->n = size;
}

static inline bool fz_empty(const struct fz *f)
{
	return f->n == 0;
}

/* Copies up to @len bytes; the rest of @dst is zeroed.  Returns the bytes taken. */
static inline size_t fz_bytes(struct fz *f, void *dst, size_t len)
{
	size_t k = len < f->n ? len : f->n;

	memcpy(dst, f->p, k);
	memset((uint8_t *)dst + k, 0, len - k);
	f->p += k;
	f->n -= k;
	return k;
}

static inline uint8_t fz_u8(struct fz *f)
{
	uint8_t v;

	fz_bytes(f, &v, 1);
	return v;
}

static inline uint16_t fz_u16(struct fz *f)
{
	uint8_t b[2];

	fz_bytes(f, b, 2);
	return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t fz_u32(struct fz *f)
{
	uint8_t b[4];

	fz_bytes(f, b, 4);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t fz_u64(struct fz *f)
{
	uint64_t lo = fz_u32(f);

	return lo | (uint64_t)fz_u32(f) << 32;
}

static inline bool fz_bool(struct fz *f)
{
	return fz_u8(f) & 1;
}

/* A number in [lo, hi] (hi >= lo), from 1, 2 or 4 bytes as the range needs. */
static inline uint32_t fz_range(struct fz *f, uint32_t lo, uint32_t hi)
{
	uint32_t span = hi - lo, v;

	if (span == 0)
		return lo;
	if (span < 0x100)
		v = fz_u8(f);
	else if (span < 0x10000)
		v = fz_u16(f);
	else
		v = fz_u32(f);
	return span == UINT32_MAX ? v : lo + v % (span + 1);
}

/* A NUL-terminated string of at most @max - 1 bytes, up to the first NUL in the input. */
static inline size_t fz_str(struct fz *f, char *dst, size_t max)
{
	size_t k = 0;

	while (k + 1 < max && f->n) {
		char c = (char)*f->p++;

		f->n--;
		if (!c)
			break;
		dst[k++] = c;
	}
	dst[k] = '\0';
	return k;
}

/*
 * For the harness's own checking loops: their comparisons are not the
 * code under test, and tracing them would slow every input and hand the
 * fuzzer features that mean nothing.  Not inlined: inlined into a traced
 * caller, the loops were traced after all.
 */
#define FZ_NOCOV __attribute__((no_sanitize("coverage"), noinline))

#define FZ_CHECK(cond, ...)                                                                        \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, __LINE__,       \
			        #cond);                                                            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
