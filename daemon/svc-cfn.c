/*
 * CloudFormation: the change-set calls and stack reads, as query-protocol
 * forms and XML replies.  Paginated reads follow NextToken here, so the
 * engine gets a whole change set or a bounded slice of stack events in
 * one callback.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws-op.h"
#include "log.h"
#include "svc-cfn.h"
#include "xmalloc.h"
#include "xml.h"

/* Helpers for reading XML. */

static char *
cfn_text(const struct xml_node *n, const char *path)
{
	const char *s;

	if ((s = xml_find_text(n, path)) == NULL)
		return (NULL);
	return (xstrdup(s));
}

/* Sets *out from the first page that has the element; keeps it after. */
static void
cfn_text_once(char **out, const struct xml_node *n, const char *path)
{
	if (*out == NULL)
		*out = cfn_text(n, path);
}

static int
cfn_time_opt(const struct xml_node *n, const char *path, struct timespec *out,
    char **cause)
{
	if (xml_find(n, path) == NULL)
		return (0);
	return (xml_get_time(n, path, out, cause) == 0 ? 0 : -1);
}

static int
cfn_bool_opt(const struct xml_node *n, const char *path, int *out, char **cause)
{
	if (xml_find(n, path) == NULL)
		return (0);
	return (xml_get_bool(n, path, out, cause) == 0 ? 0 : -1);
}

/* Reads a list of strings (<X><member>a</member>...</X>). */
static void
cfn_strings(const struct xml_node *n, const char *path, char ***v, size_t *nv)
{
	const struct xml_node *m;
	char		      *p;

	if (*v != NULL)
		return;
	p = xasprintf("%s/member", path);
	for (m = xml_find(n, p); m != NULL; m = xml_next(m)) {
		*v = xreallocarray(*v, *nv + 1, sizeof **v);
		(*v)[(*nv)++] = xstrdup(xml_text(m));
	}
	free(p);
}

static int
cfn_parameters(const struct xml_node *n, struct cfn_parameter **v, size_t *nv,
    char **cause)
{
	const struct xml_node *m;
	struct cfn_parameter  *p;

	if (*v != NULL)
		return (0);
	for (m = xml_find(n, "Parameters/member"); m != NULL; m = xml_next(m)) {
		*v = xreallocarray(*v, *nv + 1, sizeof **v);
		p = &(*v)[(*nv)++];
		memset(p, 0, sizeof *p);
		p->key = cfn_text(m, "ParameterKey");
		p->value = cfn_text(m, "ParameterValue");
		p->resolved_value = cfn_text(m, "ResolvedValue");
		if (p->key == NULL) {
			*cause = xstrdup("Parameters: a member has no "
					 "ParameterKey");
			return (-1);
		}
		if (cfn_bool_opt(m, "UsePreviousValue", &p->use_previous,
			cause) != 0)
			return (-1);
	}
	return (0);
}

static void
cfn_tags(const struct xml_node *n, struct cfn_tag **v, size_t *nv)
{
	const struct xml_node *m;
	struct cfn_tag	      *t;

	if (*v != NULL)
		return;
	for (m = xml_find(n, "Tags/member"); m != NULL; m = xml_next(m)) {
		*v = xreallocarray(*v, *nv + 1, sizeof **v);
		t = &(*v)[(*nv)++];
		t->key = cfn_text(m, "Key");
		t->value = cfn_text(m, "Value");
		if (t->key == NULL)
			t->key = xstrdup("");
		if (t->value == NULL)
			t->value = xstrdup("");
	}
}

/*
 * Parses a reply and finds <OpResult>; NextToken comes from it.  Returns
 * the tree (caller frees) or NULL and *cause.
 */
static struct xml *
cfn_result(const void *data, size_t len, const char *operation,
    const struct xml_node **result, char **next_token, char **cause)
{
	struct xml *xml = NULL;
	char	   *path, *xcause = NULL;
	const char *s;

	if (next_token != NULL)
		*next_token = NULL;
	if (xml_parse(&xml, data, len, NULL, &xcause) != 0) {
		*cause = xasprintf("not XML: %s", xcause);
		free(xcause);
		return (NULL);
	}
	path = xasprintf("/%sResponse/%sResult", operation, operation);
	*result = xml_find(xml_root(xml), path);
	free(path);
	if (*result == NULL) {
		*cause = xasprintf("no %sResult in the reply", operation);
		xml_free(xml);
		return (NULL);
	}
	if (next_token != NULL &&
	    (s = xml_find_text(*result, "NextToken")) != NULL && *s != '\0')
		*next_token = xstrdup(s);
	return (xml);
}

/* Enums. */

static const char *cfn_action_names[] = {
	[CFN_ACTION_UNKNOWN] = "Unknown",
	[CFN_ACTION_ADD] = "Add",
	[CFN_ACTION_MODIFY] = "Modify",
	[CFN_ACTION_REMOVE] = "Remove",
	[CFN_ACTION_IMPORT] = "Import",
	[CFN_ACTION_DYNAMIC] = "Dynamic",
};

static const char *cfn_replacement_names[] = {
	[CFN_REPLACEMENT_NONE] = "",
	[CFN_REPLACEMENT_TRUE] = "True",
	[CFN_REPLACEMENT_FALSE] = "False",
	[CFN_REPLACEMENT_CONDITIONAL] = "Conditional",
	[CFN_REPLACEMENT_UNKNOWN] = "Unknown",
};

const char *
cfn_action_name(enum cfn_action a)
{
	if ((size_t)a >= sizeof cfn_action_names / sizeof *cfn_action_names)
		return ("Unknown");
	return (cfn_action_names[a]);
}

enum cfn_action
cfn_action_from_name(const char *s)
{
	size_t i;

	for (i = 1; s != NULL &&
		    i < sizeof cfn_action_names / sizeof *cfn_action_names;
	     i++)
		if (strcmp(s, cfn_action_names[i]) == 0)
			return ((enum cfn_action)i);
	return (CFN_ACTION_UNKNOWN);
}

const char *
cfn_replacement_name(enum cfn_replacement r)
{
	if ((size_t)r >=
	    sizeof cfn_replacement_names / sizeof *cfn_replacement_names)
		return ("Unknown");
	return (cfn_replacement_names[r]);
}

enum cfn_replacement
cfn_replacement_from_name(const char *s)
{
	if (s == NULL || *s == '\0')
		return (CFN_REPLACEMENT_NONE);
	if (strcmp(s, "True") == 0)
		return (CFN_REPLACEMENT_TRUE);
	if (strcmp(s, "False") == 0)
		return (CFN_REPLACEMENT_FALSE);
	if (strcmp(s, "Conditional") == 0)
		return (CFN_REPLACEMENT_CONDITIONAL);
	return (CFN_REPLACEMENT_UNKNOWN);
}

/* Page readers. */

