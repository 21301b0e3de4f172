/*
 * The engine's transition table (engine-states.c) walked as a graph:
 * every stage state reachable from pending and every run state from
 * received (invalid is where an invalid release's run starts), every
 * unfinished state has a way out and the final ones none; and
 * shipgated(8)'s STATES section says the same as the table, arrow for
 * arrow, safe point for safe point.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "store.h"
#include "tap.h"
#include "xmalloc.h"

#define NSTATES	32

/* The states reachable from start along moves(). */
static unsigned int
reachable(int start, int max, unsigned int (*moves)(int))
{
	unsigned int	seen = 1u << start, before;
	int		s;

	do {
		before = seen;
		for (s = 1; s <= max; s++)
			if (seen & (1u << s))
				seen |= moves(s);
	} while (seen != before);
	return (seen);
}

static unsigned int
stage_moves(int s)
{
	return (engine_stage_moves((enum store_stage_status)s));
}

static unsigned int
run_moves(int s)
{
	return (engine_run_moves((enum store_run_status)s));
}

static void
test_graph(void)
{
	unsigned int	seen;
	int		s;

	seen = reachable(STORE_STAGE_PENDING, STORE_STAGE_STATUS_MAX,
	    stage_moves);
	for (s = STORE_STAGE_PENDING; s <= STORE_STAGE_STATUS_MAX; s++) {
		ok((seen & (1u << s)) != 0, "stage %s is reachable from "
		    "pending", store_stage_status_name(s));
		if (!store_stage_status_finished(s))
			ok(stage_moves(s) != 0, "stage %s has a way out",
			    store_stage_status_name(s));
		else if (s == STORE_STAGE_FAILED)
			ok(stage_moves(s) == ((1u << STORE_STAGE_PENDING) |
			    (1u << STORE_STAGE_ROLLED_BACK)), "a failed "
			    "stage leaves only by a retry or a rollback");
		else
			ok(stage_moves(s) == 0, "stage %s is final",
			    store_stage_status_name(s));
		ok(stage_moves(s) >> (STORE_STAGE_STATUS_MAX + 1) == 0 &&
		    (stage_moves(s) & 1) == 0, "stage %s moves only to "
		    "states", store_stage_status_name(s));
		/* A safe point is a state a person's cancel may end. */
		ok(!engine_stage_safe_point(s) || (stage_moves(s) &
		    (1u << STORE_STAGE_CANCELLED)) != 0,
		    "stage %s: a safe point may be cancelled",
		    store_stage_status_name(s));
	}
	ok(engine_stage_moves(0) == 0 &&
	    engine_stage_moves(STORE_STAGE_STATUS_MAX + 1) == 0,
	    "no moves out of a state that does not exist");

	seen = reachable(STORE_RUN_RECEIVED, STORE_RUN_STATUS_MAX, run_moves);
	for (s = STORE_RUN_RECEIVED; s <= STORE_RUN_STATUS_MAX; s++) {
		if (s == STORE_RUN_INVALID)
			ok((seen & (1u << s)) == 0 && run_moves(s) == 0,
			    "an invalid run is created so and stays so");
		else
			ok((seen & (1u << s)) != 0, "run %s is reachable "
			    "from received", store_run_status_name(s));
		if (!store_run_status_finished(s))
			ok(run_moves(s) != 0, "run %s has a way out",
			    store_run_status_name(s));
		else if (s == STORE_RUN_FAILED)
			ok(run_moves(s) == 1u << STORE_RUN_RUNNING,
			    "a failed run leaves only by a retry");
		else
			ok(run_moves(s) == 0, "run %s is final",
			    store_run_status_name(s));
	}
}

