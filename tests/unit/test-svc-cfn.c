/*
 * svc-cfn: the pure parts as tables (AWS's own examples rendered as the
 * query protocol's XML, the change summary, the description's cut), then
 * a change set's whole life against the fake AWS endpoint, with the ECS
 * service the stack creates, injected failures and the circuit breaker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "aws-op.h"
#include "buf.h"
#include "log.h"
#include "svc-cfn.h"
#include "svc-ecs.h"
#include "svc-fake-env.h"
#include "tap.h"
#include "xmalloc.h"
#include "xml.h"

/* ------------------------------------------------------------ examples */

/* Renders a JSON value as the query protocol's XML (lists as <member>). */
static void
xml_value(struct buf *b, const char *name, json_t *v)
{
	const char *k, *p;
	json_t	   *x;
	size_t	    i;

	if (json_is_null(v))
		return;
	buf_printf(b, "<%s>", name);
	if (json_is_object(v)) {
		json_object_foreach(v, k, x)
			xml_value(b, k, x);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			xml_value(b, "member", x);
	} else if (json_is_string(v)) {
		for (p = json_string_value(v); *p != '\0'; p++) {
			if (*p == '<')
				buf_appends(b, "&lt;");
			else if (*p == '&')
				buf_appends(b, "&amp;");
			else
				buf_append(b, p, 1);
		}
	} else if (json_is_integer(v))
		buf_printf(b, "%lld", (long long)json_integer_value(v));
	else if (json_is_true(v))
		buf_appends(b, "true");
	else if (json_is_false(v))
		buf_appends(b, "false");
	else if (json_is_real(v))
		buf_printf(b, "%.17g", json_real_value(v));
	buf_printf(b, "</%s>", name);
}

static char *
xml_reply(const char *op, json_t *result)
{
	struct buf  b;
	const char *k;
	json_t	   *x;

	buf_init(&b, 1 << 24);
	buf_printf(&b,
	    "<%sResponse xmlns=\"http://cloudformation.amazonaws.com"
	    "/doc/2010-05-15/\"><%sResult>",
	    op, op);
	json_object_foreach(result, k, x)
		xml_value(&b, k, x);
	buf_printf(&b,
	    "</%sResult><ResponseMetadata><RequestId>r-1</RequestId>"
	    "</ResponseMetadata></%sResponse>",
	    op, op);
	return (buf_take(&b, NULL));
}

static json_t *
load_example(const char *name)
{
	const char  *shared = getenv("SHIPGATE_SHARED");
	char	     path[4096];
	json_error_t err;
	json_t	    *j;

	snprintf(path, sizeof path, "%s/testdata/cfn/aws-examples/%s", shared,
	    name);
	if ((j = json_load_file(path, 0, &err)) == NULL)
		ok(0, "load %s: %s", name, err.text);
	return (j);
}

/* Fields the examples carry that shipgate does not keep, and why. */
static int
deliberately_unmapped(const char *key)
{
	/* Notifications and rollback triggers are not shipgate's concern. */
	return (strcmp(key, "NotificationARNs") == 0 ||
		strcmp(key, "RollbackConfiguration") == 0);
}

static int unmapped;

static void
cmp_str(const char *what, const char *got, json_t *want)
{
	if (json_is_null(want)) {
		is_str(got, NULL, "%s: absent", what);
		return;
	}
	is_str(got, json_string_value(want), "%s", what);
}

static void
cmp_time(const char *what, const struct timespec *got, json_t *want)
{
	struct timespec ts;

	memset(&ts, 0, sizeof ts);
	xml_parse_time(json_string_value(want), &ts);
	ok(got->tv_sec == ts.tv_sec && got->tv_nsec == ts.tv_nsec, "%s: %s",
	    what, json_string_value(want));
}

static void
cmp_strings(const char *what, char **got, size_t n, json_t *want)
{
	size_t i;
	int    same;

	same = json_array_size(want) == n;
	for (i = 0; same && i < n; i++)
		same = strcmp(got[i],
			   json_string_value(json_array_get(want, i))) == 0;
	ok(same, "%s: %zu values", what, json_array_size(want));
}

static void
not_mapped(const char *where, const char *key)
{
	if (deliberately_unmapped(key))
		return;
	unmapped++;
	ok(0, "%s.%s is mapped", where, key);
}

static void
cmp_detail(const char *ex, const struct cfn_change_detail *d, json_t *want)
{
	const char *k, *k2;
	json_t	   *v, *v2;
	char	    what[512];

	json_object_foreach(want, k, v) {
		snprintf(what, sizeof what, "%s: detail %s", ex, k);
		if (strcmp(k, "Evaluation") == 0)
			cmp_str(what, d->evaluation, v);
		else if (strcmp(k, "ChangeSource") == 0)
			cmp_str(what, d->change_source, v);
		else if (strcmp(k, "CausingEntity") == 0)
			cmp_str(what, d->causing_entity, v);
		else if (strcmp(k, "Target") == 0) {
			json_object_foreach(v, k2, v2) {
				snprintf(what, sizeof what, "%s: Target.%s", ex,
				    k2);
				if (strcmp(k2, "Attribute") == 0)
					cmp_str(what, d->target_attribute, v2);
				else if (strcmp(k2, "Name") == 0)
					cmp_str(what, d->target_name, v2);
				else if (strcmp(k2, "RequiresRecreation") == 0)
					cmp_str(what, d->requires_recreation,
					    v2);
				else
					not_mapped("Target", k2);
			}
		} else
			not_mapped("Details", k);
	}
}

static void
cmp_change(const char *ex, const struct cfn_resource_change *c, json_t *want)
{
	const char *k, *k2;
	json_t	   *v, *v2;
	char	    what[256];
	size_t	    i;

	json_object_foreach(want, k, v) {
		if (strcmp(k, "Type") == 0) {
			snprintf(what, sizeof what, "%s: change Type", ex);
			cmp_str(what, c->type, v);
			continue;
		}
		if (strcmp(k, "ResourceChange") != 0) {
			not_mapped("Changes", k);
			continue;
		}
		json_object_foreach(v, k2, v2) {
			snprintf(what, sizeof what, "%s: %s %s", ex,
			    c->logical_id, k2);
			if (strcmp(k2, "Action") == 0) {
				cmp_str(what, c->action_text, v2);
				is_str(cfn_action_name(c->action),
				    json_string_value(v2), "%s (enum)", what);
			} else if (strcmp(k2, "LogicalResourceId") == 0)
				cmp_str(what, c->logical_id, v2);
			else if (strcmp(k2, "PhysicalResourceId") == 0)
				cmp_str(what, c->physical_id, v2);
			else if (strcmp(k2, "ResourceType") == 0)
				cmp_str(what, c->resource_type, v2);
			else if (strcmp(k2, "Replacement") == 0) {
				cmp_str(what, c->replacement_text, v2);
				is_str(cfn_replacement_name(c->replacement),
				    json_string_value(v2), "%s (enum)", what);
			} else if (strcmp(k2, "Scope") == 0)
				cmp_strings(what, c->scope, c->nscope, v2);
			else if (strcmp(k2, "Details") == 0) {
				is_int(c->ndetails, json_array_size(v2),
				    "%s: count", what);
				for (i = 0;
				     i < c->ndetails && i < json_array_size(v2);
				     i++)
					cmp_detail(what, &c->details[i],
					    json_array_get(v2, i));
			} else
				not_mapped("ResourceChange", k2);
		}
	}
}

static void
example_change_set(const char *name)
{
	struct cfn_change_set *cs;
	json_t		      *ex, *v, *p;
	const char	      *k;
	char		      *xml, *next = NULL, *cause = NULL, what[256];
	size_t		       i;

	if ((ex = load_example(name)) == NULL)
		return;
	xml = xml_reply("DescribeChangeSet", ex);
	cs = xcalloc(1, sizeof *cs);
	if (!ok(cfn_parse_change_set_page(cs, xml, strlen(xml), &next,
		    &cause) == 0,
		"%s: parsed", name))
		printf("# %s\n", cause);
	json_object_foreach(ex, k, v) {
		snprintf(what, sizeof what, "%s: %s", name, k);
		if (strcmp(k, "ChangeSetName") == 0)
			cmp_str(what, cs->name, v);
		else if (strcmp(k, "ChangeSetId") == 0)
			cmp_str(what, cs->id, v);
		else if (strcmp(k, "StackId") == 0)
			cmp_str(what, cs->stack_id, v);
		else if (strcmp(k, "StackName") == 0)
			cmp_str(what, cs->stack_name, v);
		else if (strcmp(k, "Description") == 0)
			cmp_str(what, cs->description, v);
		else if (strcmp(k, "Status") == 0)
			cmp_str(what, cs->status, v);
		else if (strcmp(k, "ExecutionStatus") == 0)
			cmp_str(what, cs->execution_status, v);
		else if (strcmp(k, "StatusReason") == 0)
			cmp_str(what, cs->status_reason, v);
		else if (strcmp(k, "CreationTime") == 0)
			cmp_time(what, &cs->created, v);
		else if (strcmp(k, "Capabilities") == 0)
			cmp_strings(what, cs->capabilities, cs->ncapabilities,
			    v);
		else if (strcmp(k, "Tags") == 0)
			is_int(cs->ntags, json_array_size(v), "%s", what);
		else if (strcmp(k, "Parameters") == 0) {
			is_int(cs->nparameters, json_array_size(v), "%s: count",
			    what);
			for (i = 0;
			     i < cs->nparameters && i < json_array_size(v);
			     i++) {
				p = json_array_get(v, i);
				cmp_str(what, cs->parameters[i].key,
				    json_object_get(p, "ParameterKey"));
				cmp_str(what, cs->parameters[i].value,
				    json_object_get(p, "ParameterValue"));
			}
		} else if (strcmp(k, "Changes") == 0) {
			is_int(cs->nchanges, json_array_size(v), "%s: count",
			    what);
			for (i = 0; i < cs->nchanges && i < json_array_size(v);
			     i++)
				cmp_change(name, &cs->changes[i],
				    json_array_get(v, i));
		} else
			not_mapped("DescribeChangeSet", k);
	}
	is_str(next, NULL, "%s: no NextToken", name);
	cfn_change_set_free(cs);
	free(xml);
	free(cause);
	json_decref(ex);
}