static int
cfn_parse_change(struct cfn_resource_change *c, const struct xml_node *m,
    char **cause)
{
	const struct xml_node	 *rc, *d;
	struct cfn_change_detail *cd;

	memset(c, 0, sizeof *c);
	c->type = cfn_text(m, "Type");
	if ((rc = xml_find(m, "ResourceChange")) == NULL)
		return (0); /* a change of another type: kept, empty */
	c->action_text = cfn_text(rc, "Action");
	c->action = cfn_action_from_name(c->action_text);
	c->logical_id = cfn_text(rc, "LogicalResourceId");
	c->physical_id = cfn_text(rc, "PhysicalResourceId");
	c->resource_type = cfn_text(rc, "ResourceType");
	c->replacement_text = cfn_text(rc, "Replacement");
	c->replacement = cfn_replacement_from_name(c->replacement_text);
	if (c->logical_id == NULL) {
		*cause = xstrdup("Changes: a ResourceChange has no "
				 "LogicalResourceId");
		return (-1);
	}
	cfn_strings(rc, "Scope", &c->scope, &c->nscope);
	for (d = xml_find(rc, "Details/member"); d != NULL; d = xml_next(d)) {
		c->details = xreallocarray(c->details, c->ndetails + 1,
		    sizeof *c->details);
		cd = &c->details[c->ndetails++];
		cd->target_attribute = cfn_text(d, "Target/Attribute");
		cd->target_name = cfn_text(d, "Target/Name");
		cd->requires_recreation = cfn_text(d,
		    "Target/RequiresRecreation");
		cd->evaluation = cfn_text(d, "Evaluation");
		cd->change_source = cfn_text(d, "ChangeSource");
		cd->causing_entity = cfn_text(d, "CausingEntity");
	}
	return (0);
}

int
cfn_parse_change_set_page(struct cfn_change_set *cs, const void *data,
    size_t len, char **next_token, char **cause)
{
	struct xml	      *xml;
	const struct xml_node *r, *m;
	int		       rc = -1;

	if ((xml = cfn_result(data, len, "DescribeChangeSet", &r, next_token,
		 cause)) == NULL)
		return (-1);
	cfn_text_once(&cs->id, r, "ChangeSetId");
	cfn_text_once(&cs->name, r, "ChangeSetName");
	cfn_text_once(&cs->stack_id, r, "StackId");
	cfn_text_once(&cs->stack_name, r, "StackName");
	cfn_text_once(&cs->description, r, "Description");
	/* The status may move between pages: the last page's wins. */
	if (xml_find(r, "Status") != NULL) {
		free(cs->status);
		cs->status = cfn_text(r, "Status");
	}
	if (xml_find(r, "ExecutionStatus") != NULL) {
		free(cs->execution_status);
		cs->execution_status = cfn_text(r, "ExecutionStatus");
	}
	if (xml_find(r, "StatusReason") != NULL) {
		free(cs->status_reason);
		cs->status_reason = cfn_text(r, "StatusReason");
	}
	if (cs->status == NULL) {
		*cause = xstrdup("DescribeChangeSetResult/Status: missing");
		goto out;
	}
	if (cfn_time_opt(r, "CreationTime", &cs->created, cause) != 0)
		goto out;
	if (cfn_parameters(r, &cs->parameters, &cs->nparameters, cause) != 0)
		goto out;
	cfn_strings(r, "Capabilities", &cs->capabilities, &cs->ncapabilities);
	cfn_tags(r, &cs->tags, &cs->ntags);
	for (m = xml_find(r, "Changes/member"); m != NULL; m = xml_next(m)) {
		cs->changes = xreallocarray(cs->changes, cs->nchanges + 1,
		    sizeof *cs->changes);
		if (cfn_parse_change(&cs->changes[cs->nchanges++], m, cause) !=
		    0)
			goto out;
	}
	rc = 0;
out:
	xml_free(xml);
	if (rc != 0 && next_token != NULL) {
		free(*next_token);
		*next_token = NULL;
	}
	return (rc);
}

int
cfn_parse_change_set_list_page(struct cfn_change_set_list *l, const void *data,
    size_t len, char **next_token, char **cause)
{
	struct xml		      *xml;
	const struct xml_node	      *r, *m;
	struct cfn_change_set_summary *s;
	int			       rc = -1;

	if ((xml = cfn_result(data, len, "ListChangeSets", &r, next_token,
		 cause)) == NULL)
		return (-1);
	for (m = xml_find(r, "Summaries/member"); m != NULL; m = xml_next(m)) {
		l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
		s = &l->v[l->n++];
		memset(s, 0, sizeof *s);
		s->id = cfn_text(m, "ChangeSetId");
		s->name = cfn_text(m, "ChangeSetName");
		s->stack_id = cfn_text(m, "StackId");
		s->stack_name = cfn_text(m, "StackName");
		s->status = cfn_text(m, "Status");
		s->execution_status = cfn_text(m, "ExecutionStatus");
		s->status_reason = cfn_text(m, "StatusReason");
		s->description = cfn_text(m, "Description");
		if (s->name == NULL || s->id == NULL) {
			*cause = xstrdup("Summaries: a member has no "
					 "ChangeSetName or ChangeSetId");
			goto out;
		}
		if (cfn_time_opt(m, "CreationTime", &s->created, cause) != 0)
			goto out;
	}
	rc = 0;
out:
	xml_free(xml);
	if (rc != 0 && next_token != NULL) {
		free(*next_token);
		*next_token = NULL;
	}
	return (rc);
}

static int
cfn_parse_stack(struct cfn_stack *s, const struct xml_node *m, char **cause)
{
	const struct xml_node *o;
	struct cfn_output     *out;

	memset(s, 0, sizeof *s);
	s->id = cfn_text(m, "StackId");
	s->name = cfn_text(m, "StackName");
	s->description = cfn_text(m, "Description");
	s->status = cfn_text(m, "StackStatus");
	s->status_reason = cfn_text(m, "StackStatusReason");
	s->change_set_id = cfn_text(m, "ChangeSetId");
	if (s->name == NULL || s->status == NULL) {
		*cause = xstrdup("Stacks: a member has no StackName or "
				 "StackStatus");
		return (-1);
	}
	if (cfn_time_opt(m, "CreationTime", &s->created, cause) != 0 ||
	    cfn_time_opt(m, "LastUpdatedTime", &s->last_updated, cause) != 0)
		return (-1);
	if (cfn_parameters(m, &s->parameters, &s->nparameters, cause) != 0)
		return (-1);
	for (o = xml_find(m, "Outputs/member"); o != NULL; o = xml_next(o)) {
		s->outputs = xreallocarray(s->outputs, s->noutputs + 1,
		    sizeof *s->outputs);
		out = &s->outputs[s->noutputs++];
		out->key = cfn_text(o, "OutputKey");
		out->value = cfn_text(o, "OutputValue");
		out->description = cfn_text(o, "Description");
		out->export_name = cfn_text(o, "ExportName");
		if (out->key == NULL)
			out->key = xstrdup("");
	}
	cfn_strings(m, "Capabilities", &s->capabilities, &s->ncapabilities);
	cfn_tags(m, &s->tags, &s->ntags);
	return (0);
}

int
cfn_parse_stacks_page(struct cfn_stack_list *l, const void *data, size_t len,
    char **next_token, char **cause)
{
	struct xml	      *xml;
	const struct xml_node *r, *m;
	int		       rc = -1;

	if ((xml = cfn_result(data, len, "DescribeStacks", &r, next_token,
		 cause)) == NULL)
		return (-1);
	for (m = xml_find(r, "Stacks/member"); m != NULL; m = xml_next(m)) {
		l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
		if (cfn_parse_stack(&l->v[l->n++], m, cause) != 0)
			goto out;
	}
	rc = 0;
out:
	xml_free(xml);
	if (rc != 0 && next_token != NULL) {
		free(*next_token);
		*next_token = NULL;
	}
	return (rc);
}

