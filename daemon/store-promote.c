/*
 * The store's part for image promotion: one row per image copied (or
 * not copied again) into an environment's registry at a stage
 * (sql/004_promotions.sql's image_promotions), and the reads for
 * `shipgatectl show` and for the engine's "already promoted" check.
 */
#include <stdlib.h>
#include <string.h>

#include "store-int.h"
#include "xmalloc.h"

static const char SQL_RECORD_PROMOTION[] =
    "INSERT INTO image_promotions (stage_id, source_registry, repository, "
    "reference, destination_registry, media_type, source_digest, "
    "destination_digest, status, blobs_copied, blobs_skipped, "
    "bytes_copied, bytes_skipped, reason, created_at, updated_at, "
    "started_at, finished_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
    "?10, ?11, ?12, ?13, ?14, ?15, ?15, ?16, ?15) "
    "ON CONFLICT (stage_id, destination_registry, repository, reference) "
    "DO UPDATE SET source_registry = excluded.source_registry, "
    "media_type = excluded.media_type, "
    "source_digest = excluded.source_digest, "
    "destination_digest = excluded.destination_digest, "
    "status = excluded.status, blobs_copied = excluded.blobs_copied, "
    "blobs_skipped = excluded.blobs_skipped, "
    "bytes_copied = excluded.bytes_copied, "
    "bytes_skipped = excluded.bytes_skipped, reason = excluded.reason, "
    "updated_at = excluded.updated_at, started_at = excluded.started_at, "
    "finished_at = excluded.finished_at";

#define PROMOTION_COLUMNS                                                      \
	"p.id, p.stage_id, st.environment, p.source_registry, p.repository, "  \
	"p.reference, p.destination_registry, p.media_type, p.source_digest, " \
	"p.destination_digest, p.status, p.blobs_copied, p.blobs_skipped, "    \
	"p.bytes_copied, p.bytes_skipped, p.reason, p.started_at, "            \
	"p.finished_at, st.run_id "

static const char SQL_RUN_PROMOTIONS[] =
    "SELECT " PROMOTION_COLUMNS "FROM image_promotions p "
    "JOIN stages st ON st.id = p.stage_id WHERE st.run_id = ?1 "
    "ORDER BY st.position, p.id";
static const char SQL_FIND_PROMOTION[] =
    "SELECT " PROMOTION_COLUMNS "FROM image_promotions p "
    "JOIN stages st ON st.id = p.stage_id "
    "JOIN runs r ON r.id = st.run_id "
    "WHERE r.release_id = ?1 AND p.destination_registry = ?2 AND "
    "p.repository = ?3 AND p.reference = ?4 AND p.stage_id <> ?5 AND "
    "p.status = 'copied' ORDER BY p.id LIMIT 1";

int
store_record_promotion(struct store *s, const struct store_promotion_in *in,
    char **cause)
{
	sqlite3_stmt *stmt;
	int64_t	      now;
	int	      rc = 0;

	if (in->failed ?
		in->reason == NULL :
		(in->source_digest == NULL || in->destination_digest == NULL ||
		    strcmp(in->source_digest, in->destination_digest) != 0))
		return (store_error(cause, STORE_EINVAL,
		    "a promotion of %s:%s "
		    "is copied with equal digests, or failed with a reason",
		    in->repository, in->reference));
	if ((stmt = store_stmt(s, SQL_RECORD_PROMOTION, cause)) == NULL)
		return (STORE_EIO);
	now = store_now(s);
	sqlite3_bind_int64(stmt, 1, in->stage_id);
	store_bind_text(stmt, 2, in->source_registry);
	store_bind_text(stmt, 3, in->repository);
	store_bind_text(stmt, 4, in->reference);
	store_bind_text(stmt, 5, in->destination_registry);
	store_bind_text(stmt, 6, in->media_type);
	store_bind_text(stmt, 7, in->source_digest);
	store_bind_text(stmt, 8, in->destination_digest);
	store_bind_text(stmt, 9, in->failed ? "failed" : "copied");
	sqlite3_bind_int(stmt, 10, in->blobs_copied);
	sqlite3_bind_int(stmt, 11, in->blobs_skipped);
	sqlite3_bind_int64(stmt, 12, in->bytes_copied);
	sqlite3_bind_int64(stmt, 13, in->bytes_skipped);
	store_bind_text(stmt, 14, in->reason);
	sqlite3_bind_int64(stmt, 15, now);
	sqlite3_bind_int64(stmt, 16,
	    now - (in->elapsed_ms > 0 ? in->elapsed_ms : 0));
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause,
		    "cannot record the promotion of "
		    "%s:%s at stage %lld",
		    in->repository, in->reference, (long long)in->stage_id);
	store_stmt_done(stmt);
	return (rc);
}