static void
example_stack_events(void)
{
	struct cfn_stack_event_list  *l;
	const struct cfn_stack_event *e;
	json_t			     *ex, *events, *v, *w;
	const char		     *k;
	char			     *xml, *next = NULL, *cause = NULL;
	char			      what[256];
	size_t			      i;

	if ((ex = load_example("cfn-describe-stack-events-cli.json")) == NULL)
		return;
	xml = xml_reply("DescribeStackEvents", ex);
	l = xcalloc(1, sizeof *l);
	ok(cfn_parse_stack_events_page(l, xml, strlen(xml), &next, &cause) == 0,
	    "stack events example: parsed");
	is_str(next, json_string_value(json_object_get(ex, "NextToken")),
	    "stack events example: NextToken");
	events = json_object_get(ex, "StackEvents");
	is_int(l->n, json_array_size(events), "stack events example: count");
	json_object_foreach(ex, k, v)
		if (strcmp(k, "StackEvents") != 0 &&
		    strcmp(k, "NextToken") != 0)
			not_mapped("DescribeStackEvents", k);
	for (i = 0; i < l->n && i < json_array_size(events); i++) {
		e = &l->v[i];
		json_object_foreach(json_array_get(events, i), k, w) {
			snprintf(what, sizeof what, "event %zu %s", i, k);
			if (strcmp(k, "StackId") == 0)
				cmp_str(what, e->stack_id, w);
			else if (strcmp(k, "EventId") == 0)
				cmp_str(what, e->event_id, w);
			else if (strcmp(k, "StackName") == 0)
				cmp_str(what, e->stack_name, w);
			else if (strcmp(k, "LogicalResourceId") == 0)
				cmp_str(what, e->logical_id, w);
			else if (strcmp(k, "PhysicalResourceId") == 0)
				cmp_str(what, e->physical_id, w);
			else if (strcmp(k, "ResourceType") == 0)
				cmp_str(what, e->resource_type, w);
			else if (strcmp(k, "ResourceStatus") == 0)
				cmp_str(what, e->status, w);
			else if (strcmp(k, "ResourceStatusReason") == 0)
				cmp_str(what, e->status_reason, w);
			else if (strcmp(k, "Timestamp") == 0)
				cmp_time(what, &e->timestamp, w);
			else
				not_mapped("StackEvents", k);
		}
	}
	cfn_stack_event_list_free(l);
	free(next);
	free(cause);
	free(xml);
	json_decref(ex);
}

static void
test_examples(void)
{
	static const char *names[] = {
		"cfn-describe-change-set-add-remove.json",
		"cfn-describe-change-set-cli.json",
		"cfn-describe-change-set-direct-modification.json",
		"cfn-describe-change-set-parameter-change.json",
		"cfn-describe-change-set-replacement.json",
	};
	size_t i;

	if (getenv("SHIPGATE_SHARED") == NULL) {
		tap_skip("SHIPGATE_SHARED is not set: AWS's examples");
		return;
	}
	for (i = 0; i < sizeof names / sizeof *names; i++)
		example_change_set(names[i]);
	example_stack_events();
	is_int(unmapped, 0,
	    "every field of AWS's examples is mapped (but "
	    "NotificationARNs, RollbackConfiguration)");
}

/* ------------------------------------------------------------ pure tables */

static void
test_malformed(void)
{
	static const struct {
		const char *xml;
		const char *cause;
	} t[] = {
		{ "", "not XML" },
		{ "<DescribeChangeSetResponse><DescribeChangeSetResult>",
		    "not XML" },
		{ "<OtherResponse/>",
		    "no DescribeChangeSetResult in the reply" },
		{ "<DescribeChangeSetResponse><DescribeChangeSetResult>"
		  "<ChangeSetName>x</ChangeSetName></DescribeChangeSetResult>"
		  "</DescribeChangeSetResponse>",
		    "DescribeChangeSetResult/Status: missing" },
		{ "<DescribeChangeSetResponse><DescribeChangeSetResult>"
		  "<Status>CREATE_COMPLETE</Status><CreationTime>yesterday"
		  "</CreationTime></DescribeChangeSetResult>"
		  "</DescribeChangeSetResponse>",
		    "CreationTime" },
		{ "<DescribeChangeSetResponse><DescribeChangeSetResult>"
		  "<Status>CREATE_COMPLETE</Status><Changes><member>"
		  "<ResourceChange><Action>Add</Action></ResourceChange>"
		  "</member></Changes></DescribeChangeSetResult>"
		  "</DescribeChangeSetResponse>",
		    "LogicalResourceId" },
		{ "<!DOCTYPE x [<!ENTITY a \"b\">]><DescribeChangeSetResponse/>",
		    "DOCTYPE" },
	};
	struct cfn_change_set *cs;
	char		      *next, *cause;
	size_t		       i;
	int		       rc;

	for (i = 0; i < sizeof t / sizeof *t; i++) {
		cs = xcalloc(1, sizeof *cs);
		next = cause = NULL;
		rc = cfn_parse_change_set_page(cs, t[i].xml, strlen(t[i].xml),
		    &next, &cause);
		ok(rc == -1 && cause != NULL &&
			strstr(cause, t[i].cause) != NULL && next == NULL,
		    "malformed reply %zu: %s", i,
		    cause != NULL ? cause : "(none)");
		cfn_change_set_free(cs);
		free(cause);
	}
}

static void
test_summary(void)
{
	static const struct {
		const char *changes; /* "Action:Replacement:id ..." */
		size_t	    adds, modifies, removes;
		const char *text;
	} t[] = {
		{ "", 0, 0, 0, "0 to add, 0 to modify, 0 to remove" },
		{ "Add::Cluster Add::TaskDef Add::Service", 3, 0, 0,
		    "3 to add, 0 to modify, 0 to remove" },
		{ "Modify:True:TaskDef Modify:False:Service", 0, 2, 0,
		    "0 to add, 2 to modify, 0 to remove; replaced: TaskDef" },
		{ "Modify:Conditional:Db Remove::Old Add::New", 1, 1, 1,
		    "1 to add, 1 to modify, 1 to remove; maybe replaced: Db" },
		{ "Modify:True:A Modify:True:B Import::C Dynamic::D", 0, 2, 0,
		    "0 to add, 2 to modify, 0 to remove, 1 to import, "
		    "1 dynamic; replaced: A, B" },
		{ "Frobnicate::X", 0, 0, 0,
		    "0 to add, 0 to modify, 0 to remove, 1 other" },
	};
	struct cfn_change_set	   cs;
	struct cfn_resource_change ch[8];
	struct cfn_change_summary  s;
	char			  *copy, *tok, *save, *a, *r, *text;
	size_t			   i, n;

	for (i = 0; i < sizeof t / sizeof *t; i++) {
		memset(&cs, 0, sizeof cs);
		memset(ch, 0, sizeof ch);
		copy = xstrdup(t[i].changes);
		n = 0;
		for (tok = strtok_r(copy, " ", &save); tok != NULL;
		     tok = strtok_r(NULL, " ", &save)) {
			a = tok;
			r = strchr(a, ':');
			*r++ = '\0';
			ch[n].logical_id = strchr(r, ':') + 1;
			*strchr(r, ':') = '\0';
			ch[n].action = cfn_action_from_name(a);
			ch[n].replacement = cfn_replacement_from_name(r);
			n++;
		}
		cs.changes = ch;
		cs.nchanges = n;
		cfn_change_summary_init(&s, &cs);
		ok(s.adds == t[i].adds && s.modifies == t[i].modifies &&
			s.removes == t[i].removes,
		    "summary %zu: counts", i);
		text = cfn_change_summary_text(&s, &cs);
		is_str(text, t[i].text, "summary %zu: text", i);
		free(text);
		cfn_change_summary_clear(&s);
		free(copy);
	}
}

static int
valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int		     n;

	while (*p != '\0') {
		if (*p < 0x80)
			n = 0;
		else if ((*p & 0xe0) == 0xc0)
			n = 1;
		else if ((*p & 0xf0) == 0xe0)
			n = 2;
		else if ((*p & 0xf8) == 0xf0)
			n = 3;
		else
			return (0);
		p++;
		while (n-- > 0)
			if ((*p++ & 0xc0) != 0x80)
				return (0);
	}
	return (1);
}

static void
test_truncate(void)
{
	static const struct {
		const char *in;
		size_t	    max;
		const char *out;
	} t[] = {
		{ "1.4.2 — Fix rounding", 1024, "1.4.2 — Fix rounding" },
		{ "abcdefghij", 10, "abcdefghij" },
		{ "abcdefghijk", 10, "abcdefg..." },
		{ "abcdef\xc3\xa9xyz", 11, "abcdef\xc3\xa9xyz" },
		{ "abcdef\xc3\xa9xyzw", 10, "abcdef..." },
		{ "abcde\xc3\xa9xyzw", 10, "abcde\xc3\xa9..." },
		{ "ab\xf0\x9f\x9a\x80\xf0\x9f\x9a\x80zz", 10,
		    "ab\xf0\x9f\x9a\x80..." },
		{ "a\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 8,
		    "a\xe2\x82\xac..." },
		{ "bad \xff\xfe byte", 1024, "bad ?? byte" },
		{ "cut \xe2\x82", 1024, "cut ??" },
		{ "over\xc0\xaflong", 1024, "over??long" },
		{ "line\nnext\ttab\x01\x7f", 1024, "line\nnext\ttab??" },
		{ "", 1024, "" },
	};
	char  *out, *big;
	size_t i;

	for (i = 0; i < sizeof t / sizeof *t; i++) {
		out = cfn_description_truncate(t[i].in, t[i].max);
		is_str(out, t[i].out, "description cut %zu", i);
		ok(strlen(out) <= t[i].max && valid_utf8(out),
		    "description cut %zu: fits, valid UTF-8", i);
		free(out);
	}
	/* 600 two-byte characters: 1200 bytes, cut at 1024. */
	big = xcalloc(1, 1201);
	for (i = 0; i < 600; i++)
		memcpy(big + 2 * i, "\xc3\xa9", 2);
	out = cfn_description_truncate(big, CFN_DESCRIPTION_MAX);
	ok(strlen(out) <= CFN_DESCRIPTION_MAX && strlen(out) >= 1020 &&
		valid_utf8(out) && strcmp(out + strlen(out) - 3, "...") == 0,
	    "1200 bytes of é cut to %zu bytes on a character boundary",
	    strlen(out));
	free(out);
	free(big);
}

