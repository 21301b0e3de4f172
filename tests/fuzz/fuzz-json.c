/*
 * libFuzzer target for the JSON reply reader.  The input's first line is
 * a path, the rest a reply: every typed reader is tried on that path, and
 * every value in the reply is found again by the path built to it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"

#define MAX_PATH   400
#define MAX_VISITS 300

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
try_path(struct json *doc, const char *path)
{
	const char     *s;
	long long	v;
	double		d;
	int		b, rc;
	struct timespec ts;
	size_t		n;
	json_t	       *o;

	rc = json_str_opt(doc, &s, "%s", path);
	check(rc <= 1);
	if (rc == 1)
		check(s != NULL);
	(void)json_int_opt(doc, &v, "%s", path);
	(void)json_number_opt(doc, &d, "%s", path);
	(void)json_bool_opt(doc, &b, "%s", path);
	if (json_time_opt(doc, &ts, "%s", path) == 1)
		check(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
	if (json_arr_opt(doc, &n, "%s", path) == 1)
		check(n == json_array_size(json_get(doc, "%s", path)));
	if (json_obj_opt(doc, &o, "%s", path) == 1)
		check(json_is_object(o));
	if (json_str(doc, &s, "%s", path) != 0)
		check(json_error(doc) != NULL);
}

/* Walks the tree building paths; each must lead back to its value. */
static void
walk(struct json *doc, json_t *v, char *path, size_t len, int *visits)
{
	const char *key;
	json_t	   *child;
	size_t	    i, klen;
	int	    n;

	if (++*visits > MAX_VISITS)
		return;
	check(json_get(doc, "%s", path) == v || json_is_null(v));
	try_path(doc, path);
	if (json_is_array(v)) {
		json_array_foreach(v, i, child) {
			n = snprintf(path + len, MAX_PATH - len, "[%zu]", i);
			if (n < 0 || (size_t)n >= MAX_PATH - len)
				break;
			walk(doc, child, path, len + (size_t)n, visits);
			path[len] = '\0';
		}
	} else if (json_is_object(v)) {
		json_object_foreach(v, key, child) {
			klen = strlen(key);
			/* Keys the path syntax cannot name are skipped. */
			if (klen == 0 || strpbrk(key, ".[]%") != NULL ||
			    len + klen + 2 >= MAX_PATH)
				continue;
			n = snprintf(path + len, MAX_PATH - len, "%s%s",
			    len > 0 ? "." : "", key);
			walk(doc, child, path, len + (size_t)n, visits);
			path[len] = '\0';
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_limits l;
	struct json	  *doc = NULL;
	const uint8_t	  *nl;
	char		   path[MAX_PATH], *cause = NULL;
	size_t		   plen;
	int		   rc, visits = 0;

	path[0] = '\0';
	nl = memchr(data, '\n', size < MAX_PATH ? size : MAX_PATH);
	if (nl != NULL) {
		plen = (size_t)(nl - data);
		memcpy(path, data, plen);
		path[plen] = '\0';
		if (strlen(path) != plen)
			return (0);
		size -= plen + 1;
		data = nl + 1;
	}
	json_limits_default(&l);
	if (size > 0 && (data[size - 1] & 1))
		l.max_depth = 6;
	rc = json_load(&doc, data, size, &l, "fuzz reply", &cause);
	if (rc != 0) {
		check(doc == NULL && cause != NULL);
		check(strncmp(cause, "fuzz reply: ", 12) == 0);
		free(cause);
		return (0);
	}
	try_path(doc, path);
	path[0] = '\0';
	walk(doc, json_root(doc), path, 0, &visits);
	json_free(doc);
	return (0);
}
