/*
 * A unified diff of two texts, pure (diff-text.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "diff-text.h"
#include "xmalloc.h"

struct diff_line {
	const char *p;
	size_t	    len; /* without the '\n' */
	uint64_t    h;
};

enum diff_op { OP_SAME, OP_DEL, OP_ADD };

struct diff_edit {
	enum diff_op op;
	size_t	     a; /* old line (SAME, DEL) */
	size_t	     b; /* new line (SAME, ADD) */
};

struct diff_script {
	struct diff_edit *v;
	size_t		  n, cap;
};

static uint64_t
diff_hash(const char *p, size_t len)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	size_t	 i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return (h);
}

static struct diff_line *
diff_split(const char *s, size_t len, size_t *np)
{
	struct diff_line *v = NULL;
	const char	 *nl;
	size_t		  n = 0, cap = 0, off = 0, l;

	while (off < len) {
		nl = memchr(s + off, '\n', len - off);
		l = nl != NULL ? (size_t)(nl - (s + off)) : len - off;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xreallocarray(v, cap, sizeof *v);
		}
		v[n].p = s + off;
		v[n].len = l;
		v[n].h = diff_hash(s + off, l);
		n++;
		off += l + (nl != NULL ? 1 : 0);
	}
	*np = n;
	return (v);
}

static int
diff_eq(const struct diff_line *x, const struct diff_line *y)
{
	return (x->h == y->h && x->len == y->len &&
		memcmp(x->p, y->p, x->len) == 0);
}

static void
diff_push(struct diff_script *s, enum diff_op op, size_t a, size_t b)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->v = xreallocarray(s->v, s->cap, sizeof *s->v);
	}
	s->v[s->n].op = op;
	s->v[s->n].a = a;
	s->v[s->n].b = b;
	s->n++;
}

/*
 * The edits turning a[0..n) into b[0..m) (offsets ao, bo added to the
 * line numbers), in order; 0, or -1 when more than max edits are needed.
 */
static int
diff_myers(const struct diff_line *a, size_t n, const struct diff_line *b,
    size_t m, size_t ao, size_t bo, long max, struct diff_script *out)
{
	long		   N = (long)n, M = (long)m, d, k, x, y, off;
	long		  *v, **trace, *t, prev_k, prev_x, prev_y, D = -1;
	struct diff_script rev = { NULL, 0, 0 };
	size_t		   i;

	off = max + 1;
	v = xcalloc((size_t)(2 * off + 1), sizeof *v);
	trace = xcalloc((size_t)max + 1, sizeof *trace);
	for (d = 0; d <= max && D < 0; d++) {
		/* V as it is before step d, [-(d+1), d+1]. */
		trace[d] = xcalloc((size_t)(2 * d + 3), sizeof **trace);
		memcpy(trace[d], v + off - (d + 1),
		    (size_t)(2 * d + 3) * sizeof *v);
		for (k = -d; k <= d; k += 2) {
			if (k == -d ||
			    (k != d && v[off + k - 1] < v[off + k + 1]))
				x = v[off + k + 1];
			else
				x = v[off + k - 1] + 1;
			y = x - k;
			while (x < N && y < M && diff_eq(&a[x], &b[y])) {
				x++;
				y++;
			}
			v[off + k] = x;
			if (x >= N && y >= M) {
				D = d;
				break;
			}
		}
	}
	if (D < 0) {
		for (d = 0; d <= max; d++)
			free(trace[d]);
		free(trace);
		free(v);
		return (-1);
	}
	x = N;
	y = M;
	for (d = D; d >= 0; d--) {
		t = trace[d] + (d + 1); /* t[k], k in [-(d+1), d+1] */
		k = x - y;
		if (k == -d || (k != d && t[k - 1] < t[k + 1]))
			prev_k = k + 1;
		else
			prev_k = k - 1;
		prev_x = d > 0 ? t[prev_k] : 0;
		prev_y = d > 0 ? prev_x - prev_k : 0;
		while (x > prev_x && y > prev_y) {
			diff_push(&rev, OP_SAME, (size_t)x - 1, (size_t)y - 1);
			x--;
			y--;
		}
		if (d > 0) {
			if (x == prev_x)
				diff_push(&rev, OP_ADD, 0, (size_t)y - 1);
			else
				diff_push(&rev, OP_DEL, (size_t)x - 1, 0);
			x = prev_x;
			y = prev_y;
		}
	}
	for (i = rev.n; i > 0; i--)
		diff_push(out, rev.v[i - 1].op, rev.v[i - 1].a + ao,
		    rev.v[i - 1].b + bo);
	free(rev.v);
	for (d = 0; d <= D; d++)
		free(trace[d]);
	free(trace);
	free(v);
	return (0);
}