/* The names in "a , b , c" or "\(-> a, b (why), c" as a mask. */
static unsigned int
names(const char *text, int stage, int *bad)
{
	char		 word[64];
	unsigned int	 mask = 0;
	size_t		 n;
	int		 depth = 0, v;

	while (*text != '\0') {
		if (*text == '(')
			depth++;
		else if (*text == ')')
			depth--;
		if (depth > 0 || !(islower((unsigned char)*text) ||
		    *text == '_')) {
			text++;
			continue;
		}
		for (n = 0; n < sizeof word - 1 && (islower((unsigned char)
		    text[n]) || text[n] == '_'); n++)
			word[n] = text[n];
		word[n] = '\0';
		text += n;
		if (strcmp(word, "final") == 0 || strcmp(word, "safe") == 0 ||
		    strcmp(word, "Li") == 0)
			continue;
		v = stage ? (int)store_stage_status_from_name(word) :
		    (int)store_run_status_from_name(word);
		if (v == 0) {
			tap_diag("not a state: %s", word);
			(*bad)++;
		} else
			mask |= 1u << v;
	}
	return (mask);
}

struct doc {
	unsigned int	 moves[NSTATES];
	unsigned int	 listed;	/* states with a line */
	unsigned int	 safe;
	int		 bad;
};

/* The .It lines of one .Ss of shipgated(8) up to its .El. */
static void
doc_read(FILE *f, const char *section, int stage, struct doc *d)
{
	char		 line[1024], *p;
	unsigned int	 cur = 0, m;
	int		 in = 0, s;

	memset(d, 0, sizeof *d);
	rewind(f);
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, ".Ss ", 4) == 0) {
			in = strcmp(line + 4, section) == 0;
			continue;
		}
		if (!in)
			continue;
		if (strcmp(line, ".El") == 0)
			break;
		if (strncmp(line, ".It Li ", 7) == 0) {
			if ((p = strstr(line, " Pq safe")) != NULL)
				*p = '\0';
			cur = names(line + 7, stage, &d->bad);
			if (cur & d->listed) {
				tap_diag("listed twice: %s", line);
				d->bad++;
			}
			d->listed |= cur;
			if (p != NULL)
				d->safe |= cur;
			continue;
		}
		if (cur == 0 || line[0] == '.')
			continue;
		p = strncmp(line, "\\(->", 4) == 0 ? line + 4 : line;
		m = names(p, stage, &d->bad);
		for (s = 0; s < NSTATES; s++)
			if (cur & (1u << s))
				d->moves[s] |= m;
	}
}

static void
test_man(void)
{
	struct doc	 d;
	const char	*srcdir;
	char		*path;
	FILE		*f;
	int		 s;

	if ((srcdir = getenv("top_srcdir")) == NULL)
		srcdir = ".";
	path = xasprintf("%s/man/shipgated.8", srcdir);
	f = fopen(path, "r");
	if (!ok(f != NULL, "shipgated(8) opens (%s)", path)) {
		free(path);
		return;
	}
	free(path);

	doc_read(f, "Stage states", 1, &d);
	ok(d.bad == 0, "the stage states section names only states");
	for (s = STORE_STAGE_PENDING; s <= STORE_STAGE_STATUS_MAX; s++) {
		ok((d.listed & (1u << s)) != 0 && d.moves[s] ==
		    engine_stage_moves(s), "shipgated(8): stage %s moves as "
		    "in the table", store_stage_status_name(s));
		ok(((d.safe >> s) & 1) == (unsigned int)
		    engine_stage_safe_point(s), "shipgated(8): stage %s %s a "
		    "safe point", store_stage_status_name(s),
		    engine_stage_safe_point(s) ? "is" : "is not");
	}
	doc_read(f, "Run states", 0, &d);
	ok(d.bad == 0, "the run states section names only states");
	for (s = STORE_RUN_RECEIVED; s <= STORE_RUN_STATUS_MAX; s++)
		ok((d.listed & (1u << s)) != 0 && d.moves[s] ==
		    engine_run_moves(s), "shipgated(8): run %s moves as in "
		    "the table", store_run_status_name(s));
	fclose(f);
}

int
main(void)
{
	test_graph();
	test_man();
	return (tap_done());
}