static void
test_first_failure(void)
{
	static const struct {
		const char *events; /* newest first: "Id:STATUS ..." */
		const char *want;   /* logical id, or NULL */
	} t[] = {
		{ "", NULL },
		{ "stack:UPDATE_COMPLETE Svc:UPDATE_COMPLETE", NULL },
		{ "stack:UPDATE_ROLLBACK_COMPLETE Svc:UPDATE_FAILED "
		  "Task:UPDATE_FAILED stack:UPDATE_IN_PROGRESS",
		    "Task" },
		{ "stack:ROLLBACK_COMPLETE Db:DELETE_FAILED Svc:CREATE_FAILED "
		  "stack:CREATE_IN_PROGRESS",
		    "Svc" },
		{ "stack:UPDATE_ROLLBACK_FAILED", NULL },
	};
	struct cfn_stack_event_list   l;
	struct cfn_stack_event	      ev[8];
	const struct cfn_stack_event *e;
	char			     *copy, *tok, *save, *colon;
	/* The events' fields are char *, being a reply's. */
	static char stack_type[] = "AWS::CloudFormation::Stack";
	static char service_type[] = "AWS::ECS::Service";
	size_t	    i;

	for (i = 0; i < sizeof t / sizeof *t; i++) {
		memset(&l, 0, sizeof l);
		memset(ev, 0, sizeof ev);
		copy = xstrdup(t[i].events);
		for (tok = strtok_r(copy, " ", &save); tok != NULL;
		     tok = strtok_r(NULL, " ", &save)) {
			colon = strchr(tok, ':');
			*colon = '\0';
			ev[l.n].logical_id = tok;
			ev[l.n].status = colon + 1;
			ev[l.n].resource_type = strcmp(tok, "stack") == 0 ?
						    stack_type :
						    service_type;
			l.n++;
		}
		l.v = ev;
		e = cfn_stack_events_first_failure(&l);
		is_str(e != NULL ? e->logical_id : NULL, t[i].want,
		    "first failure %zu", i);
		free(copy);
	}
}

/* The statuses as enums: every status the engine acts on, one class. */
static void
test_status_states(void)
{
	static const struct {
		const char	    *status;
		enum cfn_stack_state state;
	} stacks[] = {
		{ "CREATE_COMPLETE", CFN_STACK_OK },
		{ "UPDATE_COMPLETE", CFN_STACK_OK },
		{ "IMPORT_COMPLETE", CFN_STACK_OK },
		{ "UPDATE_IN_PROGRESS", CFN_STACK_OTHER },
		{ "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", CFN_STACK_OTHER },
		{ "REVIEW_IN_PROGRESS", CFN_STACK_OTHER },
		{ "DELETE_COMPLETE", CFN_STACK_OTHER },
		{ "UPDATE_ROLLBACK_IN_PROGRESS", CFN_STACK_ROLLBACK },
		{ "UPDATE_ROLLBACK_COMPLETE", CFN_STACK_ROLLBACK },
		{ "ROLLBACK_COMPLETE", CFN_STACK_ROLLBACK },
		{ "UPDATE_ROLLBACK_FAILED", CFN_STACK_ROLLBACK },
		{ "CREATE_FAILED", CFN_STACK_FAILED },
		{ "DELETE_FAILED", CFN_STACK_FAILED },
		{ "SOMETHING_NEW", CFN_STACK_OTHER },
		{ NULL, CFN_STACK_OTHER },
	};
	static const struct {
		const char		 *status;
		enum cfn_change_set_state state;
	} sets[] = {
		{ "CREATE_PENDING", CFN_CHANGE_SET_OTHER },
		{ "CREATE_IN_PROGRESS", CFN_CHANGE_SET_OTHER },
		{ "CREATE_COMPLETE", CFN_CHANGE_SET_CREATED },
		{ "FAILED", CFN_CHANGE_SET_FAILED },
		{ "DELETE_COMPLETE", CFN_CHANGE_SET_DELETED },
		{ "DELETE_FAILED", CFN_CHANGE_SET_DELETED },
		{ NULL, CFN_CHANGE_SET_OTHER },
	};
	static const struct {
		const char		*status;
		enum cfn_execution_state state;
	} execs[] = {
		{ "AVAILABLE", CFN_EXECUTION_AVAILABLE },
		{ "UNAVAILABLE", CFN_EXECUTION_UNAVAILABLE },
		{ "EXECUTE_IN_PROGRESS", CFN_EXECUTION_STARTED },
		{ "EXECUTE_COMPLETE", CFN_EXECUTION_STARTED },
		{ "EXECUTE_FAILED", CFN_EXECUTION_STARTED },
		{ "OBSOLETE", CFN_EXECUTION_OBSOLETE },
		{ NULL, CFN_EXECUTION_OTHER },
	};
	size_t i;

	for (i = 0; i < sizeof stacks / sizeof *stacks; i++)
		ok(cfn_stack_state(stacks[i].status) == stacks[i].state,
		    "stack state of %s",
		    stacks[i].status != NULL ? stacks[i].status : "none");
	for (i = 0; i < sizeof sets / sizeof *sets; i++)
		ok(cfn_change_set_state(sets[i].status) == sets[i].state,
		    "change set state of %s",
		    sets[i].status != NULL ? sets[i].status : "none");
	for (i = 0; i < sizeof execs / sizeof *execs; i++)
		ok(cfn_execution_state(execs[i].status) == execs[i].state,
		    "execution state of %s",
		    execs[i].status != NULL ? execs[i].status : "none");
}

static void
test_predicates(void)
{
	static const struct {
		const char *status;
		int	    final, ok;
	} st[] = {
		{ "CREATE_COMPLETE", 1, 1 },
		{ "UPDATE_COMPLETE", 1, 1 },
		{ "IMPORT_COMPLETE", 1, 1 },
		{ "CREATE_IN_PROGRESS", 0, 0 },
		{ "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", 0, 0 },
		{ "UPDATE_ROLLBACK_IN_PROGRESS", 0, 0 },
		{ "UPDATE_ROLLBACK_COMPLETE", 1, 0 },
		{ "ROLLBACK_COMPLETE", 1, 0 },
		{ "ROLLBACK_FAILED", 1, 0 },
		{ "UPDATE_FAILED", 1, 0 },
		{ "DELETE_COMPLETE", 1, 0 },
		{ "REVIEW_IN_PROGRESS", 0, 0 },
	};
	struct cfn_change_set cs;
	struct aws_reply      r;
	size_t		      i;

	for (i = 0; i < sizeof st / sizeof *st; i++)
		ok(cfn_stack_status_final(st[i].status) == st[i].final &&
			cfn_stack_status_ok(st[i].status) == st[i].ok,
		    "stack status %s: final %d ok %d", st[i].status,
		    st[i].final, st[i].ok);
	test_status_states();
	ok(cfn_change_set_status_final("CREATE_COMPLETE") &&
		cfn_change_set_status_final("FAILED") &&
		!cfn_change_set_status_final("CREATE_PENDING") &&
		!cfn_change_set_status_final("CREATE_IN_PROGRESS"),
	    "change set statuses: final or not");
	memset(&cs, 0, sizeof cs);
	cs.status = (char[]){ "FAILED" };
	cs.status_reason = (char[]){
		"The submitted information didn't "
		"contain changes. Submit different information to create a "
		"change set."
	};
	ok(cfn_change_set_is_empty(&cs), "no-change FAILED is empty");
	cs.status_reason = (char[]){ "No updates are to be performed." };
	ok(cfn_change_set_is_empty(&cs), "No updates are to be performed: "
					 "empty");
	cs.status_reason = (char[]){ "Template format error: bad" };
	ok(!cfn_change_set_is_empty(&cs), "a template error is a failure");
	memset(&r, 0, sizeof r);
	r.error = AWS_EAWS;
	snprintf(r.aws.code, sizeof r.aws.code, "ValidationError");
	snprintf(r.aws.message, sizeof r.aws.message,
	    "Stack with id billing-int does not exist");
	ok(cfn_reply_stack_missing(&r), "stack missing: recognised");
	snprintf(r.aws.message, sizeof r.aws.message, "Template format error");
	ok(!cfn_reply_stack_missing(&r), "other ValidationError: not missing");
	ok(!cfn_reply_no_changes(&r), "a template error is not no-changes");
	snprintf(r.aws.message, sizeof r.aws.message,
	    "No updates are to be performed.");
	ok(cfn_reply_no_changes(&r), "ValidationError \"No updates are to be "
				     "performed.\": no changes");
	snprintf(r.aws.message, sizeof r.aws.message,
	    "The submitted "
	    "information didn't contain changes. Submit different information "
	    "to create a change set.");
	ok(cfn_reply_no_changes(&r), "ValidationError \"didn't contain "
				     "changes\": no changes");
	snprintf(r.aws.code, sizeof r.aws.code, "InvalidChangeSetStatus");
	ok(!cfn_reply_no_changes(&r), "the words under another code: not "
				      "no-changes");
	snprintf(r.aws.code, sizeof r.aws.code, "ValidationError");
	r.error = AWS_EHTTP;
	ok(!cfn_reply_no_changes(&r), "not an AWS error: not no-changes");
	r.error = AWS_EAWS;
	snprintf(r.aws.message, sizeof r.aws.message,
	    "Stack with id billing-int does not exist");
	ok(!cfn_reply_no_changes(&r), "stack missing: not no-changes");
	is_int(cfn_action_from_name("Remove"), CFN_ACTION_REMOVE,
	    "action from name");
	is_int(cfn_replacement_from_name(NULL), CFN_REPLACEMENT_NONE,
	    "absent replacement");
	is_int(cfn_replacement_from_name("Sometimes"), CFN_REPLACEMENT_UNKNOWN,
	    "unknown replacement");
}