int
cfn_parse_stack_events_page(struct cfn_stack_event_list *l, const void *data,
    size_t len, char **next_token, char **cause)
{
	struct xml	       *xml;
	const struct xml_node  *r, *m;
	struct cfn_stack_event *e;
	int			rc = -1;

	if ((xml = cfn_result(data, len, "DescribeStackEvents", &r, next_token,
		 cause)) == NULL)
		return (-1);
	for (m = xml_find(r, "StackEvents/member"); m != NULL;
	     m = xml_next(m)) {
		l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
		e = &l->v[l->n++];
		memset(e, 0, sizeof *e);
		e->event_id = cfn_text(m, "EventId");
		e->stack_id = cfn_text(m, "StackId");
		e->stack_name = cfn_text(m, "StackName");
		e->logical_id = cfn_text(m, "LogicalResourceId");
		e->physical_id = cfn_text(m, "PhysicalResourceId");
		e->resource_type = cfn_text(m, "ResourceType");
		e->status = cfn_text(m, "ResourceStatus");
		e->status_reason = cfn_text(m, "ResourceStatusReason");
		if (e->logical_id == NULL || e->status == NULL) {
			*cause = xstrdup("StackEvents: a member has no "
					 "LogicalResourceId or ResourceStatus");
			goto out;
		}
		if (xml_get_time(m, "Timestamp", &e->timestamp, cause) != 0) {
			free(*cause);
			*cause = xstrdup("StackEvents: a member has no valid "
					 "Timestamp");
			goto out;
		}
	}
	rc = 0;
out:
	xml_free(xml);
	if (rc != 0 && next_token != NULL) {
		free(*next_token);
		*next_token = NULL;
	}
	return (rc);
}

int
cfn_parse_change_set_ref(struct cfn_change_set_ref *ref, const void *data,
    size_t len, char **cause)
{
	struct xml	      *xml;
	const struct xml_node *r;

	memset(ref, 0, sizeof *ref);
	if ((xml = cfn_result(data, len, "CreateChangeSet", &r, NULL, cause)) ==
	    NULL)
		return (-1);
	ref->id = cfn_text(r, "Id");
	ref->stack_id = cfn_text(r, "StackId");
	xml_free(xml);
	if (ref->id == NULL) {
		free(ref->stack_id);
		ref->stack_id = NULL;
		*cause = xstrdup("CreateChangeSetResult/Id: missing");
		return (-1);
	}
	return (0);
}

/* Freeing. */

static void
cfn_strings_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
cfn_parameters_free(struct cfn_parameter *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
		free(v[i].resolved_value);
	}
	free(v);
}

static void
cfn_tags_free(struct cfn_tag *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

void
cfn_change_set_ref_free(struct cfn_change_set_ref *ref)
{
	if (ref == NULL)
		return;
	free(ref->id);
	free(ref->stack_id);
	free(ref);
}

static void
cfn_resource_change_clear(struct cfn_resource_change *c)
{
	size_t i;

	free(c->type);
	free(c->action_text);
	free(c->logical_id);
	free(c->physical_id);
	free(c->resource_type);
	free(c->replacement_text);
	cfn_strings_free(c->scope, c->nscope);
	for (i = 0; i < c->ndetails; i++) {
		free(c->details[i].target_attribute);
		free(c->details[i].target_name);
		free(c->details[i].requires_recreation);
		free(c->details[i].evaluation);
		free(c->details[i].change_source);
		free(c->details[i].causing_entity);
	}
	free(c->details);
}

void
cfn_change_set_free(struct cfn_change_set *cs)
{
	size_t i;

	if (cs == NULL)
		return;
	free(cs->id);
	free(cs->name);
	free(cs->stack_id);
	free(cs->stack_name);
	free(cs->description);
	free(cs->status);
	free(cs->execution_status);
	free(cs->status_reason);
	cfn_parameters_free(cs->parameters, cs->nparameters);
	cfn_strings_free(cs->capabilities, cs->ncapabilities);
	cfn_tags_free(cs->tags, cs->ntags);
	for (i = 0; i < cs->nchanges; i++)
		cfn_resource_change_clear(&cs->changes[i]);
	free(cs->changes);
	free(cs);
}

void
cfn_change_set_list_free(struct cfn_change_set_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->v[i].id);
		free(l->v[i].name);
		free(l->v[i].stack_id);
		free(l->v[i].stack_name);
		free(l->v[i].status);
		free(l->v[i].execution_status);
		free(l->v[i].status_reason);
		free(l->v[i].description);
	}
	free(l->v);
	free(l);
}

void
cfn_stack_list_free(struct cfn_stack_list *l)
{
	struct cfn_stack *s;
	size_t		  i, j;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		s = &l->v[i];
		free(s->id);
		free(s->name);
		free(s->description);
		free(s->status);
		free(s->status_reason);
		free(s->change_set_id);
		cfn_parameters_free(s->parameters, s->nparameters);
		for (j = 0; j < s->noutputs; j++) {
			free(s->outputs[j].key);
			free(s->outputs[j].value);
			free(s->outputs[j].description);
			free(s->outputs[j].export_name);
		}
		free(s->outputs);
		cfn_strings_free(s->capabilities, s->ncapabilities);
		cfn_tags_free(s->tags, s->ntags);
	}
	free(l->v);
	free(l);
}

void
cfn_stack_event_list_free(struct cfn_stack_event_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->v[i].event_id);
		free(l->v[i].stack_id);
		free(l->v[i].stack_name);
		free(l->v[i].logical_id);
		free(l->v[i].physical_id);
		free(l->v[i].resource_type);
		free(l->v[i].status);
		free(l->v[i].status_reason);
	}
	free(l->v);
	free(l);
}

/*
 * The operations: one row each.  A row names the action, its pure
 * parser (adapted to the engine's untyped signature below), the request
 * member of the next page, the result and how the callback is called.
 */

AWS_OP_RESULT_ONE(cfn_ref, struct cfn_change_set_ref, cfn_parse_change_set_ref,
    cfn_change_set_ref_free, cfn_change_set_ref_cb)
AWS_OP_RESULT(cfn_change_set, struct cfn_change_set, cfn_parse_change_set_page,
    cfn_change_set_free, cfn_change_set_cb)
AWS_OP_RESULT(cfn_change_set_list, struct cfn_change_set_list,
    cfn_parse_change_set_list_page, cfn_change_set_list_free,
    cfn_change_set_list_cb)
AWS_OP_RESULT(cfn_stack_list, struct cfn_stack_list, cfn_parse_stacks_page,
    cfn_stack_list_free, cfn_stack_list_cb)
AWS_OP_RESULT(cfn_stack_event_list, struct cfn_stack_event_list,
    cfn_parse_stack_events_page, cfn_stack_event_list_free,
    cfn_stack_event_list_cb)

/* Calls without a result. */
static void
cfn_deliver_done(aws_op_fn cb, const struct aws_reply *reply, void *result,
    void *arg)
{
	((cfn_done_cb)cb)(reply, arg);
}

static const struct aws_op_result cfn_done_result = { NULL, 0, NULL,
	cfn_deliver_done };

static int cfn_stack_events_bound(void *, const void *, const char *);

