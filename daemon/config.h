/*
 * The configuration: one YAML file parsed into typed structures.  Parsing
 * counts every error (file:line:column, key path, what is wrong) before
 * giving up, then checks meaning (references, ranges, duplicates).  A
 * struct config is immutable once loaded; a reload builds a new one and
 * swaps it in whole, so a failed reload keeps the old one.
 *
 * Durations are milliseconds (written 500ms, 90s, 15m, 24h, 7d); sizes are
 * bytes (written 512KiB, 50MiB).  Secrets are never read here: the config
 * keeps references (password_file, ${ENV}, ${file:...}) and the user of a
 * secret resolves it when needed.
 */
#ifndef SHIPGATE_CONFIG_H
#define SHIPGATE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

struct config_kv {
	char *key;
	char *value;
};

struct config_strings {
	char **items;
	size_t n;
};

struct config_kvs {
	struct config_kv *items;
	size_t		  n;
};

struct config_endpoint {
	char *service; /* s3, sqs, sts, cloudformation, ecs,
					   ecr, sesv2 */
	char *url;
};

struct config_aws {
	char		       *region;
	int			max_attempts; /* default 5 */
	char		       *profile;      /* may be NULL */
	struct config_endpoint *endpoints;
	size_t			nendpoints;
};

enum config_mail_transport {
	CONFIG_MAIL_NONE = 0,
	CONFIG_MAIL_SES,
	CONFIG_MAIL_SMTP,
};

struct config_mail {
	enum config_mail_transport transport;
	char			  *from;
	char			  *ses_region; /* SES: defaults to aws.region */
	char			  *smtp_url;
	char			  *smtp_username;
	char			  *smtp_password_file;
	int			   smtp_starttls; /* default 1 (smtp://) */
	int64_t remind_every_ms;	   /* 0: no reminders; default 24h */
	int	smtp_allow_plaintext_auth; /* default 0 */
};

struct config_webhook {
	char		     *url_file;
	struct config_strings events;
};

struct config_user {
	char		     *name;
	char		     *email;
	char		     *password_hash; /* may be NULL */
	struct config_strings groups;
	/* Who this is on the host, for the control socket: see
	 * config_find_unix_user.  NULL and -1 when not given. */
	char *unix_user;
	int   unix_uid;
};

struct config_check_step {
	char		 *name;
	char		 *method; /* default GET */
	char		 *url;	  /* relative to base_url */
	struct config_kvs headers;
	struct config_kvs form;
	char		 *json_body;	  /* JSON text, or NULL */
	int		 *expect_status;  /* any of these */
	size_t		  nexpect_status; /* 0: expect 2xx */
	char		 *expect_contains;
	char		 *expect_regex;
	char		 *expect_json_pointer;
	char		 *expect_json_equals;
	char		 *expect_header;
	int		  retries; /* extra attempts */
	int64_t		  retry_delay_ms;
	int64_t		  timeout_ms;	 /* default 30s */
	int		  max_redirects; /* default 5 */
};

struct config_check {
	char			 *name;
	struct config_check_step *steps;
	size_t			  nsteps;
};

struct window_zone;

/* A time zone named in the configuration, read from the tz database when
 * the file is loaded (window.h). */
struct config_zone {
	char		   *name;
	struct window_zone *tz;
};

/* When an approved stage may start executing: on days, from..to local
 * time in zone (window.h). */
struct config_window {
	char		  *days;
	char		  *from;
	char		  *to;
	struct config_zone zone;
	unsigned int	   day_mask; /* bit 0: Sunday */
	int		   from_minute;
	int		   to_minute; /* exclusive, <= 1440 */
};

/* Whole days when no execution starts, both ends included, in zone
 * (default: the environment's first window's, else UTC). */
struct config_freeze {
	char		  *from;
	char		  *to;
	char		  *reason;
	struct config_zone zone;
	int64_t		   from_day; /* since 1970-01-01 */
	int64_t		   to_day;
};

/* What drift found before an approval does (issue 15). */
enum config_drift {
	CONFIG_DRIFT_WARN = 0, /* shown to the approver */
	CONFIG_DRIFT_BLOCK,    /* and approvals refused until acknowledged */
	CONFIG_DRIFT_OFF,      /* not detected */
};