/* ------------------------------------------------------------ the fake */

struct res {
	struct svc_env *env;
	int		done;
	int		error;
	int		attempts;
	char		code[128];
	char	       *message;
	int		no_changes; /* cfn_reply_no_changes */
	void	       *result;
};

static void
res_reset(struct res *r, struct svc_env *env)
{
	free(r->message);
	memset(r, 0, sizeof *r);
	r->env = env;
}

static void
res_reply(struct res *r, const struct aws_reply *reply, void *result)
{
	svc_env_called(r->env);
	r->done++;
	r->error = reply->error;
	r->attempts = reply->attempts;
	snprintf(r->code, sizeof r->code, "%s", reply->aws.code);
	r->no_changes = cfn_reply_no_changes(reply);
	free(r->message);
	r->message = reply->message != NULL ? xstrdup(reply->message) : NULL;
	r->result = result;
}

static void
ref_cb(const struct aws_reply *reply, struct cfn_change_set_ref *ref, void *arg)
{
	res_reply(arg, reply, ref);
}

static void
cs_cb(const struct aws_reply *reply, struct cfn_change_set *cs, void *arg)
{
	res_reply(arg, reply, cs);
}

static void
stacks_cb(const struct aws_reply *reply, struct cfn_stack_list *l, void *arg)
{
	res_reply(arg, reply, l);
}

static void
events_cb(const struct aws_reply *reply, struct cfn_stack_event_list *l,
    void *arg)
{
	res_reply(arg, reply, l);
}

static void
done_cb(const struct aws_reply *reply, void *arg)
{
	res_reply(arg, reply, NULL);
}

static void
services_cb(const struct aws_reply *reply, struct ecs_service_list *l,
    void *arg)
{
	res_reply(arg, reply, l);
}

/* Runs a started call to its callback; 0 when it started. */
static int
finish(struct svc_env *env, struct res *r, const void *started, char *cause)
{
	env->starting = 0;
	if (started == NULL) {
		ok(0, "call started: %s", cause != NULL ? cause : "?");
		free(cause);
		return (-1);
	}
	svc_env_wait(env, &r->done);
	return (0);
}

#define CALL(env, r, expr)                         \
	do {                                       \
		char *cause = NULL;                \
		res_reset((r), (env));             \
		(env)->starting = 1;               \
		finish((env), (r), (expr), cause); \
	} while (0)

static const char *TEMPLATE =
    "AWSTemplateFormatVersion: 2010-09-09\n"
    "Description: shipgate svc-cfn test\n"
    "Parameters:\n"
    "  ImageTag:\n"
    "    Type: String\n"
    "  Environment:\n"
    "    Type: String\n"
    "    Default: int\n"
    "    AllowedValues: [int, stg, prod]\n"
    "Resources:\n"
    "  Cluster:\n"
    "    Type: AWS::ECS::Cluster\n"
    "    Properties:\n"
    "      ClusterName: !Sub billing-${Environment}\n"
    "  TaskDef:\n"
    "    Type: AWS::ECS::TaskDefinition\n"
    "    Properties:\n"
    "      Family: billing-web\n"
    "      Cpu: \"256\"\n"
    "      Memory: \"512\"\n"
    "      NetworkMode: awsvpc\n"
    "      RequiresCompatibilities: [FARGATE]\n"
    "      ContainerDefinitions:\n"
    "        - Name: web\n"
    "          Image: !Sub \"${AWS::AccountId}.dkr.ecr.${AWS::Region}"
    ".amazonaws.com/billing/web:${ImageTag}\"\n"
    "          Essential: true\n"
    "  Service:\n"
    "    Type: AWS::ECS::Service\n"
    "    Properties:\n"
    "      ServiceName: web\n"
    "      Cluster: !Ref Cluster\n"
    "      LaunchType: FARGATE\n"
    "      DesiredCount: 2\n"
    "      TaskDefinition: !Ref TaskDef\n"
    "      DeploymentConfiguration:\n"
    "        DeploymentCircuitBreaker: {Enable: true, Rollback: true}\n"
    "      NetworkConfiguration:\n"
    "        AwsvpcConfiguration:\n"
    "          Subnets: [subnet-1]\n"
    "Outputs:\n"
    "  ServiceName:\n"
    "    Value: !GetAtt Service.Name\n";

#define STACK	 "billing-int"
#define POLL_MS	 15
#define POLL_MAX 2000 /* 30 s: only a broken fake gets there */

/* Creates a change set and waits for it to settle; returns it. */
static struct cfn_change_set *
make_change_set(struct svc_env *env, const char *name,
    enum cfn_change_set_type	      type, const char *template,
    const struct cfn_parameter_input *params, size_t nparams, const char *token)
{
	struct cfn_create_change_set_input in;
	struct cfn_change_set_ref	  *ref;
	struct cfn_change_set		  *cs = NULL;
	struct res			   r = { 0 };
	char				  *id;
	int				   i;

	memset(&in, 0, sizeof in);
	in.stack_name = STACK;
	in.change_set_name = name;
	in.type = type;
	in.template_body = template;
	in.parameters = params;
	in.nparameters = nparams;
	in.client_token = token;
	CALL(env, &r,
	    cfn_create_change_set(env->client, NULL, NULL, &in, ref_cb, &r,
		&cause));
	if (!ok(r.error == AWS_OK && r.result != NULL, "CreateChangeSet %s",
		name)) {
		printf("# %s\n", r.message);
		res_reset(&r, env);
		return (NULL);
	}
	ref = r.result;
	id = xstrdup(ref->id);
	cfn_change_set_ref_free(ref);
	for (i = 0; i < POLL_MAX; i++) {
		CALL(env, &r,
		    cfn_describe_change_set(env->client, NULL, NULL, NULL, id,
			cs_cb, &r, &cause));
		if (r.error != AWS_OK)
			break;
		cs = r.result;
		if (cfn_change_set_status_final(cs->status))
			break;
		cfn_change_set_free(cs);
		cs = NULL;
		svc_env_sleep_ms(POLL_MS);
	}
	ok(cs != NULL, "change set %s settled: %s", name,
	    cs != NULL ? cs->status : r.message);
	res_reset(&r, env);
	free(id);
	return (cs);
}

static struct cfn_stack_list *
describe_stack(struct svc_env *env)
{
	struct res r = { 0 };
	void	  *out;

	CALL(env, &r,
	    cfn_describe_stacks(env->client, NULL, NULL, STACK, stacks_cb, &r,
		&cause));
	out = r.result;
	res_reset(&r, env);
	return (out);
}

/* Polls the stack to a final status; records the ECS rollouts seen. */
static char *
wait_stack(struct svc_env *env, int *saw_failed, int *saw_in_progress)
{
	static const char *const services[] = { "web", NULL };
	struct cfn_stack_list	*l;
	struct ecs_service_list *sl;
	struct res		 r = { 0 };
	char			*status = NULL;
	size_t			 d;
	int			 i;

	for (i = 0; i < POLL_MAX; i++) {
		if ((l = describe_stack(env)) == NULL || l->n != 1)
			break;
		if (cfn_stack_status_final(l->v[0].status)) {
			status = xstrdup(l->v[0].status);
			cfn_stack_list_free(l);
			break;
		}
		cfn_stack_list_free(l);
		CALL(env, &r,
		    ecs_describe_services(env->client, NULL, NULL,
			"billing-int", services, services_cb, &r, &cause));
		if ((sl = r.result) != NULL && sl->n == 1) {
			for (d = 0; d < sl->v[0].ndeployments; d++) {
				if (sl->v[0].deployments[d].rollout_state ==
				    NULL)
					continue;
				if (saw_failed != NULL &&
				    strcmp(sl->v[0]
					       .deployments[d]
					       .rollout_state,
					"FAILED") == 0)
					*saw_failed = 1;
				if (saw_in_progress != NULL &&
				    strcmp(sl->v[0]
					       .deployments[d]
					       .rollout_state,
					"IN_PROGRESS") == 0)
					*saw_in_progress = 1;
			}
		}
		ecs_service_list_free(sl);
		res_reset(&r, env);
		svc_env_sleep_ms(POLL_MS);
	}
	return (status);
}

/* Executions of a change set by name, and ExecuteChangeSet calls. */
static long
executions_of(struct svc_env *env, const char *name, long *calls)
{
	struct fakeaws_reply fr;
	json_t		    *o, *v;
	const char	    *k;
	long		     n = -1;

	*calls = -1;
	fakeaws_control(&env->fake, "GET", "/_fake/cfn/executions", NULL, &fr);
	o = json_loads(fr.body != NULL ? fr.body : "", 0, NULL);
	json_object_foreach(o, k, v) {
		if (strcmp(json_string_value(json_object_get(v, "name")),
			name) == 0) {
			n = (long)json_integer_value(
			    json_object_get(v, "executions"));
			*calls = (long)json_integer_value(
			    json_object_get(v, "calls"));
		}
	}
	json_decref(o);
	free(fr.body);
	return (n);
}

static const struct cfn_change_detail *
find_detail(const struct cfn_resource_change *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->ndetails; i++)
		if (c->details[i].target_name != NULL &&
		    strcmp(c->details[i].target_name, name) == 0)
			return (&c->details[i]);
	return (NULL);
}

static const struct cfn_resource_change *
find_change(const struct cfn_change_set *cs, const char *logical)
{
	size_t i;

	for (i = 0; i < cs->nchanges; i++)
		if (strcmp(cs->changes[i].logical_id, logical) == 0)
			return (&cs->changes[i]);
	return (NULL);
}

