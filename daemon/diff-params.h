/*
 * What a stage's change set does to the stack's parameters, pure: the
 * template's declared parameters (Default, NoEcho), and the stack's
 * current values (DescribeStacks) against those the run sends, one row
 * per parameter.
 *
 * NoEcho.  A parameter the new template declares NoEcho, or whose
 * current value AWS masked ("****"), is "****" on both sides of its row:
 * its value is never copied into a row, so nothing built from the rows
 * (the store, the page, the API, the mail) can reveal it.  Whether such a
 * value changes cannot be told: its row is "hidden" when set on both
 * sides.
 */
#ifndef SHIPGATE_DIFF_PARAMS_H
#define SHIPGATE_DIFF_PARAMS_H

#include <stddef.h>

struct config_kvs;
struct config_strings;

#define DIFF_MASK "****" /* as AWS masks NoEcho values */

struct diff_tparam {
	char *name;
	char *def; /* Default, or NULL */
	int   no_echo;
};

struct diff_tparams {
	struct diff_tparam *v; /* in the template's order */
	size_t		    n;
};

/*
 * The top-level Parameters of a template (JSON for a name ending in
 * .json, else YAML).  0, or -1 with *cause (the template does not
 * parse); a template without Parameters has none.
 */
int  diff_template_params(const char *name, const char *data, size_t len,
     struct diff_tparams *, char **cause);
void diff_tparams_free(struct diff_tparams *);
/*
 * The names of the template's NoEcho parameters into *names (the
 * caller frees them with diff_names_free).  0, or -1 with *cause as
 * diff_template_params.
 */
int  diff_no_echo_names(const char *name, const char *data, size_t len,
     struct config_strings *names, char **cause);
void diff_names_free(struct config_strings *);

enum diff_change {
	DIFF_ADDED, /* not set before */
	DIFF_MODIFIED,
	DIFF_REMOVED, /* no longer set */
	DIFF_UNCHANGED,
	DIFF_HIDDEN /* NoEcho on both sides: cannot be told */
};

const char *diff_change_name(enum diff_change);

struct diff_param {
	char		*name;
	char		*old_value; /* NULL: not set before */
	char		*new_value; /* NULL: no longer set */
	enum diff_change change;
	int		 no_echo;
};

struct diff_params {
	struct diff_param *v;
	size_t		   n;
	size_t		   changed; /* rows not unchanged */
};

/*
 * The rows: every parameter the new template declares (its value the
 * one sent, else its Default), then those only sent, then those only the
 * stack has (removed).  old is NULL for a stack that does not exist (a
 * first deployment: everything is added).
 */
void diff_params(const struct config_kvs *old, const struct config_kvs *sent,
    const struct diff_tparams *, struct diff_params *);
void diff_params_free(struct diff_params *);

#endif
