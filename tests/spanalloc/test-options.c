/* SPDX-License-Identifier: MIT */
/* The options table (sa-options.c): every SPANALLOC_* variable parsed by its
 * rule, and the settings the allocator reads set from it. Each case changes
 * the environment and parses again (sa_options_init); nothing is allocated
 * from spanalloc in this process, so the settings may change freely. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "sa-internal.h"

static void parse_with(const char *madv, const char *scavenge, const char *background,
		       const char *tcache, const char *debug)
{
	const char *names[] = { "SPANALLOC_MADV", "SPANALLOC_SCAVENGE_MS", "SPANALLOC_BACKGROUND",
				"SPANALLOC_TCACHE_BYTES", "SPANALLOC_DEBUG" };
	const char *values[] = { madv, scavenge, background, tcache, debug };
	for (int i = 0; i < 5; i++) {
		if (values[i])
			assert_int_equal(setenv(names[i], values[i], 1), 0);
		else
			assert_int_equal(unsetenv(names[i]), 0);
	}
	sa_options_init();
}

static void test_table_names_every_variable(void **state)
{
	(void)state;
	/* one row per option, each with its variable and a default */
	const char *expect[SA_OPT_COUNT] = {
		[SA_OPT_MADV] = "SPANALLOC_MADV", [SA_OPT_SCAVENGE_MS] = "SPANALLOC_SCAVENGE_MS",
		[SA_OPT_BACKGROUND] = "SPANALLOC_BACKGROUND",
		[SA_OPT_TCACHE_BYTES] = "SPANALLOC_TCACHE_BYTES", [SA_OPT_DEBUG] = "SPANALLOC_DEBUG",
	};
	for (int i = 0; i < SA_OPT_COUNT; i++) {
		assert_non_null(sa_options[i].name);
		assert_string_equal(sa_options[i].env, expect[i]);
	}
}

static void test_unset_gives_defaults(void **state)
{
	(void)state;
	parse_with(NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(sa_release_mode_cur, SA_RELEASE_FREE);
	assert_int_equal(sa_scavenge_delay_ms, 1000);
	assert_int_equal(sa_bg_disabled, 0);
	assert_int_equal(sa_tcache_cap_bytes, SA_TCACHE_CAP_DEFAULT);
	assert_int_equal(sa_debug, 0);
	for (int i = 0; i < SA_OPT_COUNT; i++)
		assert_int_equal(sa_option(i), sa_options[i].def);
}

static void test_words_match_exactly(void **state)
{
	(void)state;
	parse_with("dontneed", NULL, "0", NULL, "1");
	assert_int_equal(sa_release_mode_cur, SA_RELEASE_DONTNEED);
	assert_int_equal(sa_bg_disabled, 1);
	assert_int_equal(sa_debug, 1);
	assert_int_equal(sa_tcache_cap_bytes, 0); /* debug: every free reaches the span lists */
	/* anything but the one word keeps the default */
	parse_with("DONTNEED", NULL, "no", NULL, "yes");
	assert_int_equal(sa_release_mode_cur, SA_RELEASE_FREE);
	assert_int_equal(sa_bg_disabled, 0);
	assert_int_equal(sa_debug, 0);
	parse_with("dontneed ", NULL, "00", NULL, "10");
	assert_int_equal(sa_release_mode_cur, SA_RELEASE_FREE);
	assert_int_equal(sa_bg_disabled, 0);
	assert_int_equal(sa_debug, 0);
}

static void test_numbers_take_leading_digits(void **state)
{
	(void)state;
	parse_with(NULL, "250ms", NULL, "4096 bytes", NULL);
	assert_int_equal(sa_scavenge_delay_ms, 250);
	assert_int_equal(sa_tcache_cap_bytes, 4096);
	parse_with(NULL, "0", NULL, "0", NULL);
	assert_int_equal(sa_scavenge_delay_ms, 0);
	assert_int_equal(sa_tcache_cap_bytes, 0);
	/* no leading digit: the default */
	parse_with(NULL, "x5", NULL, "-1", NULL);
	assert_int_equal(sa_scavenge_delay_ms, 1000);
	assert_int_equal(sa_tcache_cap_bytes, SA_TCACHE_CAP_DEFAULT);
	/* the cache cap stops reading digits once it reaches 2^40
	 * (1099511627776): 13 nines are the first prefix at or above it */
	parse_with(NULL, NULL, NULL, "99999999999999999999", NULL);
	assert_int_equal(sa_tcache_cap_bytes, 9999999999999ULL);
	/* debug wins over an explicit cap */
	parse_with(NULL, NULL, NULL, "4096", "1");
	assert_int_equal(sa_tcache_cap_bytes, 0);
	parse_with(NULL, NULL, NULL, NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_names_every_variable),
		cmocka_unit_test(test_unset_gives_defaults),
		cmocka_unit_test(test_words_match_exactly),
		cmocka_unit_test(test_numbers_take_leading_digits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