static void
test_errors(struct svc_env *env)
{
	struct cfn_create_change_set_input in;
	struct res			   r = { 0 };
	struct aws_op			  *op;
	char				  *why = NULL, *big;

	CALL(env, &r,
	    cfn_describe_stacks(env->client, NULL, NULL, "nope", stacks_cb, &r,
		&cause));
	ok(r.error == AWS_EAWS && strcmp(r.code, "ValidationError") == 0 &&
		r.result == NULL,
	    "DescribeStacks of a missing stack: "
	    "ValidationError");
	ok(r.message != NULL &&
		strncmp(r.message,
		    "CloudFormation "
		    "DescribeStacks: ValidationError: Stack with id nope does not "
		    "exist (request ",
		    74) == 0 &&
		strstr(r.message, "unknown)") == NULL,
	    "the message names service, operation, code, text and "
	    "request id: %s",
	    r.message);
	CALL(env, &r,
	    cfn_describe_stack_events(env->client, NULL, NULL, "nope", NULL,
		events_cb, &r, &cause));
	ok(r.error == AWS_EAWS && strcmp(r.code, "ValidationError") == 0,
	    "DescribeStackEvents of a missing stack: ValidationError");
	CALL(env, &r,
	    cfn_describe_change_set(env->client, NULL, NULL, "nope", "cs-none",
		cs_cb, &r, &cause));
	ok(r.error == AWS_EAWS && strcmp(r.code, "ChangeSetNotFound") == 0,
	    "DescribeChangeSet of a missing change set: ChangeSetNotFound "
	    "(%s)",
	    r.message);

	memset(&in, 0, sizeof in);
	in.stack_name = STACK;
	in.change_set_name = "c0";
	in.type = CFN_CHANGE_SET_UPDATE;
	in.template_body = TEMPLATE;
	CALL(env, &r,
	    cfn_create_change_set(env->client, NULL, NULL, &in, ref_cb, &r,
		&cause));
	ok(r.error == AWS_EAWS && strcmp(r.code, "ValidationError") == 0,
	    "UPDATE change set of a missing stack: ValidationError (%s)",
	    r.message);
	in.template_body = NULL;
	op = cfn_create_change_set(env->client, NULL, NULL, &in, ref_cb, &r,
	    &why);
	ok(op == NULL && why != NULL, "no template: refused at once (%s)", why);
	free(why);
	why = NULL;
	big = xcalloc(1, CFN_TEMPLATE_BODY_MAX + 2);
	memset(big, '#', CFN_TEMPLATE_BODY_MAX + 1);
	in.template_body = big;
	op = cfn_create_change_set(env->client, NULL, NULL, &in, ref_cb, &r,
	    &why);
	ok(op == NULL && why != NULL && strstr(why, "51200") != NULL,
	    "template over 51,200 bytes: refused at once (%s)", why);
	free(why);
	why = NULL;
	free(big);

	/* The handle a start function returns stops the operation. */
	res_reset(&r, env);
	op = cfn_describe_stacks(env->client, NULL, NULL, NULL, stacks_cb, &r,
	    &why);
	ok(op != NULL, "DescribeStacks started (%s)", why != NULL ? why : "");
	free(why);
	if (op != NULL) {
		aws_op_cancel(op);
		svc_env_wait(env, &r.done);
	}
	ok(r.done == 1 && r.error == AWS_ECANCELLED && r.result == NULL,
	    "a cancelled operation calls back once, with AWS_ECANCELLED "
	    "(%s)",
	    r.message != NULL ? r.message : "");
	res_reset(&r, env);
}

