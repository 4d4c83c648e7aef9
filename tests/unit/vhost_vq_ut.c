/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost_vq_ut.c - guest memory translation (vhost-user/vu_mem.c) and the
 * split virtqueue (vhost-user/vq.c) on a fake driver's rings in shared
 * memory: valid chains, every hostile-descriptor rule (class 12), ring
 * index abuse (class 2), notification suppression, inflight recovery.
 */
#include <CUnit/Basic.h>
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "cu_run.h"
#include "fake_vq.h"
#include "vq.h"

#define NUM 16

struct env {
	struct fv_mem m;
	struct vu_mem *vm;
	struct fv_vq fq;
	struct vu_vq *vq;
	struct iovec iov[NUM];
	struct vu_elem e;
};

static void env_init(struct env *t, bool indirect, bool event_idx)
{
	CU_ASSERT_FATAL(fv_mem_init(&t->m) == 0);
	CU_ASSERT_FATAL(fv_mem_wrap(&t->m, &t->vm) == 0);
	fv_vq_init(&t->fq, &t->m, NUM, 0);
	t->vq = calloc(1, sizeof(*t->vq));
	CU_ASSERT_FATAL(t->vq != NULL);
	t->vq->num = NUM;
	t->vq->desc_uva = fv_uva(t->fq.desc_gpa);
	t->vq->avail_uva = fv_uva(t->fq.avail_gpa);
	t->vq->used_uva = fv_uva(t->fq.used_gpa);
	t->vq->addr_set = true;
	t->vq->indirect = indirect;
	t->vq->event_idx = event_idx;
	CU_ASSERT_FATAL(vu_vq_start(t->vq, t->vm) == 0);
}

static void env_fini(struct env *t)
{
	free(t->vq);
	vu_mem_put(t->vm);
	fv_mem_fini(&t->m);
}

static int pop(struct env *t)
{
	return vu_vq_pop(t->vq, t->vm, &t->e, t->iov, NUM);
}

/* ---- memory table ---- */

static void test_mem_translate(void)
{
	struct fv_mem m;
	struct vu_mem *vm;
	uint8_t *p;

	CU_ASSERT_FATAL(fv_mem_init(&m) == 0);
	CU_ASSERT_FATAL(fv_mem_wrap(&m, &vm) == 0);
	p = vu_mem_gpa(vm, 0x1000, 16);
	CU_ASSERT_PTR_EQUAL(p, m.base + 0x1000);
	/* The last byte of region 0, and the whole of region 1. */
	CU_ASSERT_PTR_NOT_NULL(vu_mem_gpa(vm, FV_REGION_SIZE - 1, 1));
	CU_ASSERT_PTR_EQUAL(vu_mem_gpa(vm, FV_REGION1_GPA, FV_REGION_SIZE),
	                    m.base + FV_REGION_SIZE);
	/* One byte over the end, in the hole, straddling into the hole. */
	CU_ASSERT_PTR_NULL(vu_mem_gpa(vm, FV_REGION_SIZE - 1, 2));
	CU_ASSERT_PTR_NULL(vu_mem_gpa(vm, FV_REGION_SIZE + 4096, 1));
	CU_ASSERT_PTR_NULL(vu_mem_gpa(vm, FV_REGION1_GPA - 1, 2));
	/* Wrapping ranges. */
	CU_ASSERT_PTR_NULL(vu_mem_gpa(vm, UINT64_MAX - 10, 100));
	CU_ASSERT_PTR_NULL(vu_mem_gpa(vm, 0x1000, UINT64_MAX));
	CU_ASSERT_PTR_NULL(vu_mem_uva(vm, 0x1000, 1)); /* a gpa is not a uva */
	CU_ASSERT_PTR_EQUAL(vu_mem_uva(vm, FV_UVA_BIAS + 0x2000, 8), m.base + 0x2000);
	CU_ASSERT_PTR_NULL(vu_mem_uva(vm, FV_UVA_BIAS + FV_REGION_SIZE - 4, 8));
	vu_mem_put(vm);
	fv_mem_fini(&m);
}

