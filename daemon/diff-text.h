/*
 * A unified diff of two texts, line by line, pure: the deployed
 * template against the release's, for the approver (issue 15).
 *
 * Myers' algorithm (the shortest edit script) on the lines between the
 * common head and tail, with at most DIFF_TEXT_MAX_EDITS edits: texts
 * further apart are shown as every old line removed and every new one
 * added (`whole`), which is still a true, if long, diff.  The output is
 * the hunks of `diff -u` with `context` lines around each change:
 * "@@ -OLD,N +NEW,M @@" then lines starting with ' ', '-' or '+', each
 * ending in '\n' (a last line without one gets it).  Two equal texts give
 * "".
 */
#ifndef SHIPGATE_DIFF_TEXT_H
#define SHIPGATE_DIFF_TEXT_H

#include <stddef.h>

#define DIFF_TEXT_MAX_EDITS 1000 /* memory ~ edits^2 longs */
#define DIFF_TEXT_CONTEXT   3

struct diff_text {
	char  *unified; /* "" when the texts are equal */
	size_t len;
	size_t added; /* lines */
	size_t removed;
	int    whole; /* too different: replaced whole */
};

void diff_text(const char *old, size_t old_len, const char *new, size_t new_len,
    int context, struct diff_text *);
void diff_text_free(struct diff_text *);

/*
 * One drifted property for a person (issue 15): "WebService
 * DesiredCount: 2 → 5, changed outside CloudFormation" (NOT_EQUAL),
 * "... : X added outside CloudFormation" (ADD), "... : X removed outside
 * CloudFormation" (REMOVE).  The path's leading '/' is dropped and the
 * others become '.'.  Caller frees.
 */
char *diff_drift_text(const char *logical_id, const char *path,
    const char *expected, const char *actual, const char *difference);

#endif
