/*
 * The AWS services shipgate speaks, one constant descriptor each: how to
 * sign for it, where it lives, and which wire protocol it uses.  Adding a
 * service is one svc-*.c file and one line in aws-services.c.
 */
#ifndef SHIPGATE_AWS_SERVICES_H
#define SHIPGATE_AWS_SERVICES_H

#include <stddef.h>

#include "aws-error.h" /* enum aws_protocol */

struct aws_service {
	const char	 *name;		   /* config key, logs, metrics */
	const char	 *title;	   /* "CloudFormation", for messages */
	const char	 *signing_name;	   /* credential scope */
	const char	 *endpoint_prefix; /* host name's first label(s) */
	enum aws_protocol protocol;
	const char	 *api_version;	 /* query protocol Version= */
	const char	 *target_prefix; /* JSON: X-Amz-Target prefix */
	const char	 *json_version;	 /* JSON: "1.0" or "1.1" */
	unsigned int	  sign_flags;	 /* AWS_SIGN_* (S3's rules) */
};

extern const struct aws_service aws_service_s3;
extern const struct aws_service aws_service_sqs;
extern const struct aws_service aws_service_sts;
extern const struct aws_service aws_service_cloudformation;
extern const struct aws_service aws_service_ecs;
extern const struct aws_service aws_service_ecr;
extern const struct aws_service aws_service_sesv2;

/* Every service, in a fixed order; NULL-terminated. */
extern const struct aws_service *const aws_services[];

/*
 * The endpoint URL for a service in a region, without a trailing slash:
 * `override` when given (VPC endpoints, the test sandbox), otherwise the
 * aws partition's regional endpoint (https://sqs.eu-west-1.amazonaws.com).
 * The caller frees the result.  NULL when the region is not a valid
 * region name (letters, digits and dashes).
 */
char *aws_service_endpoint(const struct aws_service *, const char *region,
    const char *override);

#endif