struct config_environment {
	char		     *name;
	char		     *account; /* 12 digits */
	char		     *role_arn;
	char		     *external_id; /* may be NULL */
	char		     *region;	   /* defaults to aws.region */
	char		     *stack;
	char		     *base_url;		   /* may be NULL */
	char		     *registry;		   /* may be NULL */
	struct config_strings approvers;	   /* group names */
	int		      required_approvals;  /* default 1 */
	int		      allow_self_approval; /* default 1 */
	int		      approve_no_changes;  /* default 1 */
	int64_t		      approval_timeout_ms; /* default 7d */
	int64_t		      deploy_timeout_ms;   /* default 60m */
	struct config_kvs     parameters;
	struct config_strings checks;	     /* check names */
	int		      auto_rollback; /* default 0 */
	struct config_strings gate;	     /* group names */
	/* Checks a release may name here, besides `checks`; default none. */
	struct config_strings release_checks;
	/* Parameters a release's value may set over `parameters`. */
	struct config_strings release_may_set;
	struct config_window *windows; /* none: any time */
	size_t		      nwindows;
	struct config_freeze *freezes;
	size_t		      nfreezes;
	enum config_drift     drift;		/* default warn */
	int64_t		      drift_timeout_ms; /* default 120s */
};

enum config_run_mode {
	CONFIG_MODE_SUPERSEDED = 0,
	CONFIG_MODE_QUEUED,
};

struct config_app {
	char			  *name;
	char			  *source_bucket;
	char			  *source_prefix;    /* "" when absent */
	char			  *source_queue_url; /* may be NULL */
	int64_t			   poll_interval_ms; /* default 60s */
	char			  *artifacts_bucket; /* may be NULL */
	char			  *artifacts_prefix; /* "" when absent */
	char			  *registry;	     /* may be NULL */
	enum config_run_mode	   mode;
	uint64_t		   limit_zip_size;	/* default 50MiB */
	uint64_t		   limit_entries;	/* default 200 */
	uint64_t		   limit_unpacked_size; /* default 200MiB */
	uint64_t		   limit_entry_size;	/* default 100MiB */
	int			   limit_ratio;		/* default 100 */
	int			   max_receives;	/* default 5 */
	struct config_environment *environments;	/* in deploy order */
	size_t			   nenvironments;
};

/*
 * A registry reached with basic auth or a bearer-token challenge.  An
 * entry for an ECR host without username only gives its url (a local
 * stand-in in tests); its logins still come from GetAuthorizationToken.
 */
struct config_registry {
	char *host;	     /* as in `registry:` */
	char *url;	     /* default https://host */
	char *username;	     /* may be NULL */
	char *password_file; /* with username */
};

/*
 * Sign-in through the organisation's identity provider (auth.oidc) or
 * an AWS Application Load Balancer that did it (auth.alb).  groups maps
 * a provider group (key) to a shipgate group (value).  A section is
 * configured when its first required key (issuer, arn) is set.
 */
struct config_oidc {
	char		     *issuer;
	char		     *client_id;
	char		     *client_secret_file;
	struct config_strings scopes;	    /* default openid email profile */
	char		     *groups_claim; /* default groups */
	char		     *user_claim;   /* default email */
	struct config_kvs     groups;
	/* Mails reach the people seen within these days (default 90). */
	int remember_days;
	/* http:// is allowed only for a loopback issuer (tests, demo). */
	int loopback;
};

struct config_alb {
	char *arn;
	char *region; /* from the ARN */
	/* Default https://public-keys.auth.elb.REGION.amazonaws.com */
	char		 *key_url;
	char		 *groups_claim; /* default groups */
	char		 *user_claim;	/* default email */
	struct config_kvs groups;
	int		  remember_days; /* default 90 */
};

/*
 * A group's own mail addresses (top-level groups:): its mails reach
 * them as well as its members, e.g. for people an identity provider
 * has not signed in yet.
 */
struct config_group {
	char		     *name;
	struct config_strings mail;
};

struct config {
	char		       *path;	/* as given */
	char		       *listen; /* host:port */
	char		       *public_url;
	char		       *database;
	char		       *control_socket;
	enum log_level		log_level;	 /* default info */
	unsigned int		log_debug;	 /* LOG_CAT_* mask */
	char		       *tls_certificate; /* may be NULL */
	char		       *tls_key;
	struct config_strings	trusted_proxies;
	char		       *identity_header; /* may be NULL */
	struct config_oidc	oidc;		 /* issuer NULL: not used */
	struct config_alb	alb;		 /* arn NULL: not used */
	struct config_aws	aws;
	struct config_mail	mail;
	struct config_webhook  *webhooks;
	size_t			nwebhooks;
	struct config_user     *users;
	size_t			nusers;
	struct config_group    *groups;
	size_t			ngroups;
	struct config_check    *checks;
	size_t			nchecks;
	struct config_app      *apps;
	size_t			napps;
	struct config_registry *registries;
	size_t			nregistries;
	int			promotion_parallel_blobs; /* default 4 */
	int64_t			session_idle_timeout_ms;  /* default 8h */
	int64_t			session_lifetime_ms;	  /* default 7d */
	int			sign_in_attempts;	  /* default 5 */
	int64_t			sign_in_window_ms;	  /* default 15m */
	int			connections_per_address;  /* default 32 */
	uint64_t		max_body_size;		  /* default 64KiB */
	/* The shipgate group whose members may act for others through
	 * the control socket (--as); NULL: nobody but root. */
	char *control_admin_group;
	/* The portal under a slow attack (portal.c's connection watch). */
	int64_t	 request_timeout_ms; /* default 10s */
	uint64_t body_min_rate;	     /* bytes/s, default 1KiB */
	int	 max_connections;    /* 0: from RLIMIT_NOFILE */
	/*
	 * The people an identity provider signed in (people.h): not
	 * owned, set by the daemon on each config it loads before anyone
	 * else sees it; NULL in tools and tests.
	 */
	struct people *people;
};