static void
test_scenario(struct svc_env *env)
{
	static const char *const	   services[] = { "web", NULL };
	struct cfn_parameter_input	   p1[] = { { "ImageTag", "1.0", 0 } };
	struct cfn_parameter_input	   p2[] = { { "ImageTag", "2.0", 0 },
			{ "Environment", NULL, 1 } };
	struct cfn_parameter_input	   p3[] = { { "ImageTag", "3.0", 0 } };
	struct cfn_parameter_input	   p4[] = { { "ImageTag", "4.0", 0 } };
	struct cfn_create_change_set_input in;
	struct cfn_tag_input		  tags[] = { { "shipgate:run", "42" } };
	struct cfn_stack_events_bounds	  bounds;
	struct cfn_change_set		 *cs;
	struct cfn_change_set_ref	 *ref;
	struct cfn_stack_list		 *sl;
	struct cfn_stack_event_list	 *el;
	struct ecs_service_list		 *svl;
	const struct cfn_resource_change *c;
	const struct cfn_change_detail	 *d;
	const struct ecs_deployment	 *dep;
	const struct cfn_stack_event	 *ev;
	struct cfn_change_summary	  sum;
	struct res			  r = { 0 };
	char				 *desc, *status, *text, *csid = NULL;
	size_t				  i;
	int				  failed_seen = 0, progress_seen = 0;
	int				  found;
	long				  ncalls;

	/* Small pages, so every paginated read takes several calls. */
	fakeaws_control(&env->fake, "POST", "/_fake/config",
	    "{\"page_size\": {\"cloudformation:DescribeChangeSet\": 2, "
	    "\"cloudformation:DescribeStackEvents\": 4, "
	    "\"cloudformation:DescribeStacks\": 1}}",
	    NULL);

	/* A first change set (CREATE) with every input. */
	desc = xcalloc(1, 1400);
	memcpy(desc, "1.0 \xe2\x80\x94 ", 8);
	for (i = 8; i + 2 < 1399; i += 2)
		memcpy(desc + i, "\xc3\xa9", 2);
	memset(&in, 0, sizeof in);
	in.stack_name = STACK;
	in.change_set_name = "cs-1";
	in.type = CFN_CHANGE_SET_CREATE;
	in.template_body = TEMPLATE;
	in.parameters = p1;
	in.nparameters = 1;
	in.tags = tags;
	in.ntags = 1;
	in.capabilities = CFN_CAPABILITY_IAM | CFN_CAPABILITY_AUTO_EXPAND;
	in.description = desc;
	in.client_token = "run-42-int";
	CALL(env, &r,
	    cfn_create_change_set(env->client, NULL, NULL, &in, ref_cb, &r,
		&cause));
	ref = r.result;
	ok(r.error == AWS_OK && ref != NULL &&
		strncmp(ref->id,
		    "arn:aws:cloudformation:eu-west-1:000000000000:changeSet/cs-1/",
		    61) == 0 &&
		strncmp(ref->stack_id,
		    "arn:aws:cloudformation:"
		    "eu-west-1:000000000000:stack/billing-int/",
		    63) == 0,
	    "CreateChangeSet CREATE: ids (%s)", r.message);
	csid = ref != NULL ? xstrdup(ref->id) : xstrdup("?");
	cfn_change_set_ref_free(ref);
	CALL(env, &r,
	    cfn_create_change_set(env->client, NULL, NULL, &in, ref_cb, &r,
		&cause));
	ref = r.result;
	ok(ref != NULL && strcmp(ref->id, csid) == 0,
	    "the same ClientToken "
	    "gives the same change set");
	cfn_change_set_ref_free(ref);
	free(desc);

	for (i = 0; i < POLL_MAX; i++) {
		CALL(env, &r,
		    cfn_describe_change_set(env->client, NULL, NULL, STACK,
			"cs-1", cs_cb, &r, &cause));
		cs = r.result;
		if (cs == NULL || cfn_change_set_status_final(cs->status))
			break;
		cfn_change_set_free(cs);
		svc_env_sleep_ms(POLL_MS);
	}
	if (!ok(cs != NULL, "DescribeChangeSet by stack and name")) {
		printf("# %s\n", r.message);
		goto out;
	}
	is_str(cs->status, "CREATE_COMPLETE", "cs-1: CREATE_COMPLETE");
	is_str(cs->execution_status, "AVAILABLE", "cs-1: AVAILABLE");
	is_str(cs->id, csid, "cs-1: id");
	ok(cs->description != NULL &&
		strlen(cs->description) <= CFN_DESCRIPTION_MAX &&
		strncmp(cs->description, "1.0 \xe2\x80\x94 \xc3\xa9", 10) ==
		    0 &&
		strcmp(cs->description + strlen(cs->description) - 3, "...") ==
		    0,
	    "description cut to %zu bytes, as sent",
	    cs->description != NULL ? strlen(cs->description) : 0);
	is_int(cs->nchanges, 3, "three changes, read over two pages of two");
	cfn_change_summary_init(&sum, cs);
	is_int(sum.adds, 3, "summary: three to add");
	cfn_change_summary_clear(&sum);
	ok((c = find_change(cs, "TaskDef")) != NULL &&
		c->action == CFN_ACTION_ADD &&
		strcmp(c->resource_type, "AWS::ECS::TaskDefinition") == 0 &&
		c->replacement == CFN_REPLACEMENT_NONE &&
		c->physical_id == NULL,
	    "TaskDef: Add AWS::ECS::TaskDefinition, no replacement");
	ok(find_change(cs, "Service") != NULL &&
		find_change(cs, "Cluster") != NULL,
	    "Service and Cluster: Add");
	found = 0;
	for (i = 0; i < cs->nparameters; i++)
		if (strcmp(cs->parameters[i].key, "ImageTag") == 0 &&
		    strcmp(cs->parameters[i].value, "1.0") == 0)
			found = 1;
	ok(found, "parameters: ImageTag=1.0");
	ok(cs->ntags == 1 && strcmp(cs->tags[0].key, "shipgate:run") == 0 &&
		strcmp(cs->tags[0].value, "42") == 0,
	    "tags: shipgate:run=42");
	ok(cs->ncapabilities == 2 &&
		strcmp(cs->capabilities[0], "CAPABILITY_IAM") == 0,
	    "capabilities as sent");
	cfn_change_set_free(cs);

	/* Execute; again with the same token; again with another. */
	CALL(env, &r,
	    cfn_execute_change_set(env->client, NULL, NULL, NULL, csid,
		"exec-run-42", done_cb, &r, &cause));
	is_int(r.error, AWS_OK, "ExecuteChangeSet");
	CALL(env, &r,
	    cfn_execute_change_set(env->client, NULL, NULL, NULL, csid,
		"exec-run-42", done_cb, &r, &cause));
	is_int(r.error, AWS_OK,
	    "ExecuteChangeSet again, same token: "
	    "accepted");
	CALL(env, &r,
	    cfn_execute_change_set(env->client, NULL, NULL, NULL, csid,
		"exec-other", done_cb, &r, &cause));
	ok(r.error == AWS_EAWS && strcmp(r.code, "InvalidChangeSetStatus") == 0,
	    "ExecuteChangeSet with another token: InvalidChangeSetStatus "
	    "(%s)",
	    r.message);
	ok(executions_of(env, "cs-1", &ncalls) == 1 && ncalls == 3,
	    "three ExecuteChangeSet calls, one execution");

	status = wait_stack(env, NULL, NULL);
	is_str(status, "CREATE_COMPLETE", "stack CREATE_COMPLETE");
	free(status);
	sl = describe_stack(env);
	ok(sl != NULL && sl->n == 1 && sl->v[0].noutputs == 1 &&
		strcmp(sl->v[0].outputs[0].key, "ServiceName") == 0 &&
		strcmp(sl->v[0].outputs[0].value, "web") == 0,
	    "DescribeStacks: output ServiceName=web");
	ok(sl != NULL && sl->n == 1 && strcmp(sl->v[0].id, "") != 0 &&
		sl->v[0].created.tv_sec > 0 && sl->v[0].nparameters == 2 &&
		sl->v[0].change_set_id != NULL &&
		strcmp(sl->v[0].change_set_id, csid) == 0,
	    "DescribeStacks: id, creation time, parameters, change set");
	cfn_stack_list_free(sl);

	CALL(env, &r,
	    ecs_describe_services(env->client, NULL, NULL, "billing-int",
		services, services_cb, &r, &cause));
	svl = r.result;
	ok(svl != NULL && svl->n == 1 && svl->nfailures == 0,
	    "ECS DescribeServices after the stack: the service");
	if (svl != NULL && svl->n == 1) {
		dep = ecs_service_primary(&svl->v[0]);
		ok(dep != NULL &&
			strcmp(dep->rollout_state, "COMPLETED") == 0 &&
			dep->running == 2,
		    "primary deployment COMPLETED, "
		    "2 running");
		ok(svl->v[0].circuit_breaker &&
			svl->v[0].circuit_breaker_rollback,
		    "circuit breaker with rollback");
		ok(svl->v[0].nevents > 0 && strstr(svl->v[0].events[0].message,
						"steady state") != NULL,
		    "events, newest first: %s",
		    svl->v[0].nevents > 0 ? svl->v[0].events[0].message : "");
		ok(svl->v[0].task_definition != NULL &&
			strstr(svl->v[0].task_definition, "billing-web:1") !=
			    NULL,
		    "the service runs the template's task definition: %s",
		    svl->v[0].task_definition != NULL ?
			svl->v[0].task_definition :
			"(none)");
	}
	ecs_service_list_free(svl);

	/* UPDATE: a new image replaces the task definition. */
	if ((cs = make_change_set(env, "cs-2", CFN_CHANGE_SET_UPDATE, TEMPLATE,
		 p2, 2, NULL)) != NULL) {
		is_str(cs->status, "CREATE_COMPLETE", "cs-2: CREATE_COMPLETE");
		c = find_change(cs, "TaskDef");
		ok(c != NULL && c->action == CFN_ACTION_MODIFY &&
			c->replacement == CFN_REPLACEMENT_TRUE &&
			c->physical_id != NULL &&
			strstr(c->physical_id,
			    "task-definition/billing-web:1") != NULL,
		    "TaskDef: Modify, Replacement True, physical id");
		d = c != NULL ? find_detail(c, "ContainerDefinitions") : NULL;
		ok(d != NULL && strcmp(d->target_attribute, "Properties") == 0,
		    "TaskDef detail: Properties.ContainerDefinitions");
		c = find_change(cs, "Service");
		ok(c != NULL && c->action == CFN_ACTION_MODIFY &&
			c->replacement == CFN_REPLACEMENT_FALSE,
		    "Service: Modify, Replacement False");
		cfn_change_summary_init(&sum, cs);
		text = cfn_change_summary_text(&sum, cs);
		is_str(text,
		    "0 to add, 2 to modify, 0 to remove; replaced: "
		    "TaskDef",
		    "summary of the update");
		free(text);
		cfn_change_summary_clear(&sum);
		/* The reply is lost after the change set ran: the retry
		   carries the same token and is not a second execution. */
		fakeaws_control(&env->fake, "POST", "/_fake/faults",
		    "{\"service\": \"cloudformation\", \"operation\": "
		    "\"ExecuteChangeSet\", \"mode\": \"drop\", \"after\": "
		    "true}",
		    NULL);
		CALL(env, &r,
		    cfn_execute_change_set(env->client, NULL, NULL, STACK,
			"cs-2", "exec-2", done_cb, &r, &cause));
		is_int(r.error, AWS_OK,
		    "ExecuteChangeSet cs-2 by name: the "
		    "reply was dropped, the call sent again");
		ok(executions_of(env, "cs-2", &ncalls) == 1 && ncalls == 2,
		    "two ExecuteChangeSet calls (%ld), one execution", ncalls);
		cfn_change_set_free(cs);
		status = wait_stack(env, NULL, &progress_seen);
		is_str(status, "UPDATE_COMPLETE", "stack UPDATE_COMPLETE");
		free(status);
		if (!progress_seen)
			printf("# the rollout was never seen IN_PROGRESS\n");
	}
	CALL(env, &r,
	    ecs_describe_services(env->client, NULL, NULL, "billing-int",
		services, services_cb, &r, &cause));
	svl = r.result;
	if (ok(svl != NULL && svl->n == 1, "the service after the update")) {
		dep = ecs_service_primary(&svl->v[0]);
		ok(dep != NULL &&
			strcmp(dep->rollout_state, "COMPLETED") == 0 &&
			strstr(dep->task_definition, "billing-web:2") != NULL &&
			svl->v[0].ndeployments == 1,
		    "rollout COMPLETED on "
		    "revision 2");
	}
	ecs_service_list_free(svl);

	/* Nothing changes: FAILED with AWS's words; then delete it. */
	if ((cs = make_change_set(env, "cs-3", CFN_CHANGE_SET_UPDATE, TEMPLATE,
		 p2, 1, NULL)) != NULL) {
		is_str(cs->status, "FAILED", "no-change change set: FAILED");
		is_str(cs->status_reason,
		    "The submitted information didn't "
		    "contain changes. Submit different information to create "
		    "a change set.",
		    "no-change change set: AWS's reason");
		ok(cfn_change_set_is_empty(cs), "no-change: empty, not a "
						"failure");
		cfn_change_set_free(cs);
	}
	CALL(env, &r,
	    cfn_delete_change_set(env->client, NULL, NULL, STACK, "cs-3",
		done_cb, &r, &cause));
	is_int(r.error, AWS_OK, "DeleteChangeSet");
	/* Asynchronous, as on AWS: DELETE_PENDING, DELETE_IN_PROGRESS,
	   then gone. */
	for (i = 0; i < 500; i++) {
		CALL(env, &r,
		    cfn_describe_change_set(env->client, NULL, NULL, STACK,
			"cs-3", cs_cb, &r, &cause));
		cfn_change_set_free(r.result);
		r.result = NULL;
		if (r.error != AWS_OK)
			break;
		usleep(10000);
	}
	ok(r.error == AWS_EAWS && strcmp(r.code, "ChangeSetNotFound") == 0,
	    "the deleted change set: ChangeSetNotFound once deleted");

	/* The front ends that refuse the same update at once. */
	fakeaws_control(&env->fake, "POST", "/_fake/cfn/no-changes",
	    "{\"answer\": \"error\"}", NULL);
	memset(&in, 0, sizeof in);
	in.stack_name = STACK;
	in.change_set_name = "cs-3b";
	in.type = CFN_CHANGE_SET_UPDATE;
	in.template_body = TEMPLATE;
	in.parameters = p2;
	in.nparameters = 1;
	CALL(env, &r,
	    cfn_create_change_set(env->client, NULL, NULL, &in, ref_cb, &r,
		&cause));
	ok(r.error == AWS_EAWS && strcmp(r.code, "ValidationError") == 0 &&
		r.message != NULL &&
		strstr(r.message, "No updates are to be "
				  "performed.") != NULL,
	    "an unchanged update refused at once: %s",
	    r.message != NULL ? r.message : "(no message)");
	ok(r.no_changes, "the refusal is read as no changes");
	cfn_change_set_ref_free(r.result);
	r.result = NULL;
	CALL(env, &r,
	    cfn_describe_change_set(env->client, NULL, NULL, STACK, "cs-3b",
		cs_cb, &r, &cause));
	ok(r.error == AWS_EAWS && strcmp(r.code, "ChangeSetNotFound") == 0,
	    "and no change set was made");
	fakeaws_control(&env->fake, "POST", "/_fake/cfn/no-changes",
	    "{\"answer\": \"aws\"}", NULL);

	/* An injected resource failure rolls the update back. */
	fakeaws_control(&env->fake, "POST", "/_fake/cfn/fail-resource",
	    "{\"logical_id\": \"TaskDef\", \"stack\": \"billing-int\"}", NULL);
	if ((cs = make_change_set(env, "cs-4", CFN_CHANGE_SET_UPDATE, TEMPLATE,
		 p3, 1, NULL)) != NULL) {
		CALL(env, &r,
		    cfn_execute_change_set(env->client, NULL, NULL, NULL,
			cs->id, "exec-4", done_cb, &r, &cause));
		cfn_change_set_free(cs);
		status = wait_stack(env, NULL, NULL);
		is_str(status, "UPDATE_ROLLBACK_COMPLETE",
		    "injected failure: "
		    "UPDATE_ROLLBACK_COMPLETE");
		free(status);
	}
	CALL(env, &r,
	    cfn_describe_stack_events(env->client, NULL, NULL, STACK, NULL,
		events_cb, &r, &cause));
	el = r.result;
	found = 0;
	for (i = 0; el != NULL && i < el->n; i++) {
		if (strcmp(el->v[i].status, "UPDATE_FAILED") == 0 &&
		    strcmp(el->v[i].logical_id, "TaskDef") == 0 &&
		    el->v[i].status_reason != NULL &&
		    strstr(el->v[i].status_reason, "Injected failure for "
						   "TaskDef") != NULL) {
			found = 1;
			break;
		}
	}
	ok(el != NULL && el->n > 8 && !el->truncated,
	    "DescribeStackEvents: "
	    "all %zu events, over pages of 4",
	    el != NULL ? el->n : 0);
	ok(found, "the failed resource and its reason are in the events");
	ev = el != NULL ? cfn_stack_events_first_failure(el) : NULL;
	ok(ev != NULL && strcmp(ev->logical_id, "TaskDef") == 0 &&
		strstr(ev->status_reason, "Injected failure for TaskDef") !=
		    NULL,
	    "the first failure: TaskDef, with the injected reason");
	ok(el != NULL && el->n > 0 &&
		strcmp(el->v[0].status, "UPDATE_ROLLBACK_COMPLETE") == 0 &&
		strcmp(el->v[0].resource_type, "AWS::CloudFormation::Stack") ==
		    0,
	    "newest event first");
	for (i = 1; el != NULL && i < el->n; i++)
		if (el->v[i].timestamp.tv_sec > el->v[i - 1].timestamp.tv_sec)
			break;
	ok(el != NULL && i == el->n, "events are newest first");
	if (el != NULL && el->n > 6) {
		memset(&bounds, 0, sizeof bounds);
		bounds.max_events = 5;
		res_reset(&r, env);
		CALL(env, &r,
		    cfn_describe_stack_events(env->client, NULL, NULL, STACK,
			&bounds, events_cb, &r, &cause));
		ok(r.result != NULL &&
			((struct cfn_stack_event_list *)r.result)->n == 5 &&
			((struct cfn_stack_event_list *)r.result)->truncated,
		    "bounded to 5 events");
		cfn_stack_event_list_free(r.result);
		memset(&bounds, 0, sizeof bounds);
		bounds.since = el->v[5].timestamp;
		res_reset(&r, env);
		CALL(env, &r,
		    cfn_describe_stack_events(env->client, NULL, NULL, STACK,
			&bounds, events_cb, &r, &cause));
		ok(r.result != NULL &&
			((struct cfn_stack_event_list *)r.result)->n >= 6 &&
			((struct cfn_stack_event_list *)r.result)->n < el->n &&
			((struct cfn_stack_event_list *)r.result)->truncated,
		    "bounded by time: stops at older "
		    "events");
		cfn_stack_event_list_free(r.result);
		r.result = NULL;
	}
	cfn_stack_event_list_free(el);

	/* The circuit breaker fails the ECS deployment. */
	fakeaws_control(&env->fake, "POST", "/_fake/ecs/fail-deployment",
	    "{\"service\": \"web\"}", NULL);
	if ((cs = make_change_set(env, "cs-5", CFN_CHANGE_SET_UPDATE, TEMPLATE,
		 p4, 1, NULL)) != NULL) {
		/* Slower steps: the FAILED deployment stays in sight for
		   several polls before the rollback replaces it. */
		fakeaws_control(&env->fake, "POST", "/_fake/config",
		    "{\"step_delay\": 0.1}", NULL);
		CALL(env, &r,
		    cfn_execute_change_set(env->client, NULL, NULL, NULL,
			cs->id, "exec-5", done_cb, &r, &cause));
		cfn_change_set_free(cs);
		status = wait_stack(env, &failed_seen, NULL);
		fakeaws_control(&env->fake, "POST", "/_fake/config",
		    "{\"step_delay\": 0.02}", NULL);
		is_str(status, "UPDATE_ROLLBACK_COMPLETE",
		    "circuit breaker: "
		    "UPDATE_ROLLBACK_COMPLETE");
		free(status);
		ok(failed_seen, "a deployment was seen with rolloutState "
				"FAILED");
	}
	CALL(env, &r,
	    ecs_describe_services(env->client, NULL, NULL, "billing-int",
		services, services_cb, &r, &cause));
	svl = r.result;
	found = 0;
	for (i = 0; svl != NULL && svl->n == 1 && i < svl->v[0].nevents; i++)
		if (strstr(svl->v[0].events[i].message, "deployment failed") !=
		    NULL)
			found = 1;
	ok(found, "the service's events record the failed deployment");
	ecs_service_list_free(svl);
	memset(&bounds, 0, sizeof bounds);
	bounds.max_events = 40;
	CALL(env, &r,
	    cfn_describe_stack_events(env->client, NULL, NULL, STACK, &bounds,
		events_cb, &r, &cause));
	el = r.result;
	found = 0;
	for (i = 0; el != NULL && i < el->n; i++)
		if (el->v[i].status_reason != NULL &&
		    strstr(el->v[i].status_reason, "Circuit Breaker") != NULL)
			found = 1;
	ok(found, "the stack events name the circuit breaker");
	cfn_stack_event_list_free(el);

out:
	res_reset(&r, env);
	free(r.message);
	free(csid);
}

