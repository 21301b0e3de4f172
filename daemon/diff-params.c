/*
 * Parameter changes of a stage, pure (diff-params.h).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "config.h"
#include "diff-params.h"
#include "xmalloc.h"

#define DIFF_LEVELS 8 /* levels of the template followed */

const char *
diff_change_name(enum diff_change c)
{
	switch (c) {
	case DIFF_ADDED:
		return ("added");
	case DIFF_MODIFIED:
		return ("modified");
	case DIFF_REMOVED:
		return ("removed");
	case DIFF_UNCHANGED:
		return ("unchanged");
	case DIFF_HIDDEN:
		return ("hidden");
	}
	return ("unknown");
}

static struct diff_tparam *
tparam_add(struct diff_tparams *tp, const char *name)
{
	struct diff_tparam *p;

	tp->v = xreallocarray(tp->v, tp->n + 1, sizeof *tp->v);
	p = &tp->v[tp->n++];
	memset(p, 0, sizeof *p);
	p->name = xstrdup(name);
	return (p);
}

static int
is_true(const char *s)
{
	return (strcasecmp(s, "true") == 0);
}

static int
template_params_json(const char *data, size_t len, struct diff_tparams *tp,
    char **cause)
{
	json_t		   *root, *params, *v, *d, *ne;
	struct diff_tparam *p;
	json_error_t	    jerr;
	const char	   *key;
	char		    num[64];

	if ((root = json_loadb(data, len, 0, &jerr)) == NULL) {
		*cause = xasprintf("not JSON: line %d: %s", jerr.line,
		    jerr.text);
		return (-1);
	}
	params = json_object_get(root, "Parameters");
	json_object_foreach(params, key, v) {
		p = tparam_add(tp, key);
		d = json_object_get(v, "Default");
		if (json_is_string(d))
			p->def = xstrdup(json_string_value(d));
		else if (json_is_integer(d)) {
			snprintf(num, sizeof num, "%lld",
			    (long long)json_integer_value(d));
			p->def = xstrdup(num);
		} else if (json_is_real(d)) {
			snprintf(num, sizeof num, "%.17g", json_real_value(d));
			p->def = xstrdup(num);
		} else if (json_is_boolean(d))
			p->def = xstrdup(json_is_true(d) ? "true" : "false");
		ne = json_object_get(v, "NoEcho");
		p->no_echo = json_is_true(ne) ||
			     (json_is_string(ne) &&
				 is_true(json_string_value(ne)));
	}
	json_decref(root);
	return (0);
}

/* A level of the YAML document being walked. */
struct diff_level {
	int   mapping;
	int   want_key;
	int   kind; /* 0, 1 top, 2 Parameters, 3 one */
	char *key;  /* the last key read at this level */
};

