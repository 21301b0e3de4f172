/*
 * STS (query protocol, XML replies): AssumeRole into an environment's
 * account and GetCallerIdentity, on the regional endpoint.  Part of the
 * credential layer (aws-creds-role.c assumes roles through it), so it
 * sits with the aws core rather than among the services; the doctor
 * uses GetCallerIdentity.
 *
 * Each call is an operation of aws-op.h: it either fails synchronously
 * (NULL, *cause set, the callback never called) or calls its callback
 * exactly once, from a later loop iteration.  The callback gets the client's
 * reply (reply->error is AWS_OK or AWS_E*; reply->message names service,
 * operation, AWS code, message and request id) and, on success only, a
 * result the callback now owns and releases with its _free function (NULL on
 * error).  The returned op may be cancelled with aws_op_cancel until the
 * callback runs.
 */
#ifndef SHIPGATE_AWS_STS_H
#define SHIPGATE_AWS_STS_H

#include "aws-client.h"
#include "aws-creds.h"

struct aws_op;
struct aws_op_desc;

/* The operations, for --list-operations; NULL-ended. */
extern const struct aws_op_desc *const sts_operations[];

/* Temporary credentials from AssumeRole; _free wipes the secrets. */
struct sts_assumed_role {
	struct aws_credentials creds;		 /* expires_ms always set */
	char		      *assumed_role_arn; /* arn:aws:sts::ACCT:
						      assumed-role/R/S */
	char		      *assumed_role_id;	 /* AROA...:session */
};
void sts_assumed_role_free(struct sts_assumed_role *);

/* The session durations AssumeRole accepts, in seconds (0 asks for
 * STS's default, an hour). */
#define STS_DURATION_MIN 900
#define STS_DURATION_MAX 43200

struct sts_assume_role_params {
	const char	 *role_arn;
	const char	 *session_name;	    /* [\w+=,.@-]{2,64} */
	const char	 *external_id;	    /* NULL: none */
	int		  duration_seconds; /* 0: STS's (3600) */
	const char	 *region;	    /* NULL: the client's */
	struct aws_creds *creds;	    /* NULL: the client's */
};

typedef void (*sts_assume_role_cb)(const struct aws_reply *,
    struct sts_assumed_role *, void *arg);

/* Fails synchronously on a bad role ARN or session name. */
struct aws_op *sts_assume_role(struct aws_client *,
    const struct sts_assume_role_params *, sts_assume_role_cb, void *arg,
    char **cause);

/* 1 when STS accepts the name as a RoleSessionName. */
int sts_session_name_valid(const char *);
/* 1 for an IAM role ARN: arn:PARTITION:iam::123456789012:role/NAME. */
int sts_role_arn_valid(const char *);

struct sts_caller_identity {
	char *account;
	char *arn;
	char *user_id;
};
void sts_caller_identity_free(struct sts_caller_identity *);

typedef void (*sts_caller_identity_cb)(const struct aws_reply *,
    struct sts_caller_identity *, void *arg);

/* creds and region may be NULL: the client's. */
struct aws_op *sts_get_caller_identity(struct aws_client *, struct aws_creds *,
    const char *region, sts_caller_identity_cb, void *arg, char **cause);

/*
 * Pure readers of the replies (the calls and the fuzzer use them): fill
 * the result, or -1 and *cause.  The AssumeRole bytes hold secrets: the
 * caller wipes them.
 */
int sts_parse_assume_role(struct sts_assumed_role *, const void *, size_t,
    char **cause);
int sts_parse_caller_identity(struct sts_caller_identity *, const void *,
    size_t, char **cause);

#endif
