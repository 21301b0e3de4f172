/*
 * Shared config/credentials profile resolution, as the SDKs do it.
 */
#include <stdlib.h>
#include <string.h>

#include "aws-profile.h"
#include "tap.h"

static const char *credentials = "# a comment\n"
				 "[default]\n"
				 "aws_access_key_id = AKIDDEFAULT\n"
				 "aws_secret_access_key = secretdefault\n"
				 "\n"
				 "[static-token]\n"
				 "AWS_Access_Key_Id=AKIDTOKEN\n"
				 "aws_secret_access_key=secrettoken\n"
				 "aws_session_token = tokentoken\n"
				 "\n"
				 "[half]\n"
				 "aws_access_key_id = AKIDHALF\n"
				 "\n"
				 "[self]\n"
				 "aws_access_key_id = AKIDSELF\n"
				 "aws_secret_access_key = secretself\n";

static const char
    *config = "[default]\n"
	      "region = eu-west-1\n"
	      "s3 =\n"
	      "    max_concurrent_requests = 20\n"
	      "[profile deployer]\n"
	      "role_arn = arn:aws:iam::111111111111:role/shipgate-deployer\n"
	      "source_profile = default\n"
	      "external_id = billing-int\n"
	      "role_session_name = shipgate\n"
	      "region = eu-west-3\n"
	      "[profile chained]\n"
	      "role_arn = arn:aws:iam::222222222222:role/second\n"
	      "source_profile = deployer\n"
	      "duration_seconds = 1800\n"
	      "[profile on-instance]\n"
	      "role_arn = arn:aws:iam::333333333333:role/r\n"
	      "credential_source = Ec2InstanceMetadata\n"
	      "[profile from-env]\n"
	      "role_arn = arn:aws:iam::333333333333:role/r\n"
	      "credential_source = Environment\n"
	      "[profile ecs]\n"
	      "role_arn = arn:aws:iam::333333333333:role/r\n"
	      "credential_source = EcsContainer\n"
	      "[profile loop-a]\n"
	      "role_arn = arn:aws:iam::1:role/a\n"
	      "source_profile = loop-b\n"
	      "[profile loop-b]\n"
	      "role_arn = arn:aws:iam::1:role/b\n"
	      "source_profile = loop-a\n"
	      "[profile orphan]\n"
	      "role_arn = arn:aws:iam::1:role/a\n"
	      "source_profile = missing\n"
	      "[profile both]\n"
	      "role_arn = arn:aws:iam::1:role/a\n"
	      "source_profile = default\n"
	      "credential_source = Environment\n"
	      "[profile neither]\n"
	      "role_arn = arn:aws:iam::1:role/a\n"
	      "[profile self]\n"
	      "role_arn = arn:aws:iam::444444444444:role/self\n"
	      "source_profile = self\n"
	      "[profile short]\n"
	      "role_arn = arn:aws:iam::1:role/a\n"
	      "source_profile = default\n"
	      "duration_seconds = 60\n"
	      "[sso-session corp]\n"
	      "sso_region = eu-west-1\n"
	      "[profile empty]\n";

static void
expect_error(const char *name, int code, const char *fragment)
{
	struct aws_profile p;
	char		  *cause = NULL;
	int		   rc;

	rc = aws_profile_resolve(credentials, config, name, &p, &cause);
	is_int(rc, code, "%s: refused with the right code", name);
	ok(cause != NULL && strstr(cause, fragment) != NULL,
	    "%s: the reason says \"%s\"", name, fragment);
	if (cause != NULL && strstr(cause, fragment) == NULL)
		tap_diag("cause: %s", cause);
	ok(p.access_key_id == NULL && p.nroles == 0,
	    "%s: nothing is left filled in", name);
	free(cause);
}