/* A template with more resources than a page holds. */
static void
test_many(struct svc_env *env)
{
	struct buf			   t;
	struct cfn_change_set		  *cs;
	struct cfn_create_change_set_input in;
	struct res			   r = { 0 };
	struct fakeaws_reply		   fr;
	json_t				  *o;
	char				   name[32], *setup;
	int				   i, order = 1;

	buf_init(&t, 1 << 20);
	buf_appends(&t, "Resources:\n");
	for (i = 0; i < 9; i++)
		buf_printf(&t,
		    "  Log%d:\n    Type: AWS::Logs::LogGroup\n"
		    "    Properties:\n      RetentionInDays: 7\n",
		    i);
	memset(&in, 0, sizeof in);
	in.stack_name = "many";
	in.change_set_name = "m1";
	in.type = CFN_CHANGE_SET_CREATE;
	in.template_body = t.data;
	fakeaws_control(&env->fake, "DELETE", "/_fake/calls", NULL, NULL);
	/* A page throttled on the way is retried, not lost. */
	fakeaws_control(&env->fake, "POST", "/_fake/faults",
	    "{\"service\": "
	    "\"cloudformation\", \"operation\": \"DescribeChangeSet\", "
	    "\"mode\": \"throttle\", \"count\": 2}",
	    NULL);
	CALL(env, &r,
	    cfn_create_change_set(env->client, NULL, NULL, &in, ref_cb, &r,
		&cause));
	cfn_change_set_ref_free(r.result);
	for (i = 0; i < POLL_MAX; i++) {
		CALL(env, &r,
		    cfn_describe_change_set(env->client, NULL, NULL, "many",
			"m1", cs_cb, &r, &cause));
		if ((cs = r.result) == NULL ||
		    cfn_change_set_status_final(cs->status))
			break;
		cfn_change_set_free(cs);
		svc_env_sleep_ms(POLL_MS);
	}
	ok(cs != NULL && cs->nchanges == 9, "9 changes over pages of 2: %zu",
	    cs != NULL ? cs->nchanges : 0);
	for (i = 0; cs != NULL && i < (int)cs->nchanges; i++) {
		snprintf(name, sizeof name, "Log%d", i);
		if (strcmp(cs->changes[i].logical_id, name) != 0)
			order = 0;
	}
	ok(order, "changes in order across pages");
	cfn_change_set_free(cs);
	fakeaws_control(&env->fake, "GET", "/_fake/calls", NULL, &fr);
	o = json_loads(fr.body != NULL ? fr.body : "", 0, NULL);
	/* One DescribeChangeSet per page (5) for the last, settled look. */
	ok(json_integer_value(
	       json_object_get(json_object_get(o, "cloudformation"),
		   "DescribeChangeSet")) >= 5,
	    "the fake counted the DescribeChangeSet pages");
	json_decref(o);
	free(fr.body);

	/* Every stack, over pages of one. */
	CALL(env, &r,
	    cfn_describe_stacks(env->client, NULL, NULL, NULL, stacks_cb, &r,
		&cause));
	ok(r.result != NULL && ((struct cfn_stack_list *)r.result)->n == 2,
	    "DescribeStacks of every stack: both, over pages of one");
	cfn_stack_list_free(r.result);
	res_reset(&r, env);

	/* The same template by URL, from the fake's S3. */
	o = json_pack("{s:s,s:[{s:s}],s:[{s:s,s:s,s:s}]}", "account",
	    "000000000000", "buckets", "name", "shipgate-artifacts", "objects",
	    "bucket", "shipgate-artifacts", "key", "billing/many.yaml", "body",
	    t.data);
	setup = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	fakeaws_control(&env->fake, "POST", "/_fake/setup", setup, NULL);
	free(setup);
	in.stack_name = "many-url";
	in.change_set_name = "m1";
	in.template_body = NULL;
	in.template_url = "https://s3.eu-west-1.amazonaws.com/"
			  "shipgate-artifacts/billing/many.yaml";
	CALL(env, &r,
	    cfn_create_change_set(env->client, NULL, NULL, &in, ref_cb, &r,
		&cause));
	cfn_change_set_ref_free(r.result);
	for (i = 0; i < POLL_MAX; i++) {
		CALL(env, &r,
		    cfn_describe_change_set(env->client, NULL, NULL, "many-url",
			"m1", cs_cb, &r, &cause));
		if ((cs = r.result) == NULL ||
		    cfn_change_set_status_final(cs->status))
			break;
		cfn_change_set_free(cs);
		svc_env_sleep_ms(POLL_MS);
	}
	ok(cs != NULL && strcmp(cs->status, "CREATE_COMPLETE") == 0 &&
		cs->nchanges == 9,
	    "TemplateURL: the template read from S3");
	cfn_change_set_free(cs);
	buf_free(&t);
	res_reset(&r, env);
}

