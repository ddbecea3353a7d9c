/* Unit tests for the per-partition in-flight window (offsets.c). */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "offsets.h"
#include "unit.h"

START_TEST(empty_window_has_nothing_to_commit)
{
	struct offsets_window *w = offsets_window_new();
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(offsets_window_commit_offset(w), -1);
	ck_assert(!offsets_window_dirty(w));
	ck_assert_uint_eq(offsets_window_inflight(w), 0);
	offsets_window_free(w);
}
END_TEST

START_TEST(in_order_completion_advances)
{
	struct offsets_window *w = offsets_window_new();
	uint64_t s[3];
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(offsets_window_track(w, 10 + i, &s[i]), 0);
	ck_assert_int_eq(offsets_window_commit_offset(w), -1);
	ck_assert_int_eq(offsets_window_done(w, s[0]), 0);
	ck_assert_int_eq(offsets_window_commit_offset(w), 11);
	ck_assert_int_eq(offsets_window_done(w, s[1]), 0);
	ck_assert_int_eq(offsets_window_done(w, s[2]), 0);
	ck_assert_int_eq(offsets_window_commit_offset(w), 13);
	ck_assert_uint_eq(offsets_window_inflight(w), 0);
	offsets_window_free(w);
}
END_TEST

START_TEST(out_of_order_completion_holds_at_lowest_unfinished)
{
	struct offsets_window *w = offsets_window_new();
	uint64_t s[5];
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(offsets_window_track(w, i, &s[i]), 0);
	ck_assert_int_eq(offsets_window_done(w, s[0]), 0);
	ck_assert_int_eq(offsets_window_done(w, s[2]), 0);
	ck_assert_int_eq(offsets_window_done(w, s[4]), 0);
	/* 1 is still in flight: nothing past it may be committed. */
	ck_assert_int_eq(offsets_window_commit_offset(w), 1);
	ck_assert_uint_eq(offsets_window_inflight(w), 4);
	ck_assert_int_eq(offsets_window_done(w, s[1]), 0);
	ck_assert_int_eq(offsets_window_commit_offset(w), 3);
	ck_assert_int_eq(offsets_window_done(w, s[3]), 0);
	ck_assert_int_eq(offsets_window_commit_offset(w), 5);
	offsets_window_free(w);
}
END_TEST

START_TEST(gaps_in_offsets_are_skipped)
{
	struct offsets_window *w = offsets_window_new();
	uint64_t a, b;
	ck_assert_int_eq(offsets_window_track(w, 100, &a), 0);
	ck_assert_int_eq(offsets_window_track(w, 250, &b), 0);
	ck_assert_int_eq(offsets_window_done(w, a), 0);
	ck_assert_int_eq(offsets_window_commit_offset(w), 250);
	ck_assert_int_eq(offsets_window_done(w, b), 0);
	ck_assert_int_eq(offsets_window_commit_offset(w), 251);
	offsets_window_free(w);
}
END_TEST

START_TEST(rejects_non_increasing_and_double_done)
{
	struct offsets_window *w = offsets_window_new();
	uint64_t a, b;
	ck_assert_int_eq(offsets_window_track(w, 5, &a), 0);
	ck_assert_int_eq(offsets_window_track(w, 5, &b), -EINVAL);
	ck_assert_int_eq(offsets_window_track(w, 4, &b), -EINVAL);
	ck_assert_int_eq(offsets_window_track(w, -1, &b), -EINVAL);
	ck_assert_int_eq(offsets_window_done(w, a), 0);
	ck_assert_int_eq(offsets_window_done(w, a), -EINVAL);
	ck_assert_int_eq(offsets_window_done(w, a + 7), -EINVAL);
	ck_assert_int_eq(offsets_window_commit_offset(w), 6);
	offsets_window_free(w);
}
END_TEST

START_TEST(dirty_tracks_commits)
{
	struct offsets_window *w = offsets_window_new();
	uint64_t a, b;
	offsets_window_track(w, 0, &a);
	offsets_window_track(w, 1, &b);
	offsets_window_done(w, a);
	ck_assert(offsets_window_dirty(w));
	offsets_window_committed(w, offsets_window_commit_offset(w));
	ck_assert(!offsets_window_dirty(w));
	offsets_window_done(w, b);
	ck_assert(offsets_window_dirty(w));
	offsets_window_free(w);
}
END_TEST

/* Many messages in flight at once force the ring to grow while its head has
 * wrapped; completion in reverse order must still hold the watermark. */
START_TEST(grows_across_wraparound)
{
	struct offsets_window *w = offsets_window_new();
	enum { N = 5000 };
	uint64_t *s = calloc(N, sizeof(*s));
	/* Move the head so the ring wraps before it grows. */
	for (int i = 0; i < 40; i++) {
		uint64_t t;
		ck_assert_int_eq(offsets_window_track(w, i, &t), 0);
		ck_assert_int_eq(offsets_window_done(w, t), 0);
	}
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(offsets_window_track(w, 40 + 2 * i, &s[i]), 0);
	ck_assert_uint_eq(offsets_window_inflight(w), N);
	for (int i = N - 1; i > 0; i--) {
		ck_assert_int_eq(offsets_window_done(w, s[i]), 0);
		ck_assert_int_eq(offsets_window_commit_offset(w), 40);
	}
	ck_assert_int_eq(offsets_window_done(w, s[0]), 0);
	ck_assert_int_eq(offsets_window_commit_offset(w), 40 + 2 * (N - 1) + 1);
	ck_assert_uint_eq(offsets_window_inflight(w), 0);
	free(s);
	offsets_window_free(w);
}
END_TEST

static Suite *offsets_suite(void)
{
	Suite *s = suite_create("offsets");
	TCase *tc = tcase_create("window");
	tcase_add_test(tc, empty_window_has_nothing_to_commit);
	tcase_add_test(tc, in_order_completion_advances);
	tcase_add_test(tc, out_of_order_completion_holds_at_lowest_unfinished);
	tcase_add_test(tc, gaps_in_offsets_are_skipped);
	tcase_add_test(tc, rejects_non_increasing_and_double_done);
	tcase_add_test(tc, dirty_tracks_commits);
	tcase_add_test(tc, grows_across_wraparound);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(offsets_suite());
}