static void
store_promotion_read(sqlite3_stmt *stmt, struct store_promotion *p)
{
	memset(p, 0, sizeof *p);
	p->id = sqlite3_column_int64(stmt, 0);
	p->stage_id = sqlite3_column_int64(stmt, 1);
	p->environment = store_column_text(stmt, 2);
	p->source_registry = store_column_text(stmt, 3);
	p->repository = store_column_text(stmt, 4);
	p->reference = store_column_text(stmt, 5);
	p->destination_registry = store_column_text(stmt, 6);
	p->media_type = store_column_text(stmt, 7);
	p->source_digest = store_column_text(stmt, 8);
	p->destination_digest = store_column_text(stmt, 9);
	p->status = store_column_text(stmt, 10);
	p->blobs_copied = sqlite3_column_int(stmt, 11);
	p->blobs_skipped = sqlite3_column_int(stmt, 12);
	p->bytes_copied = sqlite3_column_int64(stmt, 13);
	p->bytes_skipped = sqlite3_column_int64(stmt, 14);
	p->reason = store_column_text(stmt, 15);
	p->started_at = sqlite3_column_int64(stmt, 16);
	p->finished_at = sqlite3_column_int64(stmt, 17);
	p->run_id = sqlite3_column_int64(stmt, 18);
}

static void
store_promotion_clear(struct store_promotion *p)
{
	free(p->environment);
	free(p->source_registry);
	free(p->repository);
	free(p->reference);
	free(p->destination_registry);
	free(p->media_type);
	free(p->source_digest);
	free(p->destination_digest);
	free(p->status);
	free(p->reason);
}

void
store_promotion_free(struct store_promotion *p)
{
	if (p == NULL)
		return;
	store_promotion_clear(p);
	free(p);
}

void
store_promotions_free(struct store_promotions *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		store_promotion_clear(&l->items[i]);
	free(l->items);
	free(l);
}

int
store_run_promotions(struct store *s, int64_t run_id,
    struct store_promotions **lp, char **cause)
{
	struct store_promotions *l;
	sqlite3_stmt		*stmt;
	size_t			 cap = 0;
	int			 rc;

	*lp = NULL;
	if ((stmt = store_stmt(s, SQL_RUN_PROMOTIONS, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, run_id);
	l = xcalloc(1, sizeof *l);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (l->n == cap) {
			cap = cap != 0 ? cap * 2 : 8;
			l->items = xreallocarray(l->items, cap,
			    sizeof *l->items);
		}
		store_promotion_read(stmt, &l->items[l->n++]);
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, cause,
		    "cannot read the promotions of run "
		    "%lld",
		    (long long)run_id);
		store_promotions_free(l);
	} else {
		rc = 0;
		*lp = l;
	}
	store_stmt_done(stmt);
	return (rc);
}

int
store_find_promotion(struct store *s, int64_t release_id,
    const char *destination_registry, const char *repository,
    const char *reference, int64_t not_stage_id, struct store_promotion **pp,
    char **cause)
{
	struct store_promotion *p;
	sqlite3_stmt	       *stmt;
	int			rc;

	*pp = NULL;
	if ((stmt = store_stmt(s, SQL_FIND_PROMOTION, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, release_id);
	store_bind_text(stmt, 2, destination_registry);
	store_bind_text(stmt, 3, repository);
	store_bind_text(stmt, 4, reference);
	sqlite3_bind_int64(stmt, 5, not_stage_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		p = xmalloc(sizeof *p);
		store_promotion_read(stmt, p);
		*pp = p;
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = STORE_ENOTFOUND;
	else
		rc = store_fail(s, cause,
		    "cannot look for a promotion of "
		    "%s:%s",
		    repository, reference);
	store_stmt_done(stmt);
	return (rc);
}