static const struct aws_op_desc cfn_op_create_change_set = {
	&aws_service_cloudformation, "CreateChangeSet", &cfn_ref_result, NULL,
	NULL, 0,
	{ "cloudformation:CreateChangeSet", AWS_ACCOUNT_ENVIRONMENT, "stack" }
};
static const struct aws_op_desc cfn_op_describe_change_set = {
	&aws_service_cloudformation, "DescribeChangeSet",
	&cfn_change_set_result, "NextToken", NULL, 0,
	{ "cloudformation:DescribeChangeSet", AWS_ACCOUNT_ENVIRONMENT,
	    "change-set" }
};
static const struct aws_op_desc cfn_op_execute_change_set = {
	&aws_service_cloudformation, "ExecuteChangeSet", &cfn_done_result, NULL,
	NULL, 0,
	{ "cloudformation:ExecuteChangeSet", AWS_ACCOUNT_ENVIRONMENT,
	    "change-set" }
};
static const struct aws_op_desc cfn_op_delete_change_set = {
	&aws_service_cloudformation, "DeleteChangeSet", &cfn_done_result, NULL,
	NULL, 0,
	{ "cloudformation:DeleteChangeSet", AWS_ACCOUNT_ENVIRONMENT,
	    "change-set" }
};
static const struct aws_op_desc cfn_op_list_change_sets = {
	&aws_service_cloudformation, "ListChangeSets",
	&cfn_change_set_list_result, "NextToken", NULL, 0,
	{ "cloudformation:ListChangeSets", AWS_ACCOUNT_ENVIRONMENT, "stack" }
};
static const struct aws_op_desc cfn_op_describe_stacks = {
	&aws_service_cloudformation, "DescribeStacks", &cfn_stack_list_result,
	"NextToken", NULL, 0,
	{ "cloudformation:DescribeStacks", AWS_ACCOUNT_ENVIRONMENT, "stack" }
};
static const struct aws_op_desc cfn_op_continue_update_rollback = {
	&aws_service_cloudformation, "ContinueUpdateRollback", &cfn_done_result,
	NULL, NULL, 0,
	{ "cloudformation:ContinueUpdateRollback", AWS_ACCOUNT_ENVIRONMENT,
	    "stack" }
};
static const struct aws_op_desc cfn_op_delete_stack = {
	&aws_service_cloudformation, "DeleteStack", &cfn_done_result, NULL,
	NULL, 0,
	{ "cloudformation:DeleteStack", AWS_ACCOUNT_ENVIRONMENT, "stack" }
};
static const struct aws_op_desc cfn_op_describe_stack_events = {
	&aws_service_cloudformation, "DescribeStackEvents",
	&cfn_stack_event_list_result, "NextToken", cfn_stack_events_bound, 0,
	{ "cloudformation:DescribeStackEvents", AWS_ACCOUNT_ENVIRONMENT,
	    "stack" }
};

AWS_OP_RESULT_ONE(cfn_template, struct cfn_template, cfn_parse_template,
    cfn_template_free, cfn_template_cb)

static const struct aws_op_desc cfn_op_get_template = {
	&aws_service_cloudformation, "GetTemplate", &cfn_template_result, NULL,
	NULL, 0,
	{ "cloudformation:GetTemplate", AWS_ACCOUNT_ENVIRONMENT, "stack" }
};

/* Drift detection (issue 15). */
AWS_OP_RESULT_ONE(cfn_drift_ref, struct cfn_drift_ref, cfn_parse_drift_ref,
    cfn_drift_ref_free, cfn_drift_ref_cb)
AWS_OP_RESULT_ONE(cfn_drift_status, struct cfn_drift_status,
    cfn_parse_drift_status, cfn_drift_status_free, cfn_drift_status_cb)
AWS_OP_RESULT(cfn_resource_drift_list, struct cfn_resource_drift_list,
    cfn_parse_resource_drifts_page, cfn_resource_drift_list_free,
    cfn_resource_drift_list_cb)

static const struct aws_op_desc cfn_op_detect_stack_drift = {
	&aws_service_cloudformation, "DetectStackDrift", &cfn_drift_ref_result,
	NULL, NULL, 0,
	{ "cloudformation:DetectStackDrift", AWS_ACCOUNT_ENVIRONMENT, "stack" }
};
static const struct aws_op_desc cfn_op_describe_drift_status = {
	&aws_service_cloudformation, "DescribeStackDriftDetectionStatus",
	&cfn_drift_status_result, NULL, NULL, 0,
	/* IAM authorises it on no resource type (a detection id is no
	   ARN): granted on "*". */
	{ "cloudformation:DescribeStackDriftDetectionStatus",
	    AWS_ACCOUNT_ENVIRONMENT, "*" }
};
static const struct aws_op_desc cfn_op_describe_resource_drifts = {
	&aws_service_cloudformation, "DescribeStackResourceDrifts",
	&cfn_resource_drift_list_result, "NextToken", NULL, 0,
	{ "cloudformation:DescribeStackResourceDrifts", AWS_ACCOUNT_ENVIRONMENT,
	    "stack" }
};

/* Every call goes to an environment's account, through its role. */
const struct aws_op_desc *const cfn_operations[] = { &cfn_op_create_change_set,
	&cfn_op_describe_change_set, &cfn_op_execute_change_set,
	&cfn_op_delete_change_set, &cfn_op_list_change_sets,
	&cfn_op_describe_stacks, &cfn_op_describe_stack_events,
	&cfn_op_continue_update_rollback, &cfn_op_delete_stack,
	&cfn_op_get_template, &cfn_op_detect_stack_drift,
	&cfn_op_describe_drift_status, &cfn_op_describe_resource_drifts, NULL };

/* CreateChangeSet. */