static void
diff_emit_line(struct buf *o, char c, const struct diff_line *l)
{
	buf_append(o, &c, 1);
	buf_append(o, l->p, l->len);
	buf_append(o, "\n", 1);
}

void
diff_text(const char *old, size_t old_len, const char *new, size_t new_len,
    int context, struct diff_text *out)
{
	struct diff_line  *a, *b;
	struct diff_script s = { NULL, 0, 0 };
	struct buf	   o;
	size_t		   n, m, pre = 0, suf = 0, i, j, k, end;
	size_t as, bs, ac, bc, c = (size_t)(context < 0 ? 0 : context);

	memset(out, 0, sizeof *out);
	a = diff_split(old, old_len, &n);
	b = diff_split(new, new_len, &m);
	while (pre < n && pre < m && diff_eq(&a[pre], &b[pre]))
		pre++;
	while (suf < n - pre && suf < m - pre &&
	       diff_eq(&a[n - 1 - suf], &b[m - 1 - suf]))
		suf++;
	for (i = 0; i < pre; i++)
		diff_push(&s, OP_SAME, i, i);
	/* An empty text has no lines (NULL): no offset into it. */
	if (diff_myers(a != NULL ? a + pre : NULL, n - pre - suf,
		b != NULL ? b + pre : NULL, m - pre - suf, pre, pre,
		DIFF_TEXT_MAX_EDITS, &s) != 0) {
		out->whole = 1;
		for (i = pre; i < n - suf; i++)
			diff_push(&s, OP_DEL, i, 0);
		for (i = pre; i < m - suf; i++)
			diff_push(&s, OP_ADD, 0, i);
	}
	for (i = 0; i < suf; i++)
		diff_push(&s, OP_SAME, n - suf + i, m - suf + i);

	/* Hunks: changes with their context, merged when close. */
	buf_init(&o, SIZE_MAX);
	for (i = 0; i < s.n; i++) {
		if (s.v[i].op == OP_SAME)
			continue;
		k = i > c ? i - c : 0; /* the hunk's first edit */
		/* Its last: past every change within 2c of the next. */
		end = i;
		for (j = i; j < s.n; j++) {
			if (s.v[j].op != OP_SAME)
				end = j;
			else if (j - end > 2 * c)
				break;
		}
		end = end + c + 1 < s.n ? end + c + 1 : s.n;
		as = bs = 0;
		ac = bc = 0;
		for (j = k; j < end; j++) {
			if (s.v[j].op != OP_ADD && ac++ == 0)
				as = s.v[j].a + 1;
			if (s.v[j].op != OP_DEL && bc++ == 0)
				bs = s.v[j].b + 1;
		}
		/* An empty side starts at the line before (as diff -u). */
		for (j = k; ac == 0 && j > 0; j--)
			if (s.v[j - 1].op != OP_ADD) {
				as = s.v[j - 1].a + 1;
				break;
			}
		for (j = k; bc == 0 && j > 0; j--)
			if (s.v[j - 1].op != OP_DEL) {
				bs = s.v[j - 1].b + 1;
				break;
			}
		buf_printf(&o, "@@ -%zu,%zu +%zu,%zu @@\n", as, ac, bs, bc);
		for (j = k; j < end; j++) {
			switch (s.v[j].op) {
			case OP_SAME:
				diff_emit_line(&o, ' ', &a[s.v[j].a]);
				break;
			case OP_DEL:
				diff_emit_line(&o, '-', &a[s.v[j].a]);
				out->removed++;
				break;
			case OP_ADD:
				diff_emit_line(&o, '+', &b[s.v[j].b]);
				out->added++;
				break;
			}
		}
		i = end - 1;
	}
	out->unified = buf_take(&o, &out->len);
	buf_free(&o);
	free(s.v);
	free(a);
	free(b);
}

void
diff_text_free(struct diff_text *d)
{
	free(d->unified);
	memset(d, 0, sizeof *d);
}

char *
diff_drift_text(const char *logical_id, const char *path, const char *expected,
    const char *actual, const char *difference)
{
	char *name, *p, *text;

	if (path == NULL)
		path = "";
	name = xstrdup(*path == '/' ? path + 1 : path);
	for (p = name; *p != '\0'; p++)
		if (*p == '/')
			*p = '.';
	if (expected == NULL)
		expected = "";
	if (actual == NULL)
		actual = "";
	if (difference != NULL && strcmp(difference, "ADD") == 0)
		text = xasprintf("%s %s: %s added outside CloudFormation",
		    logical_id, name, actual);
	else if (difference != NULL && strcmp(difference, "REMOVE") == 0)
		text = xasprintf("%s %s: %s removed outside CloudFormation",
		    logical_id, name, expected);
	else
		text = xasprintf("%s %s: %s \xe2\x86\x92 %s, changed outside "
				 "CloudFormation",
		    logical_id, name, expected, actual);
	free(name);
	return (text);
}
