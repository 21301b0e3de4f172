/*
 * Release validation: a release zip, read from memory with libzip, and its
 * release.json manifest, checked against limits and rules and turned into
 * a struct release that owns everything the engine needs (the manifest's
 * fields, its raw text, the template).  Every rejection is one reason
 * naming the file, the field and the rule or limit broken:
 *
 *	zip: entry "../evil.yaml": name must be relative, without ".."
 *	release.json: images[1].digest: "sha256:abc" is not a sha256 digest
 *	    (sha256: and 64 hex digits)
 *
 * Also the pure helpers the engine builds a change set with: the merged
 * stack parameters, the change set's name and description.
 *
 * Pure: buffers in, values out; no I/O, no clock, no logging.
 */
#ifndef SHIPGATE_RELEASE_H
#define SHIPGATE_RELEASE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Codes, negative, kept in struct release_error (release_code_name). */
#define RELEASE_ENOTZIP	    (-1) /* empty, not a zip, damaged */
#define RELEASE_ELIMIT	    (-2) /* zip size, entries, sizes, ratio */
#define RELEASE_ENAME	    (-3) /* an entry name breaks a rule */
#define RELEASE_EENTRY	    (-4) /* symlink, encrypted, bad data */
#define RELEASE_ENOMANIFEST (-5) /* no release.json */
#define RELEASE_EMANIFEST   (-6) /* release.json: not JSON, bad field */
#define RELEASE_EAPP	    (-7) /* release.json names another app */
#define RELEASE_ETEMPLATE   (-8) /* template missing, empty, bad */

/* CloudFormation's limit for TemplateBody; larger goes by TemplateURL. */
#define RELEASE_TEMPLATE_INLINE_MAX 51200
/* CloudFormation's limits on change sets. */
#define RELEASE_CHANGE_SET_NAME_MAX	   128
#define RELEASE_CHANGE_SET_DESCRIPTION_MAX 1024

struct release_limits {
	uint64_t     zip_size;	     /* bytes of the zip (50MiB) */
	uint64_t     entries;	     /* entries, directories too (200) */
	uint64_t     entry_size;     /* unpacked, one entry (100MiB) */
	uint64_t     unpacked_size;  /* unpacked, all entries (200MiB) */
	uint64_t     ratio;	     /* unpacked:packed per entry (100) */
	uint64_t     ratio_min_size; /* entries smaller are not held to
					   the ratio (64KiB) */
	size_t	     name_len;	     /* bytes of an entry name (255) */
	size_t	     manifest_size;  /* bytes of release.json (64KiB) */
	unsigned int manifest_depth; /* nested arrays and objects (8) */
};

/* A rejection: the code and one reason (NULL while all is well). */
struct release_error {
	int   code;
	char *reason;
};

struct release_image {
	char *repository; /* OCI name, e.g. billing/web */
	char *tag;	  /* NULL when a digest is given */
	char *digest;	  /* "sha256:<64 hex>"; NULL with a tag */
	/* images[].parameter: the stack parameter that receives the image
	   pinned at intake as "repository@sha256:..."; or NULL.  A
	   parameter of the template, set nowhere else in release.json. */
	char *parameter;
};

struct release_override {
	char		 *env;
	struct config_kvs parameters;
};

struct release {
	char			*app;
	char			*version; /* [A-Za-z0-9._+-], 1..128 */
	char			*message; /* UTF-8, may be empty */
	char			*author;  /* [A-Za-z0-9._@+-], 1..128 */
	struct release_image	*images;  /* at least one */
	size_t			 nimages;
	struct config_kvs	 parameters; /* sorted by key */
	struct release_override *overrides;  /* sorted by env; may be 0 */
	size_t			 noverrides;
	struct config_strings	 checks; /* check names; may be 0 */

	char *template_name; /* .yaml, .yml or .json */
	char *template;	     /* its bytes, NUL-terminated */
	size_t template_len;

	char  *manifest; /* release.json as in the zip */
	size_t manifest_len;
};

/* The defaults above. */
void release_limits_default(struct release_limits *);
/* The defaults with the app's `limits:` (its limit_* fields) on top. */
void release_limits_from_app(struct release_limits *,
    const struct config_app *);

