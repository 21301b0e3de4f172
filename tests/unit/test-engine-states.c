/*
 * The engine's transition table (engine-states.c) walked as a graph:
 * every stage state reachable from pending and every run state from
 * received (invalid is where an invalid release's run starts), every
 * unfinished state has a way out and the final ones none; and
 * shipgated(8)'s STATES section says the same as the table, arrow for
 * arrow, safe point for safe point; and engine_enter (engine-int.h, the
 * one function that changes a status) refuses a move the table does not
 * list: nothing of it is written, the stage and run fail with the
 * reason.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "config.h"
#include "engine-int.h"
#include "engine.h"
#include "store.h"
#include "tap.h"
#include "xmalloc.h"

#define NSTATES 32

/* The states reachable from start along moves(). */
static unsigned int
reachable(int start, int max, unsigned int (*moves)(int))
{
	unsigned int seen = 1u << start, before;
	int	     s;

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
	unsigned int seen;
	int	     s;

	seen = reachable(STORE_STAGE_PENDING, STORE_STAGE_STATUS_MAX,
	    stage_moves);
	for (s = STORE_STAGE_PENDING; s <= STORE_STAGE_STATUS_MAX; s++) {
		ok((seen & (1u << s)) != 0,
		    "stage %s is reachable from "
		    "pending",
		    store_stage_status_name(s));
		if (!store_stage_status_finished(s))
			ok(stage_moves(s) != 0, "stage %s has a way out",
			    store_stage_status_name(s));
		else if (s == STORE_STAGE_FAILED)
			ok(stage_moves(s) ==
				((1u << STORE_STAGE_PENDING) |
				    (1u << STORE_STAGE_ROLLED_BACK)),
			    "a failed "
			    "stage leaves only by a retry or a rollback");
		else
			ok(stage_moves(s) == 0, "stage %s is final",
			    store_stage_status_name(s));
		ok(stage_moves(s) >> (STORE_STAGE_STATUS_MAX + 1) == 0 &&
			(stage_moves(s) & 1) == 0,
		    "stage %s moves only to "
		    "states",
		    store_stage_status_name(s));
		/* A safe point is a state a person's cancel may end. */
		ok(!engine_stage_safe_point(s) ||
			(stage_moves(s) & (1u << STORE_STAGE_CANCELLED)) != 0,
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
			ok((seen & (1u << s)) != 0,
			    "run %s is reachable "
			    "from received",
			    store_run_status_name(s));
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
	char	     word[64];
	unsigned int mask = 0;
	size_t	     n;
	int	     depth = 0, v;

	while (*text != '\0') {
		if (*text == '(')
			depth++;
		else if (*text == ')')
			depth--;
		if (depth > 0 ||
		    !(islower((unsigned char)*text) || *text == '_')) {
			text++;
			continue;
		}
		for (n = 0; n < sizeof word - 1 &&
			    (islower((unsigned char)text[n]) || text[n] == '_');
		     n++)
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
	unsigned int moves[NSTATES];
	unsigned int listed; /* states with a line */
	unsigned int safe;
	int	     bad;
};

/* The .It lines of one .Ss of shipgated(8) up to its .El. */
static void
doc_read(FILE *f, const char *section, int stage, struct doc *d)
{
	char	     line[1024], *p;
	unsigned int cur = 0, m;
	int	     in = 0, s;

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
	struct doc  d;
	const char *srcdir;
	char	   *path;
	FILE	   *f;
	int	    s;

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
		ok((d.listed & (1u << s)) != 0 &&
			d.moves[s] == engine_stage_moves(s),
		    "shipgated(8): stage %s moves as "
		    "in the table",
		    store_stage_status_name(s));
		ok(((d.safe >> s) & 1) ==
			(unsigned int)engine_stage_safe_point(s),
		    "shipgated(8): stage %s %s a "
		    "safe point",
		    store_stage_status_name(s),
		    engine_stage_safe_point(s) ? "is" : "is not");
	}
	doc_read(f, "Run states", 0, &d);
	ok(d.bad == 0, "the run states section names only states");
	for (s = STORE_RUN_RECEIVED; s <= STORE_RUN_STATUS_MAX; s++)
		ok((d.listed & (1u << s)) != 0 &&
			d.moves[s] == engine_run_moves(s),
		    "shipgated(8): run %s moves as in "
		    "the table",
		    store_run_status_name(s));
	fclose(f);
}

#define ENTER_CONFIG                                                           \
	"public_url: http://127.0.0.1:8080\n"                                  \
	"database: %s/shipgate.db\n"                                           \
	"aws: {region: eu-west-1}\n"                                           \
	"users:\n"                                                             \
	"  - {name: alice, email: a@x.example, groups: [integrators]}\n"       \
	"apps:\n"                                                              \
	"  - name: billing\n"                                                  \
	"    source: {bucket: releases-billing}\n"                             \
	"    environments:\n"                                                  \
	"      - {name: int, account: \"111111111111\", stack: billing-int,\n" \
	"         role_arn: \"arn:aws:iam::111111111111:role/deployer\",\n"    \
	"         approvers: [integrators]}\n"

static void
stopped_cb(void *arg)
{
	*(int *)arg = 1;
}

/* One move through engine_enter in a transaction of its own; the run's
 * row read again afterwards. */
static int
enter(struct engine_run *r, enum store_stage_status to,
    enum store_run_status run_to)
{
	struct store *s = r->engine->store;
	int	      rc;

	if (engine_txn_begin(r) != 0)
		return (-1);
	rc = engine_enter(r, &r->row->stages[0], to, run_to, NULL, NULL);
	if (engine_txn_end(r, rc == 0) != 0)
		rc = -1;
	store_run_free(r->row);
	r->row = NULL;
	if (store_get_run(s, r->id, &r->row, NULL) != 0)
		return (-1);
	return (rc);
}

static void
test_enter(void)
{
	struct config_errors	errs;
	struct config	       *config = NULL;
	struct store	       *s = NULL;
	struct store_release_in rin;
	struct store_stage_in	sin;
	struct store_run_in	in;
	struct engine	       *e = NULL;
	struct engine_run      *r;
	struct store_stage     *st;
	uv_loop_t		loop;
	char			dir[] = "/tmp/test-engine-states.XXXXXX";
	char		       *text, *cause = NULL;
	int64_t			app_id, rel_id, run_id;
	int			stopped = 0, rc;

	if (!ok(mkdtemp(dir) != NULL, "enter: a temporary directory"))
		return;
	text = xasprintf(ENTER_CONFIG, dir);
	config = config_load_buffer("test.yaml", text, strlen(text), &errs);
	free(text);
	if (!ok(config != NULL, "enter: the configuration loads")) {
		config_errors_free(&errs);
		return;
	}
	text = xasprintf("%s/shipgate.db", dir);
	rc = store_open(text, &s, &cause);
	free(text);
	if (!ok(rc == 0, "enter: the store opens (%s)",
		cause != NULL ? cause : "ok"))
		goto out;
	memset(&rin, 0, sizeof rin);
	memset(&sin, 0, sizeof sin);
	memset(&in, 0, sizeof in);
	rin.bucket = "releases-billing";
	rin.key = "billing-1.0.0.zip";
	rin.size = 100;
	rin.version = "1.0.0";
	rin.message = "a message";
	rin.author = "alice";
	rin.manifest = "{}";
	rin.status = STORE_RELEASE_VALID;
	sin.environment = "int";
	in.stages = &sin;
	in.nstages = 1;
	if (!ok(store_upsert_app(s, "billing", &app_id, NULL) == 0 &&
		    (rin.app_id = app_id) != 0 &&
		    store_record_release(s, &rin, &rel_id, NULL) == 0 &&
		    (in.release_id = rel_id) != 0 &&
		    store_create_run(s, &in, &run_id, NULL) == 0,
		"enter: a run with one pending stage"))
		goto out;

	uv_loop_init(&loop);
	e = engine_new(&loop, s, NULL, config);
	r = engine_run_add(e, run_id, "billing");
	if (!ok(store_get_run(s, run_id, &r->row, NULL) == 0,
		"enter: the run is read"))
		goto stop;

	/* pending -> done skips every step: a bug. */
	rc = enter(r, STORE_STAGE_DONE, 0);
	st = &r->row->stages[0];
	ok(rc == 0 && st->status == STORE_STAGE_FAILED &&
		r->row->status == STORE_RUN_FAILED,
	    "enter: pending -> done is "
	    "refused, the stage and the run failed instead (stage %s, run "
	    "%s)",
	    store_stage_status_name(st->status),
	    store_run_status_name(r->row->status));
	ok(st->reason != NULL &&
		strcmp(st->reason,
		    "internal error: "
		    "illegal transition of stage int from pending to done") ==
		    0,
	    "enter: with the reason (%s)",
	    st->reason != NULL ? st->reason : "none");
	ok(r->row->reason != NULL &&
		strstr(r->row->reason, "illegal transition") != NULL,
	    "enter: the run too");

	/* failed -> done: nothing can be written, not even a failure. */
	rc = enter(r, STORE_STAGE_DONE, STORE_RUN_SUCCEEDED);
	st = &r->row->stages[0];
	ok(rc != 0 && st->status == STORE_STAGE_FAILED &&
		r->row->status == STORE_RUN_FAILED,
	    "enter: failed -> done is "
	    "refused and nothing written");

	/* A legal move goes through: a retry's failed -> pending. */
	rc = enter(r, STORE_STAGE_PENDING, STORE_RUN_RUNNING);
	st = &r->row->stages[0];
	ok(rc == 0 && st->status == STORE_STAGE_PENDING &&
		r->row->status == STORE_RUN_RUNNING,
	    "enter: failed -> pending, "
	    "a legal move, is written");

stop:
	engine_stop(e, stopped_cb, &stopped);
	while (!stopped && uv_run(&loop, UV_RUN_ONCE) != 0)
		;
	uv_run(&loop, UV_RUN_DEFAULT);
	ok(stopped && uv_loop_close(&loop) == 0, "enter: uv_loop_close() "
						 "== 0");
out:
	free(cause);
	store_close(s);
	config_free(config);
	text = xasprintf("rm -rf %s", dir);
	if (system(text) != 0)
		tap_diag("cannot remove %s", dir);
	free(text);
}

int
main(void)
{
	test_graph();
	test_man();
	test_enter();
	return (tap_done());
}