struct aws_op *
cfn_create_change_set(struct aws_client *client, struct aws_creds *creds,
    const char *region, const struct cfn_create_change_set_input *in,
    cfn_change_set_ref_cb cb, void *arg, char **cause)
{
	struct aws_op *op;
	struct buf    *form;
	char	      *desc, name[64];
	size_t	       i, n;

	if (in->stack_name == NULL || in->change_set_name == NULL) {
		*cause = xstrdup("CloudFormation CreateChangeSet: no stack or "
				 "change set name");
		return (NULL);
	}
	if ((in->template_body == NULL) == (in->template_url == NULL)) {
		*cause = xstrdup("CloudFormation CreateChangeSet: give a "
				 "template body or a template URL, not both");
		return (NULL);
	}
	if (in->template_body != NULL &&
	    strlen(in->template_body) > CFN_TEMPLATE_BODY_MAX) {
		*cause = xasprintf(
		    "CloudFormation CreateChangeSet: the "
		    "template is %zu bytes, over the %d bytes CloudFormation "
		    "takes inline (upload it and pass its URL)",
		    strlen(in->template_body), CFN_TEMPLATE_BODY_MAX);
		return (NULL);
	}

	op = aws_op_new(&cfn_op_create_change_set, client, creds, region);
	form = aws_op_form(op);
	aws_query_add(form, "StackName", in->stack_name);
	aws_query_add(form, "ChangeSetName", in->change_set_name);
	aws_query_add(form, "ChangeSetType",
	    in->type == CFN_CHANGE_SET_CREATE ? "CREATE" : "UPDATE");
	if (in->template_body != NULL)
		aws_query_add(form, "TemplateBody", in->template_body);
	else
		aws_query_add(form, "TemplateURL", in->template_url);
	if (in->description != NULL && *in->description != '\0') {
		desc = cfn_description_truncate(in->description,
		    CFN_DESCRIPTION_MAX);
		aws_query_add(form, "Description", desc);
		free(desc);
	}
	for (i = 0; i < in->nparameters; i++) {
		snprintf(name, sizeof name,
		    "Parameters.member.%zu.ParameterKey", i + 1);
		aws_query_add(form, name, in->parameters[i].key);
		if (in->parameters[i].use_previous) {
			snprintf(name, sizeof name,
			    "Parameters.member.%zu.UsePreviousValue", i + 1);
			aws_query_add(form, name, "true");
		} else {
			snprintf(name, sizeof name,
			    "Parameters.member.%zu.ParameterValue", i + 1);
			aws_query_add(form, name,
			    in->parameters[i].value != NULL ?
				in->parameters[i].value :
				"");
		}
	}
	n = 0;
	if (in->capabilities & CFN_CAPABILITY_IAM) {
		snprintf(name, sizeof name, "Capabilities.member.%zu", ++n);
		aws_query_add(form, name, "CAPABILITY_IAM");
	}
	if (in->capabilities & CFN_CAPABILITY_NAMED_IAM) {
		snprintf(name, sizeof name, "Capabilities.member.%zu", ++n);
		aws_query_add(form, name, "CAPABILITY_NAMED_IAM");
	}
	if (in->capabilities & CFN_CAPABILITY_AUTO_EXPAND) {
		snprintf(name, sizeof name, "Capabilities.member.%zu", ++n);
		aws_query_add(form, name, "CAPABILITY_AUTO_EXPAND");
	}
	for (i = 0; i < in->ntags; i++) {
		snprintf(name, sizeof name, "Tags.member.%zu.Key", i + 1);
		aws_query_add(form, name, in->tags[i].key);
		snprintf(name, sizeof name, "Tags.member.%zu.Value", i + 1);
		aws_query_add(form, name, in->tags[i].value);
	}
	if (in->client_token != NULL)
		aws_query_add(form, "ClientToken", in->client_token);
	if (in->role_arn != NULL)
		aws_query_add(form, "RoleARN", in->role_arn);
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}

/* The calls on one change set: by name and stack, or by ARN. */
static struct aws_op *
cfn_change_set_call(const struct aws_op_desc *d, struct aws_client *client,
    struct aws_creds *creds, const char *region, const char *stack_name,
    const char *change_set, const char *client_request_token, aws_op_fn cb,
    void *arg, char **cause)
{
	struct aws_op *op;

	if (change_set == NULL) {
		*cause = xasprintf("CloudFormation %s: no change set",
		    d->action);
		return (NULL);
	}
	op = aws_op_new(d, client, creds, region);
	aws_query_add(aws_op_form(op), "ChangeSetName", change_set);
	if (stack_name != NULL)
		aws_query_add(aws_op_form(op), "StackName", stack_name);
	if (client_request_token != NULL)
		aws_query_add(aws_op_form(op), "ClientRequestToken",
		    client_request_token);
	return (aws_op_start(op, cb, arg, cause));
}

struct aws_op *
cfn_describe_change_set(struct aws_client *client, struct aws_creds *creds,
    const char *region, const char *stack_name, const char *change_set,
    cfn_change_set_cb cb, void *arg, char **cause)
{
	return (cfn_change_set_call(&cfn_op_describe_change_set, client, creds,
	    region, stack_name, change_set, NULL, (aws_op_fn)cb, arg, cause));
}

struct aws_op *
cfn_execute_change_set(struct aws_client *client, struct aws_creds *creds,
    const char *region, const char *stack_name, const char *change_set,
    const char *client_request_token, cfn_done_cb cb, void *arg, char **cause)
{
	return (cfn_change_set_call(&cfn_op_execute_change_set, client, creds,
	    region, stack_name, change_set, client_request_token, (aws_op_fn)cb,
	    arg, cause));
}

struct aws_op *
cfn_delete_change_set(struct aws_client *client, struct aws_creds *creds,
    const char *region, const char *stack_name, const char *change_set,
    cfn_done_cb cb, void *arg, char **cause)
{
	return (cfn_change_set_call(&cfn_op_delete_change_set, client, creds,
	    region, stack_name, change_set, NULL, (aws_op_fn)cb, arg, cause));
}

/* The calls on one stack (all of them when stack_name is NULL and the
   action allows it). */
static struct aws_op *
cfn_stack_call(const struct aws_op_desc *d, struct aws_client *client,
    struct aws_creds *creds, const char *region, const char *stack_name,
    int need_stack, const void *params, size_t nparams, aws_op_fn cb, void *arg,
    char **cause)
{
	struct aws_op *op;

	if (need_stack && stack_name == NULL) {
		*cause = xasprintf("CloudFormation %s: no stack", d->action);
		return (NULL);
	}
	op = aws_op_new(d, client, creds, region);
	if (stack_name != NULL)
		aws_query_add(aws_op_form(op), "StackName", stack_name);
	if (params != NULL)
		aws_op_params(op, params, nparams);
	return (aws_op_start(op, cb, arg, cause));
}

struct aws_op *
cfn_list_change_sets(struct aws_client *client, struct aws_creds *creds,
    const char *region, const char *stack_name, cfn_change_set_list_cb cb,
    void *arg, char **cause)
{
	return (cfn_stack_call(&cfn_op_list_change_sets, client, creds, region,
	    stack_name, 1, NULL, 0, (aws_op_fn)cb, arg, cause));
}

struct aws_op *
cfn_describe_stacks(struct aws_client *client, struct aws_creds *creds,
    const char *region, const char *stack_name, cfn_stack_list_cb cb, void *arg,
    char **cause)
{
	return (cfn_stack_call(&cfn_op_describe_stacks, client, creds, region,
	    stack_name, 0, NULL, 0, (aws_op_fn)cb, arg, cause));
}

struct aws_op *
cfn_continue_update_rollback(struct aws_client *client, struct aws_creds *creds,
    const char *region, const char *stack_name, const char *const *skip,
    size_t nskip, const char *token, cfn_done_cb cb, void *arg, char **cause)
{
	struct aws_op *op;
	char	       name[64];
	size_t	       i;

	if (stack_name == NULL) {
		*cause = xstrdup("CloudFormation ContinueUpdateRollback: no "
				 "stack");
		return (NULL);
	}
	op = aws_op_new(&cfn_op_continue_update_rollback, client, creds,
	    region);
	aws_query_add(aws_op_form(op), "StackName", stack_name);
	for (i = 0; i < nskip; i++) {
		snprintf(name, sizeof name, "ResourcesToSkip.member.%zu",
		    i + 1);
		aws_query_add(aws_op_form(op), name, skip[i]);
	}
	if (token != NULL)
		aws_query_add(aws_op_form(op), "ClientRequestToken", token);
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}

struct aws_op *
cfn_delete_stack(struct aws_client *client, struct aws_creds *creds,
    const char *region, const char *stack, const char *token, cfn_done_cb cb,
    void *arg, char **cause)
{
	struct aws_op *op;

	if (stack == NULL) {
		*cause = xstrdup("CloudFormation DeleteStack: no stack");
		return (NULL);
	}
	op = aws_op_new(&cfn_op_delete_stack, client, creds, region);
	aws_query_add(aws_op_form(op), "StackName", stack);
	if (token != NULL)
		aws_query_add(aws_op_form(op), "ClientRequestToken", token);
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}