/*
 * Reads and checks the zip in data[0..len) for the app named app (the
 * app whose bucket it came from).  limits may be NULL for the defaults.
 * 0 and a release the caller frees with release_free, or a negative
 * RELEASE_E* with *relp NULL and, if err is not NULL, err filled in (the
 * caller frees it with release_error_clear).  data is not kept.
 *
 * In order: the zip's size; names (raw, from the central directory: NUL,
 * duplicates); libzip opens it; the entry count; each entry's name, kind
 * (no symbolic links or devices), encryption, method (stored or
 * deflated), claimed sizes and ratio; release.json, read and checked; the
 * template's presence; then every entry is read, never past the size its
 * header claims, and the template must be UTF-8 that parses (YAML, or
 * JSON for .json) with a mapping at the top.  The first failure is the
 * reason.
 */
int release_read(struct release **relp, const void *data, size_t len,
    const char *app, const struct release_limits *limits,
    struct release_error *err);

/*
 * Checks release.json's text alone (what release_read does once it has
 * it), without the zip: every field but the template's presence.  On
 * success *relp has no template and template_name set.  For the fuzzer
 * and for tables of manifests.
 */
int release_parse_manifest(struct release **relp, const void *json, size_t len,
    const char *app, const struct release_limits *limits,
    struct release_error *err);

void release_free(struct release *);
void release_error_clear(struct release_error *);
/* "not-a-zip", "limit", "name", "entry", "no-manifest", "manifest",
   "app", "template"; "ok" for 0; "unknown" otherwise. */
const char *release_code_name(int);

/*
 * Checks what needs the app's configuration: every override names one of
 * its environments and sets no parameter that environment pins (sets in
 * its `parameters`) unless its release_may_set lists it; every check the
 * release names is allowed by every environment (named in its checks or
 * release_checks), since a check's secrets go to the environment's
 * base_url.  0, or RELEASE_EMANIFEST with err filled in.
 */
int release_check_app(const struct release *, const struct config_app *,
    struct release_error *err);

/*
 * The parameters for env: the release's, then env_params (the
 * environment's, may be NULL), then the release's overrides.<env>
 * .parameters, a later value winning, except that the environment's
 * value always wins unless may_set (its release_may_set, may be NULL)
 * lists the parameter: then the release's (overrides first) wins.
 * *out is sorted by key and owned by the caller (release_kvs_free).
 */
void release_parameters(const struct release *, const char *env,
    const struct config_kvs *env_params, const struct config_strings *may_set,
    struct config_kvs *out);
void release_kvs_free(struct config_kvs *);

/*
 * NoEcho values set by release.json itself.  What is stored and shown of
 * a release is release.json with the value of every parameter the
 * template declares NoEcho (no_echo: their names) replaced by
 * RELEASE_MASK, in `parameters` and in every override: *out, compact
 * JSON, owned by the caller.  Returns how many values were masked (0:
 * *out is rel->manifest as it came).  Only the zip in the bucket keeps
 * the values; release_masked says a manifest read back needs it.
 */
#define RELEASE_MASK "****"
size_t release_mask_manifest(const struct release *,
    const struct config_strings *no_echo, char **out);
/* 1 if a value of parameters or of an override is RELEASE_MASK. */
int release_masked(const struct release *);

/* 1 if the template fits CloudFormation's TemplateBody (51,200 bytes). */
/*
 * release_parameters, then each image's images[].parameter set to
 * "repository@digest": pinned[i] (the digest intake pinned for image i),
 * else the digest release.json gives, else "repository:tag" (no
 * registry to pin it).  A parameter the environment sets and does not
 * list in may_set keeps the environment's value.
 */
void release_image_parameters(const struct release *, const char *env,
    const char *const *pinned, const struct config_kvs *env_params,
    const struct config_strings *may_set, struct config_kvs *out);
int  release_template_inline(const struct release *);

/*
 * A change set's name, deterministic from its inputs:
 * "shipgate-<app>-<env>-r<run>-a<attempt>", characters CloudFormation
 * refuses turned into '-', app then env shortened to fit 128.  Caller
 * frees.
 */
char *release_change_set_name(const char *app, long long run_id,
    const char *env, int attempt);
/*
 * "<version> — <message>" (or the version alone when the message is
 * empty), cut to 1,024 bytes on a UTF-8 character boundary.  Caller
 * frees.
 */
char *release_change_set_description(const char *version, const char *message);

#endif
