/*
 * The service table.  Endpoint prefixes and signing names follow the
 * services' endpoint rules for the aws partition; API versions are those
 * the svc-*.c modules speak.
 */
#include <ctype.h>
#include <string.h>

#include "aws-services.h"
#include "aws-sign.h"
#include "xmalloc.h"

const struct aws_service aws_service_s3 = { "s3", "S3", "s3", "s3",
	AWS_PROTOCOL_REST_XML, "2006-03-01", NULL, NULL, AWS_SIGN_S3 };
const struct aws_service aws_service_sqs = { "sqs", "SQS", "sqs", "sqs",
	AWS_PROTOCOL_JSON, "2012-11-05", "AmazonSQS", "1.0", 0 };
const struct aws_service aws_service_sts = { "sts", "STS", "sts", "sts",
	AWS_PROTOCOL_QUERY, "2011-06-15", NULL, NULL, 0 };
const struct aws_service aws_service_cloudformation = { "cloudformation",
	"CloudFormation", "cloudformation", "cloudformation",
	AWS_PROTOCOL_QUERY, "2010-05-15", NULL, NULL, 0 };
const struct aws_service aws_service_ecs = { "ecs", "ECS", "ecs", "ecs",
	AWS_PROTOCOL_JSON, "2014-11-13", "AmazonEC2ContainerServiceV20141113",
	"1.1", 0 };
const struct aws_service aws_service_ecr = { "ecr", "ECR", "ecr", "api.ecr",
	AWS_PROTOCOL_JSON, "2015-09-21", "AmazonEC2ContainerRegistry_V20150921",
	"1.1", 0 };
const struct aws_service aws_service_sesv2 = { "sesv2", "SES", "ses", "email",
	AWS_PROTOCOL_REST_JSON, "2019-09-27", NULL, NULL, 0 };

const struct aws_service *const aws_services[] = {
	&aws_service_s3,
	&aws_service_sqs,
	&aws_service_sts,
	&aws_service_cloudformation,
	&aws_service_ecs,
	&aws_service_ecr,
	&aws_service_sesv2,
	NULL,
};

static int
aws_region_valid(const char *region)
{
	const char *p;

	if (region == NULL || *region == '\0' || strlen(region) > 32)
		return (0);
	for (p = region; *p != '\0'; p++)
		if (!islower((unsigned char)*p) &&
		    !isdigit((unsigned char)*p) && *p != '-')
			return (0);
	return (1);
}

char *
aws_service_endpoint(const struct aws_service *service, const char *region,
    const char *override)
{
	size_t len;

	if (override != NULL && *override != '\0') {
		len = strlen(override);
		while (len > 0 && override[len - 1] == '/')
			len--;
		return (xstrndup(override, len));
	}
	if (!aws_region_valid(region))
		return (NULL);
	return (xasprintf("https://%s.%s.amazonaws.com",
	    service->endpoint_prefix, region));
}