/* DescribeStackEvents. */

static int
cfn_timespec_before(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return (a->tv_sec < b->tv_sec);
	return (a->tv_nsec < b->tv_nsec);
}

static void
cfn_stack_event_clear(struct cfn_stack_event *e)
{
	free(e->event_id);
	free(e->stack_id);
	free(e->stack_name);
	free(e->logical_id);
	free(e->physical_id);
	free(e->resource_type);
	free(e->status);
	free(e->status_reason);
}

/*
 * After each page: newest first, the first event past a bound ends the
 * reading.  Earlier pages were within the bounds, so looking from the
 * first event again finds the same place.
 */
static int
cfn_stack_events_bound(void *result, const void *params, const char *next)
{
	struct cfn_stack_event_list	     *l = result;
	const struct cfn_stack_events_bounds *b = params;
	size_t				      i, keep;

	if (b == NULL)
		return (0);
	keep = l->n;
	for (i = 0; i < l->n; i++) {
		if (b->max_events != 0 && i >= b->max_events) {
			keep = i;
			break;
		}
		if ((b->since.tv_sec != 0 || b->since.tv_nsec != 0) &&
		    cfn_timespec_before(&l->v[i].timestamp, &b->since)) {
			keep = i;
			break;
		}
	}
	if (keep < l->n) {
		for (i = keep; i < l->n; i++)
			cfn_stack_event_clear(&l->v[i]);
		l->n = keep;
		l->truncated = 1;
		return (1);
	}
	if (b->max_events != 0 && l->n >= b->max_events && next != NULL) {
		l->truncated = 1;
		return (1);
	}
	return (0);
}

struct aws_op *
cfn_describe_stack_events(struct aws_client *client, struct aws_creds *creds,
    const char *region, const char *stack_name,
    const struct cfn_stack_events_bounds *bounds, cfn_stack_event_list_cb cb,
    void *arg, char **cause)
{
	return (cfn_stack_call(&cfn_op_describe_stack_events, client, creds,
	    region, stack_name, 1, bounds, sizeof *bounds, (aws_op_fn)cb, arg,
	    cause));
}

/* Pure helpers. */

void
cfn_change_summary_init(struct cfn_change_summary *s,
    const struct cfn_change_set			  *cs)
{
	const struct cfn_resource_change *c;
	size_t				  i;

	memset(s, 0, sizeof *s);
	for (i = 0; cs != NULL && i < cs->nchanges; i++) {
		c = &cs->changes[i];
		switch (c->action) {
		case CFN_ACTION_ADD:
			s->adds++;
			break;
		case CFN_ACTION_MODIFY:
			s->modifies++;
			break;
		case CFN_ACTION_REMOVE:
			s->removes++;
			break;
		case CFN_ACTION_IMPORT:
			s->imports++;
			break;
		case CFN_ACTION_DYNAMIC:
			s->dynamics++;
			break;
		default:
			s->others++;
			break;
		}
		if (c->replacement == CFN_REPLACEMENT_TRUE) {
			s->replaced = xreallocarray(s->replaced,
			    s->nreplaced + 1, sizeof *s->replaced);
			s->replaced[s->nreplaced++] = i;
		} else if (c->replacement == CFN_REPLACEMENT_CONDITIONAL) {
			s->conditional = xreallocarray(s->conditional,
			    s->nconditional + 1, sizeof *s->conditional);
			s->conditional[s->nconditional++] = i;
		}
	}
}

void
cfn_change_summary_clear(struct cfn_change_summary *s)
{
	free(s->replaced);
	free(s->conditional);
	memset(s, 0, sizeof *s);
}

static void
cfn_summary_ids(struct buf *b, const char *what, const size_t *idx, size_t n,
    const struct cfn_change_set *cs)
{
	size_t i;

	if (n == 0)
		return;
	buf_printf(b, "; %s: ", what);
	for (i = 0; i < n; i++)
		buf_printf(b, "%s%s", i > 0 ? ", " : "",
		    cs->changes[idx[i]].logical_id);
}

char *
cfn_change_summary_text(const struct cfn_change_summary *s,
    const struct cfn_change_set				*cs)
{
	struct buf b;
	char	  *text;

	buf_init(&b, SIZE_MAX / 2);
	buf_printf(&b, "%zu to add, %zu to modify, %zu to remove", s->adds,
	    s->modifies, s->removes);
	if (s->imports > 0)
		buf_printf(&b, ", %zu to import", s->imports);
	if (s->dynamics > 0)
		buf_printf(&b, ", %zu dynamic", s->dynamics);
	if (s->others > 0)
		buf_printf(&b, ", %zu other", s->others);
	cfn_summary_ids(&b, "replaced", s->replaced, s->nreplaced, cs);
	cfn_summary_ids(&b, "maybe replaced", s->conditional, s->nconditional,
	    cs);
	text = buf_take(&b, NULL);
	buf_free(&b);
	return (text);
}

int
cfn_change_set_is_empty(const struct cfn_change_set *cs)
{
	const char *r = cs->status_reason;

	if (cs->status == NULL || strcmp(cs->status, "FAILED") != 0 ||
	    r == NULL)
		return (0);
	return (strncmp(r,
		    "The submitted information didn't contain "
		    "changes",
		    48) == 0 ||
		strncmp(r, "No updates are to be performed", 30) == 0);
}

static int
cfn_ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return (ls >= lx && strcmp(s + ls - lx, suffix) == 0);
}

enum cfn_stack_state
cfn_stack_state(const char *status)
{
	if (status == NULL)
		return (CFN_STACK_OTHER);
	if (strcmp(status, "CREATE_COMPLETE") == 0 ||
	    strcmp(status, "UPDATE_COMPLETE") == 0 ||
	    strcmp(status, "IMPORT_COMPLETE") == 0)
		return (CFN_STACK_OK);
	if (strstr(status, "ROLLBACK") != NULL)
		return (CFN_STACK_ROLLBACK);
	if (cfn_ends_with(status, "_FAILED"))
		return (CFN_STACK_FAILED);
	return (CFN_STACK_OTHER);
}

enum cfn_change_set_state
cfn_change_set_state(const char *status)
{
	if (status == NULL)
		return (CFN_CHANGE_SET_OTHER);
	if (strcmp(status, "CREATE_COMPLETE") == 0)
		return (CFN_CHANGE_SET_CREATED);
	if (strcmp(status, "FAILED") == 0)
		return (CFN_CHANGE_SET_FAILED);
	if (strcmp(status, "DELETE_COMPLETE") == 0 ||
	    strcmp(status, "DELETE_FAILED") == 0)
		return (CFN_CHANGE_SET_DELETED);
	return (CFN_CHANGE_SET_OTHER);
}

enum cfn_execution_state
cfn_execution_state(const char *status)
{
	if (status == NULL)
		return (CFN_EXECUTION_OTHER);
	if (strcmp(status, "AVAILABLE") == 0)
		return (CFN_EXECUTION_AVAILABLE);
	if (strcmp(status, "UNAVAILABLE") == 0)
		return (CFN_EXECUTION_UNAVAILABLE);
	if (strncmp(status, "EXECUTE_", 8) == 0)
		return (CFN_EXECUTION_STARTED);
	if (strcmp(status, "OBSOLETE") == 0)
		return (CFN_EXECUTION_OBSOLETE);
	return (CFN_EXECUTION_OTHER);
}