int
main(void)
{
	struct aws_profile p;
	char		  *cause = NULL;

	is_int(aws_profile_resolve(credentials, config, NULL, &p, NULL), 0,
	    "default profile resolves");
	is_str(p.access_key_id, "AKIDDEFAULT", "default: key id");
	is_str(p.secret_access_key, "secretdefault", "default: secret");
	ok(p.session_token == NULL, "default: no session token");
	is_str(p.region, "eu-west-1", "default: region from the config file");
	is_int((long long)p.nroles, 0, "default: no role");
	aws_profile_free(&p);

	is_int(aws_profile_resolve(credentials, config, "static-token", &p,
		   NULL),
	    0, "keys are case-insensitive; session token kept");
	is_str(p.access_key_id, "AKIDTOKEN", "static-token: key id");
	is_str(p.session_token, "tokentoken", "static-token: token");
	aws_profile_free(&p);

	is_int(aws_profile_resolve(credentials, config, "deployer", &p, NULL),
	    0, "role with a source profile");
	is_int(p.base, AWS_PROFILE_BASE_STATIC, "deployer: static base");
	is_str(p.access_key_id, "AKIDDEFAULT", "deployer: source's keys");
	is_int((long long)p.nroles, 1, "deployer: one role");
	is_str(p.roles[0].role_arn,
	    "arn:aws:iam::111111111111:role/shipgate-deployer",
	    "deployer: role arn");
	is_str(p.roles[0].external_id, "billing-int", "deployer: external id");
	is_str(p.roles[0].session_name, "shipgate", "deployer: session name");
	is_str(p.region, "eu-west-3", "deployer: its own region");
	aws_profile_free(&p);

	is_int(aws_profile_resolve(credentials, config, "chained", &p, NULL), 0,
	    "a chain of two roles");
	is_int((long long)p.nroles, 2, "chained: two roles");
	is_str(p.roles[0].role_arn,
	    "arn:aws:iam::111111111111:role/shipgate-deployer",
	    "chained: the source's role is assumed first");
	is_str(p.roles[1].role_arn, "arn:aws:iam::222222222222:role/second",
	    "chained: then its own");
	is_int(p.roles[1].duration_seconds, 1800, "chained: duration");
	ok(p.region == NULL, "chained: no region of its own");
	aws_profile_free(&p);

	is_int(aws_profile_resolve(credentials, config, "on-instance", &p,
		   NULL),
	    0, "credential_source Ec2InstanceMetadata");
	is_int(p.base, AWS_PROFILE_BASE_IMDS, "on-instance: IMDS base");
	ok(p.access_key_id == NULL, "on-instance: no static keys");
	aws_profile_free(&p);

	is_int(aws_profile_resolve(credentials, config, "from-env", &p, NULL),
	    0, "credential_source Environment");
	is_int(p.base, AWS_PROFILE_BASE_ENVIRONMENT, "from-env: env base");
	aws_profile_free(&p);

	is_int(aws_profile_resolve(credentials, config, "self", &p, NULL), 0,
	    "a profile may be its own source when it has keys");
	is_str(p.access_key_id, "AKIDSELF", "self: its own keys");
	is_int((long long)p.nroles, 1, "self: one role");
	aws_profile_free(&p);

	is_int(aws_profile_resolve(NULL, NULL, NULL, &p, &cause),
	    AWS_PROFILE_ENOTFOUND, "no files: not found");
	free(cause);
	cause = NULL;
	is_int(aws_profile_resolve(credentials, config, "sso-session corp", &p,
		   &cause),
	    AWS_PROFILE_ENOTFOUND, "an sso-session section is not a profile");
	free(cause);

	expect_error("nosuch", AWS_PROFILE_ENOTFOUND,
	    "profile nosuch not found");
	expect_error("half", AWS_PROFILE_EINVALID, "no aws_secret_access_key");
	expect_error("empty", AWS_PROFILE_EINVALID, "has no credentials");
	expect_error("ecs", AWS_PROFILE_EINVALID,
	    "credential_source EcsContainer is not supported");
	expect_error("loop-a", AWS_PROFILE_EINVALID, "loops back");
	expect_error("orphan", AWS_PROFILE_EINVALID,
	    "profile missing not found");
	expect_error("both", AWS_PROFILE_EINVALID,
	    "both source_profile and credential_source");
	expect_error("neither", AWS_PROFILE_EINVALID,
	    "neither source_profile nor credential_source");
	expect_error("short", AWS_PROFILE_EINVALID,
	    "duration_seconds must be 900 to 43200 (config file, line");
	return (tap_done());
}
