/*
 * AWS shared configuration files (~/.aws/credentials, ~/.aws/config),
 * resolved the way the SDKs do it: a profile has static keys, or it
 * assumes a role (role_arn) from another profile (source_profile) or from
 * a credential source (Environment, Ec2InstanceMetadata).  Pure: the
 * caller reads the files and passes their text.
 */
#ifndef SHIPGATE_AWS_PROFILE_H
#define SHIPGATE_AWS_PROFILE_H

#include <stddef.h>

#define AWS_PROFILE_MAX_ROLES 8 /* longest role chain followed */

enum aws_profile_base {
	AWS_PROFILE_BASE_STATIC = 0,  /* keys from the files */
	AWS_PROFILE_BASE_ENVIRONMENT, /* credential_source = Environment */
	AWS_PROFILE_BASE_IMDS,	      /* credential_source =
					   Ec2InstanceMetadata */
};

struct aws_profile_role {
	char *role_arn;
	char *external_id;	/* may be NULL */
	char *session_name;	/* role_session_name, may be NULL */
	int   duration_seconds; /* 0: the service default */
};

/*
 * The resolved chain: the base credentials, then roles to assume in
 * order (the first with the base credentials, each next one with the
 * previous role's).  Secrets are wiped by aws_profile_free.
 */
struct aws_profile {
	char		       *name;
	enum aws_profile_base	base;
	char		       *access_key_id;	   /* STATIC only */
	char		       *secret_access_key; /* STATIC only */
	char		       *session_token;	   /* may be NULL */
	char		       *region;		   /* may be NULL */
	struct aws_profile_role roles[AWS_PROFILE_MAX_ROLES];
	size_t			nroles;
};

#define AWS_PROFILE_ENOTFOUND (-1) /* no such profile in either file */
#define AWS_PROFILE_EINVALID  (-2) /* incomplete, cyclic, malformed */

/*
 * Resolves `name` (NULL: "default") from the texts of the credentials
 * and config files (either may be NULL).  On success fills `out`, which
 * the caller releases with aws_profile_free.  On failure returns a
 * negative code and, if `cause` is not NULL, a message naming the
 * profile, file and line (caller frees).
 */
int  aws_profile_resolve(const char *credentials_text, const char *config_text,
     const char *name, struct aws_profile *out, char **cause);
void aws_profile_free(struct aws_profile *);

#endif
