/*
 * The store's part for a release's pinned images (sql/008_release_images
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

static const char SQL_SET_STAGE_STACK[] =
    "INSERT OR REPLACE INTO stage_stacks (stage_id, stack_exists, "
    "parameters, last_updated_at, read_at, template, prev_run_id, "
    "prev_stage_id, prev_version, prev_deployed_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
static const char SQL_STAGE_STACK[] =
    "SELECT stack_exists, parameters, last_updated_at, read_at, template, "
    "prev_run_id, prev_stage_id, prev_version, prev_deployed_at "
    "FROM stage_stacks WHERE stage_id = ?1";
static const char SQL_SET_STAGE_TEMPLATE[] =
    "INSERT OR REPLACE INTO stage_templates (stage_id, attempt, diff, "
    "added, removed, whole) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_STAGE_TEMPLATE[] =
    "SELECT diff, added, removed, whole FROM stage_templates "
    "WHERE stage_id = ?1 AND attempt = ?2";
static const char SQL_DELETE_STAGE_PARAMETERS[] =
    "DELETE FROM stage_parameters WHERE stage_id = ?1 AND attempt = ?2";
static const char SQL_INSERT_STAGE_PARAMETER[] =
    "INSERT INTO stage_parameters (stage_id, attempt, position, name, "
    "old_value, new_value, change, no_echo) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char SQL_STAGE_PARAMETERS[] =
    "SELECT name, old_value, new_value, change, no_echo "
    "FROM stage_parameters WHERE stage_id = ?1 AND attempt = ?2 "
    "ORDER BY position";

int
store_add_release_image(struct store *s, int64_t release_id,
    const struct store_release_image_in *im, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

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
		rc = store_fail(s, cause,
		    "cannot record image %d of release "
		    "%lld",
		    im->position, (long long)release_id);
	store_stmt_done(stmt);
	return (rc);
}

int
store_release_images(struct store *s, int64_t release_id,
    struct store_release_images **lp, char **cause)
{
	struct store_release_images *l;
	struct store_release_image  *im;
	sqlite3_stmt		    *stmt;
	size_t			     cap = 0;
	int			     rc;

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
		rc = store_fail(s, cause,
		    "cannot read the images of release "
		    "%lld",
		    (long long)release_id);
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
	size_t i;

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
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if ((stmt = store_stmt(s, SQL_RELEASE_IMAGE_MOVED, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, release_id);
	sqlite3_bind_int(stmt, 2, position);
	store_bind_text(stmt, 3, digest);
	sqlite3_bind_int64(stmt, 4, store_now(s));
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause,
		    "cannot record image %d of release "
		    "%lld",
		    position, (long long)release_id);
	store_stmt_done(stmt);
	return (rc);
}

int
store_stage_set_stack(struct store *s, int64_t stage_id,
    const struct store_stage_stack *sk, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if ((stmt = store_stmt(s, SQL_SET_STAGE_STACK, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, sk->exists != 0);
	store_bind_text(stmt, 3, sk->parameters);
	store_bind_id(stmt, 4, sk->last_updated_at);
	sqlite3_bind_int64(stmt, 5, store_now(s));
	if (sk->template != NULL)
		sqlite3_bind_blob64(stmt, 6, sk->template, sk->template_len,
		    SQLITE_TRANSIENT);
	store_bind_id(stmt, 7, sk->prev_run_id);
	store_bind_id(stmt, 8, sk->prev_stage_id);
	store_bind_text(stmt, 9, sk->prev_version);
	store_bind_id(stmt, 10, sk->prev_deployed_at);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause,
		    "cannot record the stack of stage "
		    "%lld",
		    (long long)stage_id);
	store_stmt_done(stmt);
	return (rc);
}

int
store_stage_stack(struct store *s, int64_t stage_id,
    struct store_stage_stack **skp, char **cause)
{
	struct store_stage_stack *sk;
	sqlite3_stmt		 *stmt;
	int			  rc;

	*skp = NULL;
	if ((stmt = store_stmt(s, SQL_STAGE_STACK, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		sk = xcalloc(1, sizeof *sk);
		sk->exists = sqlite3_column_int(stmt, 0);
		sk->parameters = store_column_text(stmt, 1);
		sk->last_updated_at = store_column_int64(stmt, 2);
		sk->read_at = store_column_int64(stmt, 3);
		if (sqlite3_column_type(stmt, 4) != SQLITE_NULL) {
			sk->template_len = (size_t)sqlite3_column_bytes(stmt,
			    4);
			sk->template = xmalloc(sk->template_len + 1);
			if (sk->template_len > 0)
				memcpy(sk->template,
				    sqlite3_column_blob(stmt, 4),
				    sk->template_len);
			sk->template[sk->template_len] = '\0';
		}
		sk->prev_run_id = store_column_int64(stmt, 5);
		sk->prev_stage_id = store_column_int64(stmt, 6);
		sk->prev_version = store_column_text(stmt, 7);
		sk->prev_deployed_at = store_column_int64(stmt, 8);
		*skp = sk;
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = store_error(cause, STORE_ENOTFOUND,
		    "no stack read for "
		    "stage %lld",
		    (long long)stage_id);
	else
		rc = store_fail(s, cause,
		    "cannot read the stack of stage "
		    "%lld",
		    (long long)stage_id);
	store_stmt_done(stmt);
	return (rc);
}

void
store_stage_stack_free(struct store_stage_stack *sk)
{
	if (sk == NULL)
		return;
	free(sk->parameters);
	free(sk->template);
	free(sk->prev_version);
	free(sk);
}

int
store_set_stage_parameters(struct store *s, int64_t stage_id, int attempt,
    const struct store_stage_param_in *v, size_t n, char **cause)
{
	sqlite3_stmt *stmt;
	size_t	      i;
	int	      rc;

	if ((rc = store_op_begin(s, cause)) != 0)
		return (rc);
	if ((stmt = store_stmt(s, SQL_DELETE_STAGE_PARAMETERS, cause)) ==
	    NULL) {
		rc = STORE_EIO;
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause,
		    "cannot replace the parameters of "
		    "stage %lld",
		    (long long)stage_id);
	store_stmt_done(stmt);
	for (i = 0; rc == 0 && i < n; i++) {
		if ((stmt = store_stmt(s, SQL_INSERT_STAGE_PARAMETER, cause)) ==
		    NULL) {
			rc = STORE_EIO;
			break;
		}
		sqlite3_bind_int64(stmt, 1, stage_id);
		sqlite3_bind_int(stmt, 2, attempt);
		sqlite3_bind_int(stmt, 3, (int)i);
		store_bind_text(stmt, 4, v[i].name);
		store_bind_text(stmt, 5, v[i].old_value);
		store_bind_text(stmt, 6, v[i].new_value);
		store_bind_text(stmt, 7, v[i].change);
		sqlite3_bind_int(stmt, 8, v[i].no_echo != 0);
		if (sqlite3_step(stmt) != SQLITE_DONE)
			rc = store_fail(s, cause,
			    "cannot record parameter %s "
			    "of stage %lld",
			    v[i].name, (long long)stage_id);
		store_stmt_done(stmt);
	}
out:
	if (rc != 0) {
		store_op_end(s, 0, NULL);
		return (rc);
	}
	return (store_op_end(s, 1, cause));
}

int
store_stage_parameters(struct store *s, int64_t stage_id, int attempt,
    struct store_stage_params **lp, char **cause)
{
	struct store_stage_params *l;
	struct store_stage_param  *p;
	sqlite3_stmt		  *stmt;
	size_t			   cap = 0;
	int			   rc;

	*lp = NULL;
	if ((stmt = store_stmt(s, SQL_STAGE_PARAMETERS, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	l = xcalloc(1, sizeof *l);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (l->n == cap) {
			cap = cap ? cap * 2 : 8;
			l->items = xreallocarray(l->items, cap,
			    sizeof *l->items);
		}
		p = &l->items[l->n++];
		p->name = store_column_text(stmt, 0);
		p->old_value = store_column_text(stmt, 1);
		p->new_value = store_column_text(stmt, 2);
		p->change = store_column_text(stmt, 3);
		p->no_echo = sqlite3_column_int(stmt, 4);
	}
	if (rc != SQLITE_DONE) {
		rc = store_fail(s, cause,
		    "cannot read the parameters of stage "
		    "%lld",
		    (long long)stage_id);
		store_stmt_done(stmt);
		store_stage_params_free(l);
		return (rc);
	}
	store_stmt_done(stmt);
	*lp = l;
	return (0);
}

void
store_stage_params_free(struct store_stage_params *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->items[i].name);
		free(l->items[i].old_value);
		free(l->items[i].new_value);
		free(l->items[i].change);
	}
	free(l->items);
	free(l);
}

int
store_set_stage_template(struct store *s, int64_t stage_id, int attempt,
    const struct store_stage_template *t, char **cause)
{
	sqlite3_stmt *stmt;
	int	      rc = 0;

	if ((stmt = store_stmt(s, SQL_SET_STAGE_TEMPLATE, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	store_bind_text(stmt, 3, t->diff);
	sqlite3_bind_int64(stmt, 4, t->added);
	sqlite3_bind_int64(stmt, 5, t->removed);
	sqlite3_bind_int(stmt, 6, t->whole != 0);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = store_fail(s, cause,
		    "cannot record the template diff of "
		    "stage %lld",
		    (long long)stage_id);
	store_stmt_done(stmt);
	return (rc);
}

int
store_stage_template(struct store *s, int64_t stage_id, int attempt,
    struct store_stage_template **tp, char **cause)
{
	struct store_stage_template *t;
	sqlite3_stmt		    *stmt;
	int			     rc;

	*tp = NULL;
	if ((stmt = store_stmt(s, SQL_STAGE_TEMPLATE, cause)) == NULL)
		return (STORE_EIO);
	sqlite3_bind_int64(stmt, 1, stage_id);
	sqlite3_bind_int(stmt, 2, attempt);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		t = xcalloc(1, sizeof *t);
		t->diff = store_column_text(stmt, 0);
		if (t->diff == NULL)
			t->diff = xstrdup("");
		t->added = store_column_int64(stmt, 1);
		t->removed = store_column_int64(stmt, 2);
		t->whole = sqlite3_column_int(stmt, 3);
		*tp = t;
		rc = 0;
	} else if (rc == SQLITE_DONE)
		rc = store_error(cause, STORE_ENOTFOUND,
		    "no template diff for "
		    "stage %lld",
		    (long long)stage_id);
	else
		rc = store_fail(s, cause,
		    "cannot read the template diff of "
		    "stage %lld",
		    (long long)stage_id);
	store_stmt_done(stmt);
	return (rc);
}

void
store_stage_template_free(struct store_stage_template *t)
{
	if (t == NULL)
		return;
	free(t->diff);
	free(t);
}
