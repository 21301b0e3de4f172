/*
 * Permission rules from the config's groups, worded as the engine's.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "perm.h"
#include "tap.h"

static const char conf[] =
    "listen: 127.0.0.1:8080\n"
    "public_url: http://127.0.0.1:8080\n"
    "database: /nonexistent/x.db\n"
    "control_socket: /nonexistent/c.sock\n"
    "aws: {region: eu-west-1}\n"
    "users:\n"
    "  - {name: alice, email: a@x.example, groups: [integrators]}\n"
    "  - {name: bob, email: b@x.example, groups: [project-team]}\n"
    "  - {name: dave, email: d@x.example, groups: [operators]}\n"
    "apps:\n"
    "  - name: billing\n"
    "    source: {bucket: billing-drops}\n"
    "    environments:\n"
    "      - name: int\n"
    "        account: \"111111111111\"\n"
    "        role_arn: arn:aws:iam::111111111111:role/r\n"
    "        stack: billing-int\n"
    "        approvers: [integrators]\n"
    "        gate: [integrators]\n"
    "      - name: prod\n"
    "        account: \"333333333333\"\n"
    "        role_arn: arn:aws:iam::333333333333:role/r\n"
    "        stack: billing-prod\n"
    "        approvers: [project-team]\n"
    "        allow_self_approval: false\n";

static void
expect(int got, int want, char **rp, const char *want_reason, const char *name)
{
	char *reason = *rp;

	ok(got == want, "%s: %s", name, want ? "allowed" : "refused");
	if (want_reason != NULL)
		is_str(reason, want_reason, "%s: the reason", name);
	else
		ok(reason == NULL, "%s: no reason", name);
	free(reason);
}

int
main(void)
{
	struct config_errors errors = { 0 };
	struct config	    *c;
	char		    *r;
	size_t		     i;

	c = config_load_buffer("perm.yaml", conf, sizeof conf - 1, &errors);
	if (c == NULL) {
		for (i = 0; i < errors.n; i++)
			tap_diag("%s", errors.lines[i]);
		config_errors_free(&errors);
		tap_bail("the test's config does not load");
	}
	expect(perm_may_approve(c, "alice", "billing", "int", "bob", &r), 1, &r,
	    NULL, "alice approves int");
	expect(perm_may_approve(c, "bob", "billing", "int", NULL, &r), 0, &r,
	    "bob may not approve int: not in integrators", "bob approves int");
	expect(perm_may_approve(c, "bob", "billing", "prod", "alice", &r), 1,
	    &r, NULL, "bob approves prod of alice's release");
	expect(perm_may_approve(c, "bob", "billing", "prod", "bob", &r), 0, &r,
	    "bob may not approve prod: the release's author may not approve "
	    "it there",
	    "bob approves his own release in prod");
	expect(perm_may_approve(c, "bob", "billing", "prod", "b@x.example", &r),
	    0, &r,
	    "bob may not approve prod: the release's author may not "
	    "approve it there",
	    "bob approves his own release by e-mail");
	expect(perm_may_approve(c, "bob", "billing", "prod", " BOB ", &r), 0,
	    &r,
	    "bob may not approve prod: the release's author may not "
	    "approve it there",
	    "bob approves his own release, name in capitals");
	expect(perm_may_approve(c, "bob", "billing", "prod",
		   "Bob Builder <B@X.Example>", &r),
	    0, &r,
	    "bob may not approve "
	    "prod: the release's author may not approve it there",
	    "bob approves his own release as Name <E-MAIL>");
	expect(perm_may_approve(c, "bob", "billing", "prod", "bobby", &r), 1,
	    &r, NULL, "another author whose name starts like bob's");
	expect(perm_may_approve(c, "bob", "billing", "prod", "b@x.example.org",
		   &r),
	    1, &r, NULL, "another author whose e-mail starts like bob's");
	expect(perm_may_approve(c, "alice", "billing", "int", "alice", &r), 1,
	    &r, NULL, "self-approval allowed in int");
	expect(perm_may_approve(c, "mallory", "billing", "int", NULL, &r), 0,
	    &r, "mallory is not a configured user", "an unknown user");
	expect(perm_may_approve(c, "alice", "billing", "stg", NULL, &r), 0, &r,
	    "billing stg is not configured", "an unknown environment");
	expect(perm_may_approve(c, "alice", "nope", "int", NULL, &r), 0, &r,
	    "nope int is not configured", "an unknown app");
	expect(perm_may_approve(c, NULL, "billing", "int", NULL, &r), 0, &r,
	    "(nobody) is not a configured user", "nobody");

	expect(perm_may_reject(c, "dave", "billing", "int", 0, &r), 1, &r, NULL,
	    "an operator rejects");
	expect(perm_may_reject(c, "bob", "billing", "int", 0, &r), 0, &r,
	    "bob may not reject int: not in integrators or operators",
	    "bob rejects int");
	expect(perm_may_reject(c, "bob", "billing", "prod", 1, &r), 0, &r,
	    "bob may not reject prod: not in (no group configured) or "
	    "operators",
	    "prod has no gate group");

	expect(perm_may_authorise(c, "alice", "billing", "int", &r), 1, &r,
	    NULL, "alice authorises beyond int");
	expect(perm_may_authorise(c, "dave", "billing", "int", &r), 0, &r,
	    "dave may not authorise promotion beyond int: not in integrators",
	    "dave authorises");

	expect(perm_is_operator(c, "dave", "cancel run 4", &r), 1, &r, NULL,
	    "dave is an operator");
	expect(perm_is_operator(c, "alice", "cancel run 4", &r), 0, &r,
	    "alice may not cancel run 4: not in operators", "alice is not");
	ok(perm_may_approve(c, "bob", "billing", "int", NULL, NULL) == 0,
	    "reason may be NULL");
	config_free(c);
	return (tap_done());
}