static int
template_params_yaml(const char *data, size_t len, struct diff_tparams *tp,
    char **cause)
{
	yaml_parser_t	    parser;
	yaml_event_t	    ev;
	struct diff_level   lv[DIFF_LEVELS], *parent;
	struct diff_tparam *cur = NULL;
	const char	   *val;
	int		    depth = 0, is_key, kind, done = 0, rc = 0;

	memset(lv, 0, sizeof lv);
	if (!yaml_parser_initialize(&parser)) {
		*cause = xstrdup("cannot parse YAML");
		return (-1);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			*cause = xasprintf("not YAML: line %zu: %s",
			    parser.problem_mark.line + 1,
			    parser.problem != NULL ? parser.problem : "error");
			rc = -1;
			break;
		}
		parent = depth > 0 && depth <= DIFF_LEVELS ? &lv[depth - 1] :
							     NULL;
		switch (ev.type) {
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			is_key = parent != NULL && parent->mapping &&
				 parent->want_key;
			if (parent != NULL && parent->mapping)
				parent->want_key = !parent->want_key;
			if (ev.type == YAML_SCALAR_EVENT) {
				val = (const char *)ev.data.scalar.value;
				if (is_key) {
					free(parent->key);
					parent->key = xstrdup(val);
				} else if (parent != NULL &&
					   parent->kind == 3 && cur != NULL &&
					   parent->key != NULL) {
					if (strcmp(parent->key, "Default") ==
					    0) {
						free(cur->def);
						cur->def = xstrdup(val);
					} else if (strcmp(parent->key,
						       "NoEcho") == 0)
						cur->no_echo = is_true(val);
				}
				break;
			}
			if (ev.type == YAML_ALIAS_EVENT)
				break;
			kind = 0;
			if (ev.type == YAML_MAPPING_START_EVENT && !is_key) {
				if (depth == 0)
					kind = 1;
				else if (parent != NULL && parent->kind == 1 &&
					 parent->key != NULL &&
					 strcmp(parent->key, "Parameters") == 0)
					kind = 2;
				else if (parent != NULL && parent->kind == 2 &&
					 parent->key != NULL) {
					kind = 3;
					cur = tparam_add(tp, parent->key);
				}
			}
			if (depth < DIFF_LEVELS) {
				lv[depth].mapping = ev.type ==
						    YAML_MAPPING_START_EVENT;
				lv[depth].want_key = 1;
				lv[depth].kind = kind;
				lv[depth].key = NULL;
			}
			depth++;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			if (depth > 0) {
				depth--;
				if (depth < DIFF_LEVELS) {
					if (lv[depth].kind == 3)
						cur = NULL;
					free(lv[depth].key);
					lv[depth].key = NULL;
				}
			}
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	while (depth > 0) {
		depth--;
		if (depth < DIFF_LEVELS)
			free(lv[depth].key);
	}
	yaml_parser_delete(&parser);
	return (rc);
}

int
diff_template_params(const char *name, const char *data, size_t len,
    struct diff_tparams *tp, char **cause)
{
	size_t nlen = strlen(name);
	int    rc;

	memset(tp, 0, sizeof *tp);
	if (nlen >= 5 && strcmp(name + nlen - 5, ".json") == 0)
		rc = template_params_json(data, len, tp, cause);
	else
		rc = template_params_yaml(data, len, tp, cause);
	if (rc != 0)
		diff_tparams_free(tp);
	return (rc);
}

void
diff_tparams_free(struct diff_tparams *tp)
{
	size_t i;

	for (i = 0; i < tp->n; i++) {
		free(tp->v[i].name);
		free(tp->v[i].def);
	}
	free(tp->v);
	memset(tp, 0, sizeof *tp);
}

int
diff_no_echo_names(const char *name, const char *data, size_t len,
    struct config_strings *names, char **cause)
{
	struct diff_tparams tp;
	size_t		    i;

	memset(&tp, 0, sizeof tp);
	names->items = NULL;
	names->n = 0;
	if (diff_template_params(name, data, len, &tp, cause) != 0) {
		diff_tparams_free(&tp);
		return (-1);
	}
	names->items = xcalloc(tp.n + 1, sizeof *names->items);
	for (i = 0; i < tp.n; i++)
		if (tp.v[i].no_echo)
			names->items[names->n++] = xstrdup(tp.v[i].name);
	diff_tparams_free(&tp);
	return (0);
}

void
diff_names_free(struct config_strings *names)
{
	size_t i;

	for (i = 0; i < names->n; i++)
		free(names->items[i]);
	free(names->items);
	names->items = NULL;
	names->n = 0;
}

static const char *
kvs_get(const struct config_kvs *kvs, const char *key)
{
	size_t i;

	for (i = 0; kvs != NULL && i < kvs->n; i++)
		if (strcmp(kvs->items[i].key, key) == 0)
			return (kvs->items[i].value);
	return (NULL);
}

static int
diff_has(const struct diff_params *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->v[i].name, name) == 0)
			return (1);
	return (0);
}

static void
diff_add(struct diff_params *d, const char *name, const char *old,
    const char *new, int no_echo)
{
	struct diff_param *p;

	if (old != NULL && strcmp(old, DIFF_MASK) == 0)
		no_echo = 1; /* AWS masked it: the old template's NoEcho */
	d->v = xreallocarray(d->v, d->n + 1, sizeof *d->v);
	p = &d->v[d->n++];
	memset(p, 0, sizeof *p);
	p->name = xstrdup(name);
	p->no_echo = no_echo;
	/* A NoEcho value is never copied, not even into memory. */
	if (old != NULL)
		p->old_value = xstrdup(no_echo ? DIFF_MASK : old);
	if (new != NULL)
		p->new_value = xstrdup(no_echo ? DIFF_MASK : new);
	if (old == NULL && new == NULL)
		p->change = DIFF_UNCHANGED;
	else if (old == NULL)
		p->change = DIFF_ADDED;
	else if (new == NULL)
		p->change = DIFF_REMOVED;
	else if (no_echo)
		p->change = DIFF_HIDDEN;
	else
		p->change = strcmp(old, new) == 0 ? DIFF_UNCHANGED :
						    DIFF_MODIFIED;
	if (p->change != DIFF_UNCHANGED)
		d->changed++;
}

void
diff_params(const struct config_kvs *old, const struct config_kvs *sent,
    const struct diff_tparams *tp, struct diff_params *d)
{
	const char *nv;
	size_t	    i;

	memset(d, 0, sizeof *d);
	for (i = 0; tp != NULL && i < tp->n; i++) {
		if (diff_has(d, tp->v[i].name))
			continue;
		if ((nv = kvs_get(sent, tp->v[i].name)) == NULL)
			nv = tp->v[i].def;
		diff_add(d, tp->v[i].name, kvs_get(old, tp->v[i].name), nv,
		    tp->v[i].no_echo);
	}
	for (i = 0; sent != NULL && i < sent->n; i++)
		if (!diff_has(d, sent->items[i].key))
			diff_add(d, sent->items[i].key,
			    kvs_get(old, sent->items[i].key),
			    sent->items[i].value, 0);
	for (i = 0; old != NULL && i < old->n; i++)
		if (!diff_has(d, old->items[i].key))
			diff_add(d, old->items[i].key, old->items[i].value,
			    NULL, 0);
}

void
diff_params_free(struct diff_params *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].name);
		free(d->v[i].old_value);
		free(d->v[i].new_value);
	}
	free(d->v);
	memset(d, 0, sizeof *d);
}
