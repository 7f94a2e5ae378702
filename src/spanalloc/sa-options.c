/* SPDX-License-Identifier: MIT */
/*
 * The options table (sa-options.h) and its parser: every SPANALLOC_*
 * variable is read here, once, at start-up.
 */
#include "sa-options.h"
#include "spanalloc-stats.h"
#include <string.h>

/* value starts as the default: correct before sa_options_init too */
#define SA_OPT_DEFAULT(d) .def = (d), .value = (d)
struct sa_option sa_options[SA_OPT_COUNT] = {
	[SA_OPT_MADV] = { .name = "madv", SA_OPT_DEFAULT(SA_RELEASE_FREE), .env = "SPANALLOC_MADV",
			  .kind = SA_OPT_WORD, .word = "dontneed", .word_value = SA_RELEASE_DONTNEED },
	[SA_OPT_SCAVENGE_MS] = { .name = "scavenge_ms", SA_OPT_DEFAULT(SA_SCAVENGE_MS_DEFAULT), .env = "SPANALLOC_SCAVENGE_MS",
				 .kind = SA_OPT_NUMBER, .max = 0 },
	[SA_OPT_BACKGROUND] = { .name = "background", SA_OPT_DEFAULT(1), .env = "SPANALLOC_BACKGROUND",
				.kind = SA_OPT_WORD, .word = "0", .word_value = 0 },
	[SA_OPT_TCACHE_BYTES] = { .name = "tcache_bytes", SA_OPT_DEFAULT(SA_TCACHE_CAP_DEFAULT),
				  .env = "SPANALLOC_TCACHE_BYTES", .kind = SA_OPT_NUMBER,
				  .max = (uint64_t)1 << 40 },
	[SA_OPT_DEBUG] = { .name = "debug", SA_OPT_DEFAULT(0), .env = "SPANALLOC_DEBUG",
			   .kind = SA_OPT_WORD, .word = "1", .word_value = 1 },
};

int sa_debug;
int sa_release_mode_cur = SA_RELEASE_FREE;
uint64_t sa_scavenge_delay_ms = SA_SCAVENGE_MS_DEFAULT;
uint64_t sa_tcache_cap_bytes = SA_TCACHE_CAP_DEFAULT;
int sa_bg_disabled;

/* getenv() without depending on libc being initialised (environ may be NULL). */
extern char **environ;
static const char *sa_getenv(const char *name)
{
	size_t nl = strlen(name);
	if (!environ)
		return NULL;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, name, nl) == 0 && (*e)[nl] == '=')
			return *e + nl + 1;
	return NULL;
}

static uint64_t sa_option_parse(const struct sa_option *o, const char *s)
{
	if (!s)
		return o->def;
	if (o->kind == SA_OPT_WORD)
		return strcmp(s, o->word) == 0 ? o->word_value : o->def;
	if (!(*s >= '0' && *s <= '9'))
		return o->def;
	uint64_t v = 0;
	for (; *s >= '0' && *s <= '9' && (o->max == 0 || v < o->max); s++)
		v = v * 10 + (uint64_t)(*s - '0');
	return v;
}

void sa_options_init(void)
{
	for (unsigned i = 0; i < SA_OPT_COUNT; i++)
		sa_options[i].value = sa_option_parse(&sa_options[i], sa_getenv(sa_options[i].env));
	sa_release_mode_cur = (int)sa_option(SA_OPT_MADV);
	sa_scavenge_delay_ms = sa_option(SA_OPT_SCAVENGE_MS);
	sa_bg_disabled = sa_option(SA_OPT_BACKGROUND) == 0;
	sa_tcache_cap_bytes = sa_option(SA_OPT_TCACHE_BYTES);
	sa_debug = (int)sa_option(SA_OPT_DEBUG);
	if (sa_debug)
		sa_tcache_cap_bytes = 0; /* every free reaches the span lists */
}
