/* The consumer's prefetch ring: order, both bounds, the pause and resume marks, and that every
 * message it drops is destroyed exactly once. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "prefetch.h"
#include "unit.h"

static int destroyed;

/* The ring's messages here are plain structs: destroying one frees it and counts. */
static void test_destroy(rd_kafka_message_t *m)
{
	destroyed++;
	free(m);
}

static rd_kafka_message_t *msg(int64_t offset, size_t len)
{
	rd_kafka_message_t *m = calloc(1, sizeof(*m));
	ck_assert_ptr_nonnull(m);
	m->offset = offset;
	m->len = len;
	return m;
}

START_TEST(messages_come_out_in_order)
{
	struct prefetch *p;
	ck_assert_int_eq(prefetch_new(4, 1 << 20, test_destroy, &p), 0);
	/* Around the ring's end several times. */
	int64_t next = 0;
	for (int64_t o = 0; o < 10; o++) {
		ck_assert_int_eq(prefetch_push(p, msg(o, 10)), 0);
		if (o % 3 == 2) {
			rd_kafka_message_t *m;
			while ((m = prefetch_pop(p))) {
				ck_assert_int_eq(m->offset, next++);
				free(m);
			}
		}
	}
	ck_assert_uint_eq(prefetch_len(p), 1);
	destroyed = 0;
	prefetch_free(p);
	ck_assert_int_eq(destroyed, 1);
}
END_TEST

START_TEST(the_count_bound_refuses_and_marks_full)
{
	struct prefetch *p;
	ck_assert_int_eq(prefetch_new(4, 1 << 20, test_destroy, &p), 0);
	for (int i = 0; i < 4; i++) {
		ck_assert(!prefetch_full(p));
		ck_assert_int_eq(prefetch_push(p, msg(i, 1)), 0);
	}
	ck_assert(prefetch_full(p));
	ck_assert_uint_eq(prefetch_room(p), 0);
	rd_kafka_message_t *extra = msg(4, 1);
	ck_assert_int_eq(prefetch_push(p, extra), -ENOSPC);
	free(extra);
	/* Low again at half, not before. */
	free(prefetch_pop(p));
	ck_assert(!prefetch_full(p));
	ck_assert(!prefetch_low(p));
	free(prefetch_pop(p));
	ck_assert(prefetch_low(p));
	destroyed = 0;
	prefetch_purge(p);
	ck_assert_int_eq(destroyed, 2);
	ck_assert_uint_eq(prefetch_len(p), 0);
	ck_assert_uint_eq(prefetch_bytes(p), 0);
	prefetch_free(p);
	ck_assert_int_eq(destroyed, 2);
}
END_TEST

/* Bytes: a message over the bound is still taken (fetched is fetched), and the ring says it
 * is full; it is low again once at most half the bytes remain. */
START_TEST(the_byte_bound_marks_full_and_low)
{
	struct prefetch *p;
	rd_kafka_message_t probe = {.len = 0};
	size_t unit = prefetch_cost(&probe); /* the overhead of an empty message */
	ck_assert_int_eq(prefetch_new(100, 10 * unit, test_destroy, &p), 0);
	ck_assert_int_eq(prefetch_push(p, msg(0, 4 * unit)), 0); /* 5 units */
	ck_assert(!prefetch_full(p));
	ck_assert_int_eq(prefetch_push(p, msg(1, 8 * unit)), 0); /* 14 units: over */
	ck_assert(prefetch_full(p));
	ck_assert_uint_eq(prefetch_bytes(p), 14 * unit);
	free(prefetch_pop(p));
	ck_assert(!prefetch_full(p)); /* 9 units: under the bound... */
	ck_assert_uint_eq(prefetch_bytes(p), 9 * unit);
	ck_assert(!prefetch_low(p)); /* ...and over half */
	free(prefetch_pop(p));
	ck_assert(prefetch_low(p));
	ck_assert_ptr_null(prefetch_pop(p));
	prefetch_free(p);
}
END_TEST

START_TEST(a_ring_of_nothing_is_refused)
{
	struct prefetch *p = (struct prefetch *)1;
	ck_assert_int_eq(prefetch_new(0, 1, test_destroy, &p), -EINVAL);
	ck_assert_ptr_null(p);
	prefetch_free(NULL);
}
END_TEST

static Suite *prefetch_suite(void)
{
	Suite *s = suite_create("prefetch");
	TCase *tc = tcase_create("ring");
	tcase_add_test(tc, messages_come_out_in_order);
	tcase_add_test(tc, the_count_bound_refuses_and_marks_full);
	tcase_add_test(tc, the_byte_bound_marks_full_and_low);
	tcase_add_test(tc, a_ring_of_nothing_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(prefetch_suite());
}
