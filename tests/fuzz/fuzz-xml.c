/*
 * libFuzzer target for the XML reply parser: parse, then walk every
 * element through the lookups and conversions, checking the tree's
 * promises (names non-empty, text without NUL, paths find what they name).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
visit(const struct xml_node *n, unsigned int depth)
{
	const struct xml_node *c, *found;
	struct timespec	       ts;
	long long	       v;
	char		      *cause, *path;
	int		       b;

	check(depth <= XML_MAX_DEPTH);
	check(xml_name(n)[0] != '\0');
	check(strlen(xml_text(n)) == xml_text_len(n));
	check(xml_find(n, "") == n);

	cause = NULL;
	if (xml_get_int(n, "", &v, &cause) != 0)
		check(cause != NULL);
	free(cause);
	cause = NULL;
	if (xml_get_bool(n, "", &b, &cause) != 0)
		check(cause != NULL);
	free(cause);
	cause = NULL;
	if (xml_get_time(n, "", &ts, &cause) == 0)
		check(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
	else
		check(cause != NULL);
	free(cause);

	for (c = xml_first_child(n); c != NULL; c = xml_next_sibling(c)) {
		check(xml_parent(c) == n);
		/* The first child of that name is found by its name. */
		found = xml_find(n, xml_name(c));
		check(
		    found != NULL && strcmp(xml_name(found), xml_name(c)) == 0);
		check(xml_count(n, xml_name(c)) >= 1);
		if (strchr(xml_name(c), '/') == NULL && depth < 4) {
			path = malloc(strlen(xml_name(c)) + 2);
			path[0] = '/';
			strcpy(path + 1, xml_name(c));
			(void)xml_find(c, path);
			free(path);
		}
		visit(c, depth + 1);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xml_limits      l;
	struct xml	      *doc = NULL;
	const struct xml_node *root;
	char		      *cause = NULL;
	int		       rc;

	xml_limits_default(&l);
	/* Tight limits for inputs ending in an odd byte: explores them. */
	if (size > 0 && (data[size - 1] & 1)) {
		l.max_depth = 5;
		l.max_elements = 20;
		l.max_text = 40;
	}
	rc = xml_parse(&doc, data, size, &l, &cause);
	if (rc != 0) {
		check(doc == NULL && cause != NULL);
		check(rc == XML_EMALFORMED || rc == XML_ELIMIT);
		free(cause);
		return (0);
	}
	check(cause == NULL);
	root = xml_root(doc);
	check(xml_parent(root) == NULL);
	visit(root, 1);
	(void)xml_find_text(root, "Error/Code");
	(void)xml_find_text(root, "/ErrorResponse/Error/Message");
	(void)xml_count(root, "DescribeChangeSetResult/Changes/member");
	xml_free(doc);
	return (0);
}