int
cfn_change_set_status_final(const char *status)
{
	return (cfn_change_set_state(status) != CFN_CHANGE_SET_OTHER);
}

int
cfn_stack_status_final(const char *status)
{
	return (status != NULL && (cfn_ends_with(status, "_COMPLETE") ||
				      cfn_ends_with(status, "_FAILED")));
}

int
cfn_stack_status_ok(const char *status)
{
	return (cfn_stack_state(status) == CFN_STACK_OK);
}

const struct cfn_stack_event *
cfn_stack_events_first_failure(const struct cfn_stack_event_list *l)
{
	const struct cfn_stack_event *e;
	size_t			      i;

	for (i = l->n; i > 0; i--) {
		e = &l->v[i - 1];
		if (e->status == NULL || !cfn_ends_with(e->status, "_FAILED"))
			continue;
		if (e->resource_type != NULL &&
		    strcmp(e->resource_type, "AWS::CloudFormation::Stack") == 0)
			continue;
		return (e);
	}
	return (NULL);
}

int
cfn_reply_stack_missing(const struct aws_reply *r)
{
	return (r->error == AWS_EAWS &&
		strcmp(r->aws.code, "ValidationError") == 0 &&
		strncmp(r->aws.message, "Stack with id ", 14) == 0 &&
		cfn_ends_with(r->aws.message, " does not exist"));
}

int
cfn_reply_change_set_missing(const struct aws_reply *r)
{
	return (r->error == AWS_EAWS &&
		(strcmp(r->aws.code, "ChangeSetNotFound") == 0 ||
		    strcmp(r->aws.code, "ChangeSetNotFoundException") == 0));
}

int
cfn_reply_no_changes(const struct aws_reply *r)
{
	return (r->error == AWS_EAWS &&
		strcmp(r->aws.code, "ValidationError") == 0 &&
		(strncmp(r->aws.message, "No updates are to be performed",
		     30) == 0 ||
		    strncmp(r->aws.message,
			"The submitted information didn't "
			"contain changes",
			48) == 0));
}

/*
 * Length of the valid UTF-8 sequence at p (n bytes left), or 0 when it
 * is not one (overlong forms, surrogates and values past U+10FFFF are
 * not valid).
 */
static size_t
cfn_utf8_len(const unsigned char *p, size_t n)
{
	size_t	     len, i;
	unsigned int c, min;

	if (p[0] < 0x80)
		return (1);
	if ((p[0] & 0xe0) == 0xc0) {
		len = 2;
		c = p[0] & 0x1f;
		min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3;
		c = p[0] & 0x0f;
		min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4;
		c = p[0] & 0x07;
		min = 0x10000;
	} else
		return (0);
	if (len > n)
		return (0);
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return (0);
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return (0);
	return (len);
}

char *
cfn_description_truncate(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t		     n = strlen(s), i, len, limit;
	struct buf	     b;
	char		    *out;
	int		     cutting;

	/* Each invalid byte becomes one '?': the output is n bytes long. */
	if (max < 4)
		max = 4;
	cutting = n > max;
	limit = cutting ? max - 3 : max;
	buf_init(&b, max);
	for (i = 0; i < n; i += len) {
		if ((len = cfn_utf8_len(p + i, n - i)) == 0)
			len = 1;
		if (i + len > limit)
			break;
		if (cfn_utf8_len(p + i, n - i) == 0 ||
		    (p[i] < 0x20 && p[i] != '\n' && p[i] != '\t') ||
		    p[i] == 0x7f)
			buf_append(&b, "?", 1);
		else
			buf_append(&b, p + i, len);
	}
	if (cutting)
		buf_appends(&b, "...");
	out = buf_take(&b, NULL);
	buf_free(&b);
	if (out == NULL)
		out = xstrdup("");
	return (out);
}

/* GetTemplate (issue 15). */

int
cfn_parse_template(struct cfn_template *t, const void *data, size_t len,
    char **cause)
{
	struct xml	      *xml;
	const struct xml_node *r;
	const char	      *body;

	memset(t, 0, sizeof *t);
	if ((xml = cfn_result(data, len, "GetTemplate", &r, NULL, cause)) ==
	    NULL)
		return (-1);
	body = xml_find_text(r, "TemplateBody");
	t->body = xstrdup(body != NULL ? body : "");
	t->len = strlen(t->body);
	xml_free(xml);
	return (0);
}

void
cfn_template_free(struct cfn_template *t)
{
	if (t == NULL)
		return;
	free(t->body);
	free(t);
}


struct aws_op *
cfn_get_template(struct aws_client *client, struct aws_creds *creds,
    const char *region, const char *stack_name, cfn_template_cb cb, void *arg,
    char **cause)
{
	struct aws_op *op;

	if (stack_name == NULL) {
		*cause = xstrdup("CloudFormation GetTemplate: no stack");
		return (NULL);
	}
	op = aws_op_new(&cfn_op_get_template, client, creds, region);
	aws_query_add(aws_op_form(op), "StackName", stack_name);
	aws_query_add(aws_op_form(op), "TemplateStage", "Original");
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}

/*
 * Drift detection (issue 15).  The replies are AWS's but read as
 * untrusted: a missing member is an error naming it, a list over its
 * bound is refused, a value over CFN_DRIFT_VALUE_MAX bytes is cut.
 */

/* A value of a reply, kept at most CFN_DRIFT_VALUE_MAX bytes. */
static char *
cfn_drift_value(const struct xml_node *n, const char *path)
{
	const char *s;

	if ((s = xml_find_text(n, path)) == NULL)
		return (NULL);
	if (strlen(s) > CFN_DRIFT_VALUE_MAX)
		return (cfn_description_truncate(s, CFN_DRIFT_VALUE_MAX));
	return (xstrdup(s));
}

int
cfn_parse_drift_ref(struct cfn_drift_ref *d, const void *data, size_t len,
    char **cause)
{
	struct xml	      *xml;
	const struct xml_node *r;

	memset(d, 0, sizeof *d);
	if ((xml = cfn_result(data, len, "DetectStackDrift", &r, NULL,
		 cause)) == NULL)
		return (-1);
	d->detection_id = cfn_drift_value(r, "StackDriftDetectionId");
	xml_free(xml);
	if (d->detection_id == NULL || *d->detection_id == '\0') {
		*cause = xstrdup("DetectStackDrift: no StackDriftDetectionId "
				 "in the reply");
		return (-1);
	}
	return (0);
}

void
cfn_drift_ref_free(struct cfn_drift_ref *d)
{
	if (d == NULL)
		return;
	free(d->detection_id);
	free(d);
}