/* Every error found, each "file:line:column: key.path: message". */
struct config_errors {
	char **lines;
	size_t n;
};

/*
 * Loads and checks a configuration file.  Returns NULL and fills errors
 * (all of them, not only the first) when the file is unreadable or wrong.
 * The caller frees the result with config_free and the errors with
 * config_errors_free.
 */
struct config *config_load(const char *path, struct config_errors *);
/* The same from a buffer; `name` stands for the file in messages. */
struct config *config_load_buffer(const char *name, const char *data,
    size_t len, struct config_errors *);
void	       config_free(struct config *);
void	       config_errors_free(struct config_errors *);

/* Look-ups; NULL when absent.  config_find_user finds a configured user
 * first, else a person signed in by the identity provider (people). */
const struct config_app *config_find_app(const struct config *, const char *);
const struct config_environment *
config_find_environment(const struct config_app *, const char *);
/* A freeze of the file as the instants it runs between: from midnight of
 * its first day to midnight after its last, in its zone (unix ms). */
void config_freeze_span(const struct config_freeze *, int64_t *from_ms,
    int64_t *to_ms);
const struct config_user *config_find_user(const struct config *, const char *);
const struct config_check *config_find_check(const struct config *,
    const char *);
const char *config_endpoint(const struct config *, const char *service);
int	    config_user_in_group(const struct config_user *, const char *group);
const struct config_group *config_find_group(const struct config *,
    const char *name);
/* How long a person an identity provider signed in is mailed after
 * their last sign-in (auth.oidc or auth.alb's remember_days). */
int64_t config_people_remember_ms(const struct config *);
/*
 * The shipgate groups a provider's groups map to, through a mapping
 * (config.oidc.groups, config.alb.groups), without repeats, in *out (a
 * NULL-terminated array of the config's strings; the caller frees the
 * array only).  Returns how many.
 */
size_t config_map_groups(const struct config_kvs *,
    const char *const *provider_groups, const char ***out);
/*
 * The user a Unix user is (the control socket's peer): the one whose
 * unix_uid is uid, else whose unix_user is name, else the one called
 * name that gives neither key.  name is NULL when uid has no passwd
 * entry.
 */
const struct config_user *config_find_unix_user(const struct config *,
    unsigned int uid, const char *name);
/*
 * Whether a user's sign-ins must end when the configuration goes from
 * old to new (new NULL: the user is gone): a changed password_hash, or a
 * group taken away.  Adding a group changes nothing.
 */
int config_user_credentials_changed(const struct config_user *old,
    const struct config_user *new);
/*
 * 1 if the environment's configuration names the check (in its checks
 * or release_checks): a check's secrets go only to such environments.
 */
int config_environment_allows_check(const struct config_environment *,
    const char *check);
/* 1 if the environment lists the parameter in release_may_set. */
int config_environment_release_may_set(const struct config_environment *,
    const char *param);
/* 1 if the SMTP transport sends its password without TLS. */
int config_mail_plaintext_auth(const struct config_mail *);
/* The registries: entry for a host; NULL when absent (e.g. ECR). */
const struct config_registry *config_find_registry(const struct config *,
    const char *host);
/* 1 if `event` is a webhook event name (approval_needed, deployed, ...). */
int config_webhook_event_known(const char *event);

/*
 * Calls fn for every key of the schema, with its path ("apps[].name",
 * "checks.*[].request.url"), type, default (NULL if none) and whether it
 * is required: the man page test and documentation use it.
 */
void config_schema_walk(void (*fn)(const char *path, const char *type,
			    const char *def, int required, void *),
    void *arg);

/* "90s" -> 90000; -1 when malformed.  "50MiB" -> bytes; -1 likewise. */
int64_t config_parse_duration(const char *);
int64_t config_parse_size(const char *);

/* The default path: $(sysconfdir)/shipgate/shipgate.yaml. */
const char *config_default_path(void);

#endif
