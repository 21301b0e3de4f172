/*
 * The store's part for a release's pinned images (sql/007_release_images
 * .sql): recorded by intake with the release, read by the engine (what to
 * promote and deploy) and the portal.
 */
#include <stdlib.h>
#include <string.h>

#include "store-int.h"
#include "xmalloc.h"

static const char SQL_ADD_RELEASE_IMAGE[] =
    "INSERT INTO release_images (release_id, position, registry, "
    "repository, tag, digest, media_type, platforms, parameter, "
    "resolved_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
static const char SQL_RELEASE_IMAGES[] =
    "SELECT position, registry, repository, tag, digest, media_type, "
    "platforms, parameter, resolved_at, moved_digest, moved_at "
    "FROM release_images WHERE release_id = ?1 ORDER BY position";
static const char SQL_RELEASE_IMAGE_MOVED[] =
    "UPDATE release_images SET moved_digest = ?3, "
    "moved_at = CASE WHEN ?3 IS NULL THEN NULL "
    "WHEN moved_digest IS ?3 THEN moved_at ELSE ?4 END "
    "WHERE release_id = ?1 AND position = ?2";

int
store_add_release_image(struct store *s, int64_t release_id,
    const struct store_release_image_in *im, char **cause)
{
	sqlite3_stmt	*stmt;
	int		 rc = 0;

	if ((stmt = store_stmt(s, SQL_ADD_RELEASE_IMAGE, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, release_id);
	sqlite3_bind_int(stmt, 2, im->position);
	store_bind_text(stmt, 3, im->registry);
	store_bind_text(stmt, 4, im->repository);
	store_bind_text(stmt, 5, im->tag);
	store_bind_text(stmt, 6, im->digest);
	store_bind_text(stmt, 7, im->media_type);
	store_bind_text(stmt, 8, im->platforms);
	store_bind_text(stmt, 9, im->parameter);
	sqlite3_bind_int64(stmt, 10, store_now(s));
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause, "cannot record image %d of release "
		    "%lld", im->position, (long long)release_id);
	store_stmt_done(stmt);
	return (rc);
}

int
store_release_images(struct store *s, int64_t release_id,
    struct store_release_images **lp, char **cause)
{
	struct store_release_images	*l;
	struct store_release_image	*im;
	sqlite3_stmt			*stmt;
	size_t				 cap = 0;
	int				 rc;

	*lp = NULL;
	if ((stmt = store_stmt(s, SQL_RELEASE_IMAGES, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, release_id);
	l = xcalloc(1, sizeof *l);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (l->n == cap) {
			cap = cap ? cap * 2 : 4;
			l->items = xreallocarray(l->items, cap,
			    sizeof *l->items);
		}
		im = &l->items[l->n++];
		memset(im, 0, sizeof *im);
		im->position = sqlite3_column_int(stmt, 0);
		im->registry = store_column_text(stmt, 1);
		im->repository = store_column_text(stmt, 2);
		im->tag = store_column_text(stmt, 3);
		im->digest = store_column_text(stmt, 4);
		im->media_type = store_column_text(stmt, 5);
		im->platforms = store_column_text(stmt, 6);
		im->parameter = store_column_text(stmt, 7);
		im->resolved_at = store_column_int64(stmt, 8);
		im->moved_digest = store_column_text(stmt, 9);
		im->moved_at = store_column_int64(stmt, 10);
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, cause, "cannot read the images of release "
		    "%lld", (long long)release_id);
		store_stmt_done(stmt);
		store_release_images_free(l);
		return (rc);
	}
	store_stmt_done(stmt);
	*lp = l;
	return (0);
}

void
store_release_images_free(struct store_release_images *l)
{
	size_t	i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->items[i].registry);
		free(l->items[i].repository);
		free(l->items[i].tag);
		free(l->items[i].digest);
		free(l->items[i].media_type);
		free(l->items[i].platforms);
		free(l->items[i].parameter);
		free(l->items[i].moved_digest);
	}
	free(l->items);
	free(l);
}

int
store_release_image_moved(struct store *s, int64_t release_id, int position,
    const char *digest, char **cause)
{
	sqlite3_stmt	*stmt;
	int		 rc = 0;

	if ((stmt = store_stmt(s, SQL_RELEASE_IMAGE_MOVED, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, release_id);
	sqlite3_bind_int(stmt, 2, position);
	store_bind_text(stmt, 3, digest);
	sqlite3_bind_int64(stmt, 4, store_now(s));
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause, "cannot record image %d of release "
		    "%lld", position, (long long)release_id);
	store_stmt_done(stmt);
	return (rc);
}