int
cfn_parse_drift_status(struct cfn_drift_status *d, const void *data, size_t len,
    char **cause)
{
	struct xml	      *xml;
	const struct xml_node *r;
	const char	      *s;
	int		       rc = -1;

	memset(d, 0, sizeof *d);
	d->drifted_count = -1;
	if ((xml = cfn_result(data, len, "DescribeStackDriftDetectionStatus",
		 &r, NULL, cause)) == NULL)
		return (-1);
	if ((s = xml_find_text(r, "DetectionStatus")) == NULL) {
		*cause = xstrdup("DescribeStackDriftDetectionStatus: no "
				 "DetectionStatus in the reply");
		goto out;
	}
	if (strcmp(s, "DETECTION_IN_PROGRESS") == 0)
		d->state = CFN_DETECTION_IN_PROGRESS;
	else if (strcmp(s, "DETECTION_COMPLETE") == 0)
		d->state = CFN_DETECTION_COMPLETE;
	else if (strcmp(s, "DETECTION_FAILED") == 0)
		d->state = CFN_DETECTION_FAILED;
	else {
		*cause = xstrdup("DescribeStackDriftDetectionStatus: an "
				 "unknown DetectionStatus");
		goto out;
	}
	d->detection_status = xstrdup(s);
	d->stack_drift_status = cfn_drift_value(r, "StackDriftStatus");
	d->reason = cfn_drift_value(r, "DetectionStatusReason");
	if (xml_find(r, "DriftedStackResourceCount") != NULL &&
	    xml_get_int(r, "DriftedStackResourceCount", &d->drifted_count,
		cause) != 0)
		goto out;
	if (d->state == CFN_DETECTION_COMPLETE &&
	    d->stack_drift_status == NULL) {
		*cause = xstrdup(
		    "DescribeStackDriftDetectionStatus: a complete "
		    "detection without StackDriftStatus");
		goto out;
	}
	rc = 0;
out:
	xml_free(xml);
	return (rc);
}

void
cfn_drift_status_free(struct cfn_drift_status *d)
{
	if (d == NULL)
		return;
	free(d->detection_status);
	free(d->stack_drift_status);
	free(d->reason);
	free(d);
}

static int
cfn_parse_resource_drift(struct cfn_resource_drift *rd,
    const struct xml_node *m, char **cause)
{
	const struct xml_node	       *p;
	struct cfn_property_difference *pd;

	memset(rd, 0, sizeof *rd);
	rd->logical_id = cfn_drift_value(m, "LogicalResourceId");
	rd->physical_id = cfn_drift_value(m, "PhysicalResourceId");
	rd->resource_type = cfn_drift_value(m, "ResourceType");
	rd->status = cfn_drift_value(m, "StackResourceDriftStatus");
	if (rd->logical_id == NULL || rd->resource_type == NULL ||
	    rd->status == NULL) {
		*cause = xstrdup("DescribeStackResourceDrifts: a resource "
				 "without LogicalResourceId, ResourceType or "
				 "StackResourceDriftStatus");
		return (-1);
	}
	for (p = xml_find(m, "PropertyDifferences/member"); p != NULL;
	     p = xml_next(p)) {
		if (rd->ndiffs == CFN_DRIFT_DIFFERENCES_MAX) {
			*cause = xasprintf("DescribeStackResourceDrifts: "
					   "resource %s has over %d property "
					   "differences",
			    rd->logical_id, CFN_DRIFT_DIFFERENCES_MAX);
			return (-1);
		}
		rd->diffs = xreallocarray(rd->diffs, rd->ndiffs + 1,
		    sizeof *rd->diffs);
		pd = &rd->diffs[rd->ndiffs++];
		pd->path = cfn_drift_value(p, "PropertyPath");
		pd->expected = cfn_drift_value(p, "ExpectedValue");
		pd->actual = cfn_drift_value(p, "ActualValue");
		pd->type = cfn_drift_value(p, "DifferenceType");
		if (pd->path == NULL || pd->type == NULL) {
			*cause = xasprintf("DescribeStackResourceDrifts: a "
					   "property difference of %s without "
					   "PropertyPath or DifferenceType",
			    rd->logical_id);
			return (-1);
		}
	}
	return (0);
}

int
cfn_parse_resource_drifts_page(struct cfn_resource_drift_list *l,
    const void *data, size_t len, char **next_token, char **cause)
{
	struct xml	      *xml;
	const struct xml_node *r, *m;
	int		       rc = -1;

	if ((xml = cfn_result(data, len, "DescribeStackResourceDrifts", &r,
		 next_token, cause)) == NULL)
		return (-1);
	for (m = xml_find(r, "StackResourceDrifts/member"); m != NULL;
	     m = xml_next(m)) {
		if (l->n == CFN_DRIFT_RESOURCES_MAX) {
			*cause = xasprintf("DescribeStackResourceDrifts: over "
					   "%d drifted resources",
			    CFN_DRIFT_RESOURCES_MAX);
			goto out;
		}
		l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
		if (cfn_parse_resource_drift(&l->v[l->n++], m, cause) != 0)
			goto out;
	}
	rc = 0;
out:
	xml_free(xml);
	if (rc != 0 && next_token != NULL) {
		free(*next_token);
		*next_token = NULL;
	}
	return (rc);
}

void
cfn_resource_drift_list_free(struct cfn_resource_drift_list *l)
{
	size_t i, j;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->v[i].logical_id);
		free(l->v[i].physical_id);
		free(l->v[i].resource_type);
		free(l->v[i].status);
		for (j = 0; j < l->v[i].ndiffs; j++) {
			free(l->v[i].diffs[j].path);
			free(l->v[i].diffs[j].expected);
			free(l->v[i].diffs[j].actual);
			free(l->v[i].diffs[j].type);
		}
		free(l->v[i].diffs);
	}
	free(l->v);
	free(l);
}

struct aws_op *
cfn_detect_stack_drift(struct aws_client *client, struct aws_creds *creds,
    const char *region, const char *stack_name, cfn_drift_ref_cb cb, void *arg,
    char **cause)
{
	struct aws_op *op;

	if (stack_name == NULL) {
		*cause = xstrdup("CloudFormation DetectStackDrift: no stack");
		return (NULL);
	}
	op = aws_op_new(&cfn_op_detect_stack_drift, client, creds, region);
	aws_query_add(aws_op_form(op), "StackName", stack_name);
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}

struct aws_op *
cfn_describe_drift_status(struct aws_client *client, struct aws_creds *creds,
    const char *region, const char *detection_id, cfn_drift_status_cb cb,
    void *arg, char **cause)
{
	struct aws_op *op;

	if (detection_id == NULL) {
		*cause = xstrdup("CloudFormation "
				 "DescribeStackDriftDetectionStatus: no "
				 "detection id");
		return (NULL);
	}
	op = aws_op_new(&cfn_op_describe_drift_status, client, creds, region);
	aws_query_add(aws_op_form(op), "StackDriftDetectionId", detection_id);
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}

struct aws_op *
cfn_describe_resource_drifts(struct aws_client *client, struct aws_creds *creds,
    const char *region, const char *stack_name, cfn_resource_drift_list_cb cb,
    void *arg, char **cause)
{
	struct aws_op *op;
	struct buf    *form;

	if (stack_name == NULL) {
		*cause = xstrdup("CloudFormation DescribeStackResourceDrifts: "
				 "no stack");
		return (NULL);
	}
	op = aws_op_new(&cfn_op_describe_resource_drifts, client, creds,
	    region);
	form = aws_op_form(op);
	aws_query_add(form, "StackName", stack_name);
	aws_query_add(form, "StackResourceDriftStatusFilters.member.1",
	    "MODIFIED");
	aws_query_add(form, "StackResourceDriftStatusFilters.member.2",
	    "DELETED");
	aws_query_add(form, "MaxResults", "100");
	return (aws_op_start(op, (aws_op_fn)cb, arg, cause));
}