/* Drift detection's replies (issue 15): read, and refused when wrong. */
static void
test_drift(void)
{
	static const char status_ok[] =
	    "<DescribeStackDriftDetectionStatusResponse>"
	    "<DescribeStackDriftDetectionStatusResult>"
	    "<StackDriftDetectionId>d-1</StackDriftDetectionId>"
	    "<DetectionStatus>DETECTION_COMPLETE</DetectionStatus>"
	    "<StackDriftStatus>DRIFTED</StackDriftStatus>"
	    "<DriftedStackResourceCount>2</DriftedStackResourceCount>"
	    "</DescribeStackDriftDetectionStatusResult>"
	    "</DescribeStackDriftDetectionStatusResponse>";
	static const char *const status_bad[] = {
		"<DescribeStackDriftDetectionStatusResponse>"
		"<DescribeStackDriftDetectionStatusResult>"
		"</DescribeStackDriftDetectionStatusResult>"
		"</DescribeStackDriftDetectionStatusResponse>",
		"<DescribeStackDriftDetectionStatusResponse>"
		"<DescribeStackDriftDetectionStatusResult>"
		"<DetectionStatus>SOMETHING</DetectionStatus>"
		"</DescribeStackDriftDetectionStatusResult>"
		"</DescribeStackDriftDetectionStatusResponse>",
		"<DescribeStackDriftDetectionStatusResponse>"
		"<DescribeStackDriftDetectionStatusResult>"
		"<DetectionStatus>DETECTION_COMPLETE</DetectionStatus>"
		"</DescribeStackDriftDetectionStatusResult>"
		"</DescribeStackDriftDetectionStatusResponse>",
		"<DescribeStackDriftDetectionStatusResponse>"
		"<DescribeStackDriftDetectionStatusResult>"
		"<DetectionStatus>DETECTION_COMPLETE</DetectionStatus>"
		"<StackDriftStatus>DRIFTED</StackDriftStatus>"
		"<DriftedStackResourceCount>many</DriftedStackResourceCount>"
		"</DescribeStackDriftDetectionStatusResult>"
		"</DescribeStackDriftDetectionStatusResponse>",
	};
	static const char drifts[] =
	    "<DescribeStackResourceDriftsResponse>"
	    "<DescribeStackResourceDriftsResult><StackResourceDrifts>"
	    "<member><LogicalResourceId>WebService</LogicalResourceId>"
	    "<PhysicalResourceId>arn:svc</PhysicalResourceId>"
	    "<ResourceType>AWS::ECS::Service</ResourceType>"
	    "<StackResourceDriftStatus>MODIFIED</StackResourceDriftStatus>"
	    "<PropertyDifferences><member>"
	    "<PropertyPath>/DesiredCount</PropertyPath>"
	    "<ExpectedValue>2</ExpectedValue><ActualValue>5</ActualValue>"
	    "<DifferenceType>NOT_EQUAL</DifferenceType>"
	    "</member></PropertyDifferences></member>"
	    "<member><LogicalResourceId>Logs</LogicalResourceId>"
	    "<ResourceType>AWS::Logs::LogGroup</ResourceType>"
	    "<StackResourceDriftStatus>DELETED</StackResourceDriftStatus>"
	    "</member></StackResourceDrifts><NextToken>n2</NextToken>"
	    "</DescribeStackResourceDriftsResult>"
	    "</DescribeStackResourceDriftsResponse>";
	static const char drifts_bad[] =
	    "<DescribeStackResourceDriftsResponse>"
	    "<DescribeStackResourceDriftsResult><StackResourceDrifts>"
	    "<member><LogicalResourceId>WebService</LogicalResourceId>"
	    "<ResourceType>AWS::ECS::Service</ResourceType>"
	    "<StackResourceDriftStatus>MODIFIED</StackResourceDriftStatus>"
	    "<PropertyDifferences><member><ExpectedValue>2</ExpectedValue>"
	    "</member></PropertyDifferences></member></StackResourceDrifts>"
	    "</DescribeStackResourceDriftsResult>"
	    "</DescribeStackResourceDriftsResponse>";
	static const char ref[] =
	    "<DetectStackDriftResponse><DetectStackDriftResult>"
	    "<StackDriftDetectionId>b78ac9b0-dec1</StackDriftDetectionId>"
	    "</DetectStackDriftResult></DetectStackDriftResponse>";
	static const char ref_bad[] =
	    "<DetectStackDriftResponse><DetectStackDriftResult>"
	    "</DetectStackDriftResult></DetectStackDriftResponse>";
	struct cfn_drift_ref	       *r;
	struct cfn_drift_status	       *d;
	struct cfn_resource_drift_list *l;
	struct buf			b;
	char			       *next, *cause, *big;
	size_t				i;
	int				rc;

	r = xcalloc(1, sizeof *r);
	cause = NULL;
	ok(cfn_parse_drift_ref(r, ref, strlen(ref), &cause) == 0 &&
		strcmp(r->detection_id, "b78ac9b0-dec1") == 0,
	    "DetectStackDrift: the detection id");
	cfn_drift_ref_free(r);
	r = xcalloc(1, sizeof *r);
	ok(cfn_parse_drift_ref(r, ref_bad, strlen(ref_bad), &cause) == -1 &&
		cause != NULL && strstr(cause, "StackDriftDetectionId") != NULL,
	    "DetectStackDrift without an id: refused, naming it");
	free(cause);
	cfn_drift_ref_free(r);

	d = xcalloc(1, sizeof *d);
	cause = NULL;
	ok(cfn_parse_drift_status(d, status_ok, strlen(status_ok), &cause) ==
		    0 &&
		d->state == CFN_DETECTION_COMPLETE &&
		strcmp(d->stack_drift_status, "DRIFTED") == 0 &&
		d->drifted_count == 2,
	    "DescribeStackDriftDetectionStatus: complete, DRIFTED, 2");
	cfn_drift_status_free(d);
	for (i = 0; i < sizeof status_bad / sizeof *status_bad; i++) {
		d = xcalloc(1, sizeof *d);
		cause = NULL;
		rc = cfn_parse_drift_status(d, status_bad[i],
		    strlen(status_bad[i]), &cause);
		ok(rc == -1 && cause != NULL,
		    "a wrong detection status %zu refused: %s", i,
		    cause != NULL ? cause : "(none)");
		free(cause);
		cfn_drift_status_free(d);
	}

	l = xcalloc(1, sizeof *l);
	next = cause = NULL;
	rc = cfn_parse_resource_drifts_page(l, drifts, strlen(drifts), &next,
	    &cause);
	ok(rc == 0 && l->n == 2 && next != NULL && strcmp(next, "n2") == 0,
	    "DescribeStackResourceDrifts: two resources and the next token");
	ok(rc == 0 && l->n == 2 && l->v[0].ndiffs == 1 &&
		strcmp(l->v[0].diffs[0].path, "/DesiredCount") == 0 &&
		strcmp(l->v[0].diffs[0].expected, "2") == 0 &&
		strcmp(l->v[0].diffs[0].actual, "5") == 0 &&
		strcmp(l->v[0].diffs[0].type, "NOT_EQUAL") == 0 &&
		strcmp(l->v[1].status, "DELETED") == 0 && l->v[1].ndiffs == 0,
	    "... the property's difference, the deleted resource");
	free(next);
	cfn_resource_drift_list_free(l);

	l = xcalloc(1, sizeof *l);
	next = cause = NULL;
	rc = cfn_parse_resource_drifts_page(l, drifts_bad, strlen(drifts_bad),
	    &next, &cause);
	ok(rc == -1 && cause != NULL && strstr(cause, "PropertyPath") != NULL &&
		next == NULL,
	    "a property difference without its path: refused, naming it");
	free(cause);
	cfn_resource_drift_list_free(l);

	/* Over the bound of resources: refused, not kept growing. */
	buf_init(&b, SIZE_MAX / 2);
	buf_appends(&b, "<DescribeStackResourceDriftsResponse>"
			"<DescribeStackResourceDriftsResult>"
			"<StackResourceDrifts>");
	for (i = 0; i <= CFN_DRIFT_RESOURCES_MAX; i++)
		buf_appends(&b,
		    "<member><LogicalResourceId>R</LogicalResourceId>"
		    "<ResourceType>T</ResourceType>"
		    "<StackResourceDriftStatus>DELETED"
		    "</StackResourceDriftStatus></member>");
	buf_appends(&b, "</StackResourceDrifts>"
			"</DescribeStackResourceDriftsResult>"
			"</DescribeStackResourceDriftsResponse>");
	big = buf_take(&b, NULL);
	buf_free(&b);
	l = xcalloc(1, sizeof *l);
	next = cause = NULL;
	rc = cfn_parse_resource_drifts_page(l, big, strlen(big), &next, &cause);
	ok(rc == -1 && cause != NULL && strstr(cause, "over 500") != NULL,
	    "over %d drifted resources: refused", CFN_DRIFT_RESOURCES_MAX);
	free(cause);
	free(next);
	free(big);
	cfn_resource_drift_list_free(l);
}

int
main(void)
{
	/*
	 * The change sets (and the ECS services) are polled every few
	 * milliseconds to keep this wire-level test short: far above the
	 * describe rates the fake assumes for AWS.  Throttling is the engine's to survive
	 * (test-throttle.sh); its replies are tested here by injection.
	 */
	static const char *const args[] = { "--step-delay", "0.02",
		"--throttle", "cloudformation:describe=off", "--throttle",
		"ecs:describe=off", NULL };
	struct svc_env		 env;

	log_init("test-svc-cfn");
	test_examples();
	test_malformed();
	test_summary();
	test_truncate();
	test_predicates();
	test_first_failure();
	test_drift();

	if (svc_env_start(&env, args) != 0) {
		ok(0, "the fake AWS endpoint starts");
		return (tap_done());
	}
	test_errors(&env);
	test_scenario(&env);
	test_many(&env);
	is_int(env.reentered, 0,
	    "no callback ran inside the call that "
	    "started it");
	is_int(env.stuck, 0, "every callback came");
	is_int(svc_env_stop(&env), 0,
	    "every handle closed: uv_loop_close() "
	    "== 0");
	return (tap_done());
}