static void test_mem_reject(void)
{
	struct vu_mem_region_desc d[VU_MEM_MAX_REGIONS + 1];
	void *host[VU_MEM_MAX_REGIONS + 1];
	struct vu_mem *vm;
	char err[128];

	memset(d, 0, sizeof(d));
	for (unsigned int i = 0; i <= VU_MEM_MAX_REGIONS; i++) {
		d[i] = (struct vu_mem_region_desc){i * 0x10000ull, 0x1000,
		                                   0x100000 + i * 0x10000ull, 0};
		host[i] = NULL;
	}
	CU_ASSERT_EQUAL(vu_mem_wrap(d, host, 0, &vm, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(vu_mem_wrap(d, host, VU_MEM_MAX_REGIONS + 1, &vm, err, sizeof(err)),
	                -EINVAL);
	CU_ASSERT_EQUAL(vu_mem_wrap(d, host, VU_MEM_MAX_REGIONS, &vm, err, sizeof(err)), 0);
	vu_mem_put(vm);
	/* Overlap in guest space, in user space; zero size; wrap. */
	d[1].gpa = d[0].gpa + 0x800;
	CU_ASSERT_EQUAL(vu_mem_wrap(d, host, 2, &vm, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "overlap"));
	d[1].gpa = 0x10000;
	d[1].uva = d[0].uva;
	CU_ASSERT_EQUAL(vu_mem_wrap(d, host, 2, &vm, err, sizeof(err)), -EINVAL);
	d[1].uva = 0x110000;
	d[1].size = 0;
	CU_ASSERT_EQUAL(vu_mem_wrap(d, host, 2, &vm, err, sizeof(err)), -EINVAL);
	d[1].size = 0x1000;
	d[1].gpa = UINT64_MAX - 0x10;
	CU_ASSERT_EQUAL(vu_mem_wrap(d, host, 2, &vm, err, sizeof(err)), -EINVAL);
	d[1].gpa = 0x10000;
	d[1].mmap_offset = UINT64_MAX - 0x10;
	CU_ASSERT_EQUAL(vu_mem_wrap(d, host, 2, &vm, err, sizeof(err)), -EINVAL);
}

/* ---- valid chains ---- */

static void test_direct_chain(void)
{
	struct env t;
	uint64_t a, b, c;
	struct fv_buf bufs[3];
	uint32_t id, len;
	int head;

	env_init(&t, false, false);
	a = fv_alloc(&t.m, 0, 51, 8);
	b = fv_alloc(&t.m, 1, 4096, 4096); /* region 1: above the hole */
	c = fv_alloc(&t.m, 0, 108, 8);
	bufs[0] = (struct fv_buf){a, 51, false};
	bufs[1] = (struct fv_buf){b, 4096, false};
	bufs[2] = (struct fv_buf){c, 108, true};
	head = fv_vq_add(&t.fq, bufs, 3, false);
	CU_ASSERT_FATAL(head >= 0);
	CU_ASSERT_EQUAL(pop(&t), VU_POP_OK);
	CU_ASSERT_EQUAL(t.e.head, head);
	CU_ASSERT_EQUAL(t.e.out_num, 2);
	CU_ASSERT_EQUAL(t.e.in_num, 1);
	CU_ASSERT_EQUAL(t.e.out_len, 51 + 4096);
	CU_ASSERT_EQUAL(t.e.in_len, 108);
	CU_ASSERT_PTR_EQUAL(t.iov[0].iov_base, fv_ptr(&t.m, a));
	CU_ASSERT_PTR_EQUAL(t.iov[1].iov_base, fv_ptr(&t.m, b));
	CU_ASSERT_PTR_EQUAL(t.iov[2].iov_base, fv_ptr(&t.m, c));
	CU_ASSERT_EQUAL(pop(&t), VU_POP_EMPTY);
	CU_ASSERT_FALSE(fv_vq_get_used(&t.fq, &id, &len));
	vu_vq_push(t.vq, t.e.head, 108);
	CU_ASSERT_TRUE(fv_vq_get_used(&t.fq, &id, &len));
	CU_ASSERT_EQUAL(id, (uint32_t)head);
	CU_ASSERT_EQUAL(len, 108);
	CU_ASSERT_TRUE(vu_vq_need_call(t.vq));  /* no NO_INTERRUPT, no EVENT_IDX */
	CU_ASSERT_FALSE(vu_vq_need_call(t.vq)); /* nothing new since */
	/* A push of a head that is not in flight is ignored. */
	vu_vq_push(t.vq, (uint16_t)head, 1);
	CU_ASSERT_FALSE(fv_vq_get_used(&t.fq, &id, &len));
	env_fini(&t);
}

static void test_indirect_chain(void)
{
	struct env t;
	struct fv_buf bufs[4];
	uint64_t a;

	env_init(&t, true, false);
	a = fv_alloc(&t.m, 0, 4 * 512, 512);
	for (unsigned int i = 0; i < 4; i++)
		bufs[i] = (struct fv_buf){a + i * 512, 512, i >= 2};
	CU_ASSERT_FATAL(fv_vq_add(&t.fq, bufs, 4, true) >= 0);
	CU_ASSERT_EQUAL(pop(&t), VU_POP_OK);
	CU_ASSERT_EQUAL(t.e.out_num, 2);
	CU_ASSERT_EQUAL(t.e.in_num, 2);
	CU_ASSERT_EQUAL(t.e.in_len, 1024);
	CU_ASSERT_PTR_EQUAL(t.iov[3].iov_base, fv_ptr(&t.m, a + 3 * 512));
	/* Zero-length descriptors are skipped, not turned into iovecs. */
	bufs[1].len = 0;
	CU_ASSERT_FATAL(fv_vq_add(&t.fq, bufs, 4, false) >= 0);
	CU_ASSERT_EQUAL(pop(&t), VU_POP_OK);
	CU_ASSERT_EQUAL(t.e.out_num, 1);
	env_fini(&t);
}

/* ---- hostile chains: each fails alone, the queue goes on ---- */

/* Pop one chain expecting VU_POP_BAD with @why, return it, then check a good chain still works. */
static void expect_bad(struct env *t, const char *why)
{
	struct fv_buf ok[2];
	uint64_t a = fv_alloc(&t->m, 0, 64, 8);
	uint32_t id, len;

	CU_ASSERT_EQUAL(pop(t), VU_POP_BAD);
	CU_ASSERT_PTR_NOT_NULL(t->vq->err);
	if (t->vq->err && !strstr(t->vq->err, why)) {
		fprintf(stderr, "expected '%s', got '%s'\n", why, t->vq->err);
		CU_FAIL("wrong reason");
	}
	vu_vq_push(t->vq, t->e.head, 0);
	CU_ASSERT_TRUE(fv_vq_get_used(&t->fq, &id, &len));
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_FALSE(t->vq->broken);
	ok[0] = (struct fv_buf){a, 32, false};
	ok[1] = (struct fv_buf){a + 32, 32, true};
	CU_ASSERT_FATAL(fv_vq_add(&t->fq, ok, 2, false) >= 0);
	CU_ASSERT_EQUAL(pop(t), VU_POP_OK);
	vu_vq_push(t->vq, t->e.head, 0);
	CU_ASSERT_TRUE(fv_vq_get_used(&t->fq, &id, &len));
}

static void test_bad_address(void)
{
	struct env t;
	struct fv_buf b[2];

	env_init(&t, true, false);
	/* Starts in region 0, ends in the hole. */
	b[0] = (struct fv_buf){FV_REGION_SIZE - 16, 32, false};
	b[1] = (struct fv_buf){fv_alloc(&t.m, 0, 16, 8), 16, true};
	CU_ASSERT_FATAL(fv_vq_add(&t.fq, b, 2, false) >= 0);
	expect_bad(&t, "not inside guest memory");
	/* Wholly in the hole. */
	b[0].gpa = FV_REGION_SIZE + 0x1000;
	b[0].len = 16;
	CU_ASSERT_FATAL(fv_vq_add(&t.fq, b, 2, false) >= 0);
	expect_bad(&t, "not inside guest memory");
	/* Wrapping: addr near 2^64. */
	b[0].gpa = UINT64_MAX - 8;
	CU_ASSERT_FATAL(fv_vq_add(&t.fq, b, 2, false) >= 0);
	expect_bad(&t, "not inside guest memory");
	/* The same inside an indirect table. */
	b[0].gpa = FV_REGION1_GPA - 8;
	CU_ASSERT_FATAL(fv_vq_add(&t.fq, b, 2, true) >= 0);
	expect_bad(&t, "not inside guest memory");
	env_fini(&t);
}

static void test_loop_and_length(void)
{
	struct env t;
	uint64_t a;
	struct vring_desc *table;
	uint64_t tg;

	env_init(&t, true, false);
	a = fv_alloc(&t.m, 0, 64, 8);
	/* 5 -> 6 -> 5: a loop in the ring's own table. */
	fv_vq_set_desc(&t.fq, NULL, 5, a, 8, VRING_DESC_F_NEXT, 6);
	fv_vq_set_desc(&t.fq, NULL, 6, a, 8, VRING_DESC_F_NEXT, 5);
	fv_vq_publish(&t.fq, 5);
	expect_bad(&t, "loop");
	/* A loop inside an indirect table. */
	tg = fv_alloc(&t.m, 0, 4 * 16, 16);
	table = fv_ptr(&t.m, tg);
	fv_vq_set_desc(&t.fq, table, 0, a, 8, VRING_DESC_F_NEXT, 1);
	fv_vq_set_desc(&t.fq, table, 1, a, 8, VRING_DESC_F_NEXT, 0);
	fv_vq_set_desc(&t.fq, NULL, 9, tg, 4 * 16, VRING_DESC_F_INDIRECT, 0);
	fv_vq_publish(&t.fq, 9);
	expect_bad(&t, "loop");
	/* next out of range: the ring's table, then the indirect table's. */
	fv_vq_set_desc(&t.fq, NULL, 7, a, 8, VRING_DESC_F_NEXT, NUM);
	fv_vq_publish(&t.fq, 7);
	expect_bad(&t, "out of range");
	fv_vq_set_desc(&t.fq, table, 1, a, 8, VRING_DESC_F_NEXT, 4);
	fv_vq_publish(&t.fq, 9);
	expect_bad(&t, "out of range");
	env_fini(&t);
}

static void test_indirect_rules(void)
{
	struct env t, u;
	uint64_t a, tg, tg2;
	struct vring_desc *table;

	env_init(&t, true, false);
	a = fv_alloc(&t.m, 0, 64, 8);
	tg = fv_alloc(&t.m, 0, 4 * 16, 16);
	tg2 = fv_alloc(&t.m, 0, 2 * 16, 16);
	table = fv_ptr(&t.m, tg);
	/* Indirect inside indirect. */
	fv_vq_set_desc(&t.fq, table, 0, tg2, 32, VRING_DESC_F_INDIRECT, 0);
	fv_vq_set_desc(&t.fq, NULL, 3, tg, 16, VRING_DESC_F_INDIRECT, 0);
	fv_vq_publish(&t.fq, 3);
	expect_bad(&t, "inside an indirect table");
	/* Indirect with NEXT. */
	fv_vq_set_desc(&t.fq, table, 0, a, 8, 0, 0);
	fv_vq_set_desc(&t.fq, NULL, 3, tg, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 4);
	fv_vq_publish(&t.fq, 3);
	expect_bad(&t, "with NEXT");
	/* Table sizes: 0, not a multiple of 16, over the queue size, outside memory. */
	fv_vq_set_desc(&t.fq, NULL, 3, tg, 0, VRING_DESC_F_INDIRECT, 0);
	fv_vq_publish(&t.fq, 3);
	expect_bad(&t, "indirect table size");
	fv_vq_set_desc(&t.fq, NULL, 3, tg, 24, VRING_DESC_F_INDIRECT, 0);
	fv_vq_publish(&t.fq, 3);
	expect_bad(&t, "indirect table size");
	fv_vq_set_desc(&t.fq, NULL, 3, tg, 16 * (NUM + 1), VRING_DESC_F_INDIRECT, 0);
	fv_vq_publish(&t.fq, 3);
	expect_bad(&t, "indirect table size");
	fv_vq_set_desc(&t.fq, NULL, 3, FV_REGION_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
	fv_vq_publish(&t.fq, 3);
	expect_bad(&t, "indirect table not inside");
	env_fini(&t);

	/* Not negotiated. */
	env_init(&u, false, false);
	tg = fv_alloc(&u.m, 0, 16, 16);
	fv_vq_set_desc(&u.fq, fv_ptr(&u.m, tg), 0, tg, 8, 0, 0);
	fv_vq_set_desc(&u.fq, NULL, 3, tg, 16, VRING_DESC_F_INDIRECT, 0);
	fv_vq_publish(&u.fq, 3);
	expect_bad(&u, "not negotiated");
	env_fini(&u);
}

static void test_write_then_read(void)
{
	struct env t;
	struct fv_buf b[3];
	uint64_t a;

	env_init(&t, true, false);
	a = fv_alloc(&t.m, 0, 96, 8);
	b[0] = (struct fv_buf){a, 32, false};
	b[1] = (struct fv_buf){a + 32, 32, true};
	b[2] = (struct fv_buf){a + 64, 32, false};
	CU_ASSERT_FATAL(fv_vq_add(&t.fq, b, 3, false) >= 0);
	expect_bad(&t, "readable descriptor after a writable");
	CU_ASSERT_FATAL(fv_vq_add(&t.fq, b, 3, true) >= 0);
	expect_bad(&t, "readable descriptor after a writable");
	env_fini(&t);
}

/* ---- ring abuse: the queue breaks, nothing more is consumed ---- */

static void test_avail_idx_jump(void)
{
	struct env t;

	env_init(&t, false, false);
	t.fq.avail->idx = htole16(NUM + 1);
	CU_ASSERT_EQUAL(pop(&t), VU_POP_BROKEN);
	CU_ASSERT_TRUE(t.vq->broken);
	CU_ASSERT_PTR_NOT_NULL(strstr(t.vq->err, "avail index"));
	t.fq.avail->idx = htole16(1);
	CU_ASSERT_EQUAL(pop(&t), VU_POP_BROKEN); /* stays broken */
	CU_ASSERT_FALSE(vu_vq_arm(t.vq));
	env_fini(&t);
}

static void test_head_rules(void)
{
	struct env t;
	struct fv_buf b = {0, 16, true};

	env_init(&t, false, false);
	fv_vq_publish(&t.fq, NUM); /* out of range */
	CU_ASSERT_EQUAL(pop(&t), VU_POP_BROKEN);
	CU_ASSERT_PTR_NOT_NULL(strstr(t.vq->err, "out of range"));
	env_fini(&t);

	env_init(&t, false, false);
	b.gpa = fv_alloc(&t.m, 0, 16, 8);
	CU_ASSERT_FATAL(fv_vq_add(&t.fq, &b, 1, false) == 0);
	CU_ASSERT_EQUAL(pop(&t), VU_POP_OK);
	fv_vq_publish(&t.fq, 0); /* the same head while in flight */
	CU_ASSERT_EQUAL(pop(&t), VU_POP_BROKEN);
	CU_ASSERT_PTR_NOT_NULL(strstr(t.vq->err, "already in flight"));
	env_fini(&t);
}

static void test_ring_placement(void)
{
	struct fv_mem m;
	struct vu_mem *vm;
	struct vu_vq *vq = calloc(1, sizeof(*vq));

	CU_ASSERT_FATAL(fv_mem_init(&m) == 0);
	CU_ASSERT_FATAL(fv_mem_wrap(&m, &vm) == 0);
	vq->num = NUM;
	vq->addr_set = true;
	vq->desc_uva = fv_uva(0x1000);
	vq->avail_uva = fv_uva(0x2000);
	vq->used_uva = fv_uva(FV_REGION_SIZE - 8); /* runs into the hole */
	CU_ASSERT_EQUAL(vu_vq_start(vq, vm), -EINVAL);
	vq->used_uva = fv_uva(0x3001); /* misaligned */
	CU_ASSERT_EQUAL(vu_vq_start(vq, vm), -EINVAL);
	vq->used_uva = fv_uva(0x3000);
	vq->num = 12; /* not a power of 2 */
	CU_ASSERT_EQUAL(vu_vq_start(vq, vm), -EINVAL);
	vq->num = NUM;
	CU_ASSERT_EQUAL(vu_vq_start(vq, vm), 0);
	vu_mem_put(vm);

	/*
	 * Aligned front-end addresses in a region whose front-end address is
	 * odd against our mapping of it (an mmap_offset and a uva that do not
	 * agree): the rings would be misaligned where we touch them, which
	 * arm64 punishes (vumsg_fuzz).  Alignment is what our pointers have.
	 */
	{
		struct vu_mem_region_desc d = {0, FV_REGION_SIZE, FV_UVA_BIAS + 1, 0};
		void *host = m.base;
		char err[128];

		CU_ASSERT_FATAL(vu_mem_wrap(&d, &host, 1, &vm, err, sizeof(err)) == 0);
		vq->started = false;
		vq->desc_uva = FV_UVA_BIAS + 0x1000;
		vq->avail_uva = FV_UVA_BIAS + 0x2000;
		vq->used_uva = FV_UVA_BIAS + 0x3000;
		CU_ASSERT_EQUAL(vu_vq_start(vq, vm), -EINVAL);
		CU_ASSERT_STRING_EQUAL(vq->err, "ring misaligned");
		vu_mem_put(vm);
	}
	free(vq);
	fv_mem_fini(&m);
}

/* ---- notifications ---- */

static void test_event_idx(void)
{
	struct env t;
	struct fv_buf b;
	uint16_t *used_event, *avail_event;

	env_init(&t, false, true);
	used_event = &t.fq.avail->ring[NUM];
	avail_event = (uint16_t *)&t.fq.used->ring[NUM];
	b = (struct fv_buf){fv_alloc(&t.m, 0, 16, 8), 16, true};
	for (int i = 0; i < 3; i++)
		CU_ASSERT_FATAL(fv_vq_add(&t.fq, &b, 1, false) >= 0);
	CU_ASSERT_EQUAL(pop(&t), VU_POP_OK);
	CU_ASSERT_EQUAL(le16toh(*avail_event), 1); /* consumed one */
	vu_vq_push(t.vq, t.e.head, 0);
	*used_event = htole16(0); /* the driver wants to hear about used index 1 */
	CU_ASSERT_TRUE(vu_vq_need_call(t.vq));
	CU_ASSERT_EQUAL(pop(&t), VU_POP_OK);
	vu_vq_push(t.vq, t.e.head, 0);
	/* used_event still 0: index 2 does not cross it again. */
	CU_ASSERT_FALSE(vu_vq_need_call(t.vq));
	CU_ASSERT_EQUAL(pop(&t), VU_POP_OK);
	vu_vq_push(t.vq, t.e.head, 0);
	*used_event = htole16(2); /* crossing 2 -> 3 */
	CU_ASSERT_TRUE(vu_vq_need_call(t.vq));
	CU_ASSERT_FALSE(vu_vq_arm(t.vq));
	CU_ASSERT_EQUAL(le16toh(*avail_event), 3);
	CU_ASSERT_FATAL(fv_vq_add(&t.fq, &b, 1, false) >= 0);
	CU_ASSERT_TRUE(vu_vq_arm(t.vq)); /* arrived meanwhile */
	env_fini(&t);
}

static void test_no_interrupt(void)
{
	struct env t;
	struct fv_buf b;

	env_init(&t, false, false);
	b = (struct fv_buf){fv_alloc(&t.m, 0, 16, 8), 16, true};
	t.fq.avail->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	CU_ASSERT_FATAL(fv_vq_add(&t.fq, &b, 1, false) >= 0);
	CU_ASSERT_EQUAL(pop(&t), VU_POP_OK);
	vu_vq_push(t.vq, t.e.head, 0);
	CU_ASSERT_FALSE(vu_vq_need_call(t.vq));
	/* The flag cleared since, and the driver missed the answer (test_recheck). */
	t.fq.avail->flags = 0;
	CU_ASSERT_TRUE(vu_vq_recheck(t.vq));
	CU_ASSERT_FALSE(vu_vq_recheck(t.vq));
	env_fini(&t);
}

/*
 * The store-buffer race of a driver whose barrier is a no-op (a one-vCPU
 * TCG guest of QEMU before 8.1): it re-armed after our need_call() read
 * its old event, and its re-read of the used index missed our push.
 * vu_vq_recheck() asks once more: a call when the index is past the
 * event, none when the driver took everything or delays its interrupt.
 */
static void test_recheck(void)
{
	struct env t;
	struct fv_buf b;
	uint16_t *used_event;

	env_init(&t, false, true);
	used_event = &t.fq.avail->ring[NUM];
	b = (struct fv_buf){fv_alloc(&t.m, 0, 16, 8), 16, true};
	for (int i = 0; i < 4; i++)
		CU_ASSERT_FATAL(fv_vq_add(&t.fq, &b, 1, false) >= 0);
	CU_ASSERT_FALSE(vu_vq_recheck(t.vq)); /* nothing pushed */

	/* Answered while the driver's event said "not yet" (Linux writes 0 while it works). */
	*used_event = htole16(0);
	CU_ASSERT_EQUAL(pop(&t), VU_POP_OK);
	vu_vq_push(t.vq, t.e.head, 0);
	CU_ASSERT_TRUE(vu_vq_need_call(t.vq)); /* 0 -> 1 crosses event 0 */
	CU_ASSERT_FALSE(vu_vq_recheck(t.vq));  /* called: nothing to ask */
	CU_ASSERT_EQUAL(pop(&t), VU_POP_OK);
	vu_vq_push(t.vq, t.e.head, 0);
	CU_ASSERT_FALSE(vu_vq_need_call(t.vq)); /* 1 -> 2 does not cross 0 again */
	/* The driver took index 0 and re-armed at 1; it never saw index 1. */
	*used_event = htole16(1);
	CU_ASSERT_TRUE(vu_vq_recheck(t.vq));
	CU_ASSERT_FALSE(vu_vq_recheck(t.vq)); /* once */

	/* The driver took everything (event at the index): no call. */
	CU_ASSERT_EQUAL(pop(&t), VU_POP_OK);
	vu_vq_push(t.vq, t.e.head, 0);
	*used_event = htole16(5);
	CU_ASSERT_FALSE(vu_vq_need_call(t.vq));
	*used_event = htole16(3);
	CU_ASSERT_FALSE(vu_vq_recheck(t.vq));
	/* A delayed interrupt (event ahead of the index): none yet either. */
	CU_ASSERT_EQUAL(pop(&t), VU_POP_OK);
	vu_vq_push(t.vq, t.e.head, 0);
	*used_event = htole16(7);
	CU_ASSERT_FALSE(vu_vq_need_call(t.vq));
	CU_ASSERT_FALSE(vu_vq_recheck(t.vq));
	env_fini(&t);
}

/* ---- inflight tracking across a back-end restart ---- */

static void test_inflight_resubmit(void)
{
	struct env t;
	struct fv_buf b[5];
	size_t qsz = vu_inflight_queue_size(NUM);
	struct vu_inflight_queue *inf = calloc(1, qsz);
	struct vu_vq *vq2 = calloc(1, sizeof(*vq2));
	int heads[5];
	uint16_t popped[5];
	uint32_t id, len;

	CU_ASSERT_EQUAL(qsz % 64, 0);
	CU_ASSERT_TRUE(qsz >= 16 + 16 * NUM);
	env_init(&t, false, false);
	t.vq->inflight = inf;
	CU_ASSERT_FATAL(vu_vq_start(t.vq, t.vm) == 0);
	CU_ASSERT_EQUAL(inf->version, 1);
	CU_ASSERT_EQUAL(inf->desc_num, NUM);
	for (int i = 0; i < 5; i++) {
		b[i] = (struct fv_buf){fv_alloc(&t.m, 0, 16, 8), 16, true};
		heads[i] = fv_vq_add(&t.fq, &b[i], 1, false);
		CU_ASSERT_FATAL(heads[i] >= 0);
	}
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(pop(&t), VU_POP_OK);
		popped[i] = t.e.head;
		CU_ASSERT_EQUAL(inf->desc[t.e.head].inflight, 1);
	}
	/* Requests 1 and 3 complete; 0 and 2 are in flight when the back-end dies. */
	vu_vq_push(t.vq, popped[1], 16);
	vu_vq_push(t.vq, popped[3], 16);
	CU_ASSERT_EQUAL(inf->desc[popped[1]].inflight, 0);
	CU_ASSERT_EQUAL(inf->used_idx, 2);

	/* A new back-end, same rings and region; the front-end sends a stale base. */
	*vq2 = (struct vu_vq){0};
	vq2->num = NUM;
	vq2->desc_uva = t.vq->desc_uva;
	vq2->avail_uva = t.vq->avail_uva;
	vq2->used_uva = t.vq->used_uva;
	vq2->addr_set = true;
	vq2->base = 0;
	vq2->inflight = inf;
	CU_ASSERT_FATAL(vu_vq_start(vq2, t.vm) == 0);
	CU_ASSERT_EQUAL(vq2->nresubmit, 2);
	CU_ASSERT_EQUAL(vq2->last_avail, 4); /* used 2 + 2 in flight */
	CU_ASSERT_EQUAL(vu_vq_pop(vq2, t.vm, &t.e, t.iov, NUM), VU_POP_OK);
	CU_ASSERT_EQUAL(t.e.head, popped[0]); /* counter order */
	vu_vq_push(vq2, t.e.head, 16);
	CU_ASSERT_EQUAL(vu_vq_pop(vq2, t.vm, &t.e, t.iov, NUM), VU_POP_OK);
	CU_ASSERT_EQUAL(t.e.head, popped[2]);
	vu_vq_push(vq2, t.e.head, 16);
	/* Then the avail ring where the old one stopped: the fifth request, never popped. */
	CU_ASSERT_EQUAL(vu_vq_pop(vq2, t.vm, &t.e, t.iov, NUM), VU_POP_OK);
	CU_ASSERT_EQUAL(t.e.head, heads[4]);
	vu_vq_push(vq2, t.e.head, 16);
	CU_ASSERT_EQUAL(vu_vq_pop(vq2, t.vm, &t.e, t.iov, NUM), VU_POP_EMPTY);
	/* Each of the five came back exactly once. */
	for (int i = 0; i < 5; i++) {
		CU_ASSERT_TRUE(fv_vq_get_used(&t.fq, &id, &len));
		CU_ASSERT_EQUAL(len, 16);
	}
	CU_ASSERT_FALSE(fv_vq_get_used(&t.fq, &id, &len));
	free(vq2);
	free(inf);
	env_fini(&t);
}

/* A crash between publishing the used index and clearing the entry: the last batch is done. */
static void test_inflight_last_batch(void)
{
	struct env t;
	struct fv_buf b;
	size_t qsz = vu_inflight_queue_size(NUM);
	struct vu_inflight_queue *inf = calloc(1, qsz);
	struct vu_vq *vq2 = calloc(1, sizeof(*vq2));
	uint16_t h;

	env_init(&t, false, false);
	t.vq->inflight = inf;
	CU_ASSERT_FATAL(vu_vq_start(t.vq, t.vm) == 0);
	b = (struct fv_buf){fv_alloc(&t.m, 0, 16, 8), 16, true};
	CU_ASSERT_FATAL(fv_vq_add(&t.fq, &b, 1, false) >= 0);
	CU_ASSERT_EQUAL(pop(&t), VU_POP_OK);
	h = t.e.head;
	vu_vq_push(t.vq, h, 16);
	/* Undo the steps after the used index store, as a crash there would leave them. */
	inf->desc[h].inflight = 1;
	inf->used_idx = 0;
	vq2->num = NUM;
	vq2->desc_uva = t.vq->desc_uva;
	vq2->avail_uva = t.vq->avail_uva;
	vq2->used_uva = t.vq->used_uva;
	vq2->addr_set = true;
	vq2->inflight = inf;
	CU_ASSERT_FATAL(vu_vq_start(vq2, t.vm) == 0);
	CU_ASSERT_EQUAL(vq2->nresubmit, 0);
	CU_ASSERT_EQUAL(inf->desc[h].inflight, 0);
	CU_ASSERT_EQUAL(inf->used_idx, 1);
	CU_ASSERT_EQUAL(vq2->last_avail, 1);
	/* A region for another queue size is refused. */
	vq2->num = NUM / 2;
	CU_ASSERT_EQUAL(vu_vq_start(vq2, t.vm), -EINVAL);
	free(vq2);
	free(inf);
	env_fini(&t);
}

static const struct cu_test tests[] = {
    {"memory table translation", test_mem_translate},
    {"memory table validation", test_mem_reject},
    {"direct chain, push, call", test_direct_chain},
    {"indirect chain, zero-length descriptors", test_indirect_chain},
    {"descriptor outside guest memory", test_bad_address},
    {"loops and next out of range", test_loop_and_length},
    {"indirect rules", test_indirect_rules},
    {"readable after writable", test_write_then_read},
    {"avail index jump breaks the queue", test_avail_idx_jump},
    {"head out of range / in flight", test_head_rules},
    {"ring placement", test_ring_placement},
    {"EVENT_IDX", test_event_idx},
    {"NO_INTERRUPT", test_no_interrupt},
    {"a call after an idle spell to a driver that missed one", test_recheck},
    {"inflight resubmission after restart", test_inflight_resubmit},
    {"inflight last batch", test_inflight_last_batch},
};

int main(void)
{
	return CU_RUN("vhost_vq", tests);
}
