/*
 * The portal's template engine (see tmpl.h for the syntax).  A template
 * is compiled once into a list of operations (literal text, a value to
 * print, a section with the index of its end), so a render only walks
 * that list: no tag is parsed and no section's end searched again, not
 * once per item of a list.  The embedded templates are compiled the
 * first time one is rendered and kept for the life of the process (they
 * are part of the program, so a reload has nothing to recompile); a
 * template given as text is compiled for its one render.  The data lives
 * in an arena owned by the root object.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tmpl.h"
#include "web-files.h"
#include "xmalloc.h"

#define TMPL_CHUNK  16384 /* arena chunk size */
#define TMPL_DEPTH  32	  /* nested sections */
#define TMPL_NESTED 4	  /* templates rendered inside templates */

enum tmpl_type {
	TMPL_STRING = 1,
	TMPL_MARKUP,
	TMPL_BOOL,
	TMPL_OBJECT,
	TMPL_LIST,
	TMPL_PARTIAL,
};

struct tmpl_chunk {
	struct tmpl_chunk *next;
	size_t		   used;
	size_t		   size;
	char		   data[];
};

struct tmpl_value {
	enum tmpl_type		type;
	const char	       *s; /* STRING, MARKUP */
	size_t			len;
	int			flag;  /* BOOL */
	struct tmpl_data       *obj;   /* OBJECT */
	struct tmpl_data       *first; /* LIST */
	struct tmpl_data       *last;
	const struct tmpl_data *pdata; /* PARTIAL: s is the name */
};

struct tmpl_entry {
	const char	  *name;
	uint32_t	   hash; /* of name: tmpl_hash */
	struct tmpl_value  v;
	struct tmpl_entry *next;
};

struct tmpl_data {
	struct tmpl_chunk **arena;  /* the root's chunk list */
	struct tmpl_chunk  *chunks; /* root only */
	struct tmpl_entry  *entries;
	struct tmpl_data   *next; /* next item of a list */
};

/* --- The arena and the data tree ----------------------------------------- */

static void *
tmpl_alloc(struct tmpl_data *d, size_t size)
{
	struct tmpl_chunk *c = *d->arena;
	size_t		   csize;
	void		  *p;

	size = (size + 15) & ~(size_t)15;
	if (c == NULL || c->size - c->used < size) {
		csize = size > TMPL_CHUNK ? size : TMPL_CHUNK;
		c = xmalloc(sizeof *c + csize);
		c->size = csize;
		c->used = 0;
		c->next = *d->arena;
		*d->arena = c;
	}
	p = c->data + c->used;
	c->used += size;
	return (p);
}

static char *
tmpl_strndup(struct tmpl_data *d, const char *s, size_t len)
{
	char *p;

	p = tmpl_alloc(d, len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return (p);
}

struct tmpl_data *
tmpl_new(void)
{
	struct tmpl_data *d;

	d = xcalloc(1, sizeof *d);
	d->arena = &d->chunks;
	return (d);
}

void
tmpl_free(struct tmpl_data *d)
{
	struct tmpl_chunk *c, *next;

	if (d == NULL)
		return;
	for (c = d->chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(d);
}

/* FNV-1a: look-ups compare hashes before names. */
static uint32_t
tmpl_hash(const char *name)
{
	uint32_t h = 2166136261U;

	for (; *name != '\0'; name++) {
		h ^= (unsigned char)*name;
		h *= 16777619U;
	}
	return (h);
}

/* The entry for name in d, added if missing (its value then zero). */
static struct tmpl_value *
tmpl_slot(struct tmpl_data *d, const char *name)
{
	struct tmpl_entry *e, **last = &d->entries;
	uint32_t	   h = tmpl_hash(name);

	for (e = d->entries; e != NULL; e = e->next) {
		if (e->hash == h && strcmp(e->name, name) == 0) {
			memset(&e->v, 0, sizeof e->v);
			return (&e->v);
		}
		last = &e->next;
	}
	e = tmpl_alloc(d, sizeof *e);
	memset(e, 0, sizeof *e);
	e->name = tmpl_strndup(d, name, strlen(name));
	e->hash = h;
	*last = e;
	return (&e->v);
}

static struct tmpl_data *
tmpl_child(struct tmpl_data *d)
{
	struct tmpl_data *c;

	c = tmpl_alloc(d, sizeof *c);
	memset(c, 0, sizeof *c);
	c->arena = d->arena;
	return (c);
}

static void
tmpl_remove(struct tmpl_data *d, const char *name)
{
	struct tmpl_entry **ep;
	uint32_t	    h = tmpl_hash(name);

	for (ep = &d->entries; *ep != NULL; ep = &(*ep)->next) {
		if ((*ep)->hash == h && strcmp((*ep)->name, name) == 0) {
			*ep = (*ep)->next;
			return;
		}
	}
}

void
tmpl_setn(struct tmpl_data *d, const char *name, const char *value, size_t len)
{
	struct tmpl_value *v;

	if (value == NULL) {
		tmpl_remove(d, name);
		return;
	}
	v = tmpl_slot(d, name);
	v->type = TMPL_STRING;
	v->s = tmpl_strndup(d, value, len);
	v->len = len;
}

void
tmpl_set(struct tmpl_data *d, const char *name, const char *value)
{
	tmpl_setn(d, name, value, value != NULL ? strlen(value) : 0);
}

void
tmpl_setf(struct tmpl_data *d, const char *name, const char *fmt, ...)
{
	va_list ap;
	char   *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	tmpl_set(d, name, s);
	free(s);
}

void
tmpl_set_int(struct tmpl_data *d, const char *name, int64_t n)
{
	char s[32];

	snprintf(s, sizeof s, "%lld", (long long)n);
	tmpl_set(d, name, s);
}

void
tmpl_set_bool(struct tmpl_data *d, const char *name, int flag)
{
	struct tmpl_value *v;

	v = tmpl_slot(d, name);
	v->type = TMPL_BOOL;
	v->flag = flag != 0;
}

void
tmpl_set_markup(struct tmpl_data *d, const char *name, const char *markup,
    size_t len)
{
	struct tmpl_value *v;

	if (markup == NULL) {
		tmpl_remove(d, name);
		return;
	}
	v = tmpl_slot(d, name);
	v->type = TMPL_MARKUP;
	v->s = tmpl_strndup(d, markup, len);
	v->len = len;
}

void
tmpl_set_template(struct tmpl_data *d, const char *name, const char *template,
    const struct tmpl_data *data)
{
	struct tmpl_value *v;

	v = tmpl_slot(d, name);
	v->type = TMPL_PARTIAL;
	v->s = tmpl_strndup(d, template, strlen(template));
	v->len = strlen(template);
	v->pdata = data;
}

struct tmpl_data *
tmpl_object(struct tmpl_data *d, const char *name)
{
	struct tmpl_value *v;
	struct tmpl_data  *c;

	c = tmpl_child(d);
	v = tmpl_slot(d, name);
	v->type = TMPL_OBJECT;
	v->obj = c;
	return (c);
}

static struct tmpl_value *
tmpl_find_list(struct tmpl_data *d, const char *name)
{
	struct tmpl_entry *e;
	uint32_t	   h = tmpl_hash(name);

	for (e = d->entries; e != NULL; e = e->next)
		if (e->hash == h && strcmp(e->name, name) == 0 &&
		    e->v.type == TMPL_LIST)
			return (&e->v);
	return (NULL);
}

void
tmpl_list(struct tmpl_data *d, const char *name)
{
	struct tmpl_value *v;

	if (tmpl_find_list(d, name) != NULL)
		return;
	v = tmpl_slot(d, name);
	v->type = TMPL_LIST;
}

struct tmpl_data *
tmpl_append(struct tmpl_data *d, const char *name)
{
	struct tmpl_value *v;
	struct tmpl_data  *c;

	if ((v = tmpl_find_list(d, name)) == NULL) {
		v = tmpl_slot(d, name);
		v->type = TMPL_LIST;
	}
	c = tmpl_child(d);
	if (v->last != NULL)
		v->last->next = c;
	else
		v->first = c;
	v->last = c;
	return (c);
}

/* --- Escaping ----------------------------------------------------------- */

/*
 * The code point of a bidirectional embedding, override or isolate
 * (U+202A-U+202E, U+2066-U+2069) encoded at s, or 0.  Shown as text,
 * never obeyed: they make "txt.exe" read as another name.
 */
unsigned int
tmpl_bidi_at(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;

	if (len < 3 || u[0] != 0xe2)
		return (0);
	if (u[1] == 0x80 && u[2] >= 0xaa && u[2] <= 0xae)
		return (0x2000 + (u[2] - 0x80));
	if (u[1] == 0x81 && u[2] >= 0xa6 && u[2] <= 0xa9)
		return (0x2040 + (u[2] - 0x80));
	return (0);
}

int
tmpl_escape(struct buf *out, const char *s, size_t len)
{
	const char  *rep;
	char	     bidi[32];
	size_t	     i, from = 0, skip;
	unsigned int cp;

	for (i = 0; i < len; i++) {
		skip = 1;
		switch (s[i]) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			if ((cp = tmpl_bidi_at(s + i, len - i)) == 0)
				continue;
			snprintf(bidi, sizeof bidi, "&lt;U+%04X&gt;", cp);
			rep = bidi;
			skip = 3;
			break;
		}
		if (buf_append(out, s + from, i - from) != 0 ||
		    buf_appends(out, rep) != 0)
			return (TMPL_ETOOBIG);
		from = i + skip;
		i += skip - 1;
	}
	if (buf_append(out, s + from, len - from) != 0)
		return (TMPL_ETOOBIG);
	return (0);
}

/* Percent-encodes every byte but the unreserved ones; the result needs
 * no HTML escaping. */
static int
tmpl_url_escape(struct buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char	  c;
	char		  pct[3];
	size_t		  i, from = 0;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			continue;
		pct[0] = '%';
		pct[1] = hex[c >> 4];
		pct[2] = hex[c & 15];
		if (buf_append(out, s + from, i - from) != 0 ||
		    buf_append(out, pct, 3) != 0)
			return (TMPL_ETOOBIG);
		from = i + 1;
	}
	if (buf_append(out, s + from, len - from) != 0)
		return (TMPL_ETOOBIG);
	return (0);
}

/* --- Tags ----------------------------------------------------------------- */

enum tmpl_tag_kind {
	TAG_TEXT, /* compiled: literal text */
	TAG_VALUE,
	TAG_URL,
	TAG_RAW,
	TAG_INCLUDE, /* {{>name}}: web/name.html, in the current scope */
	TAG_SECTION,
	TAG_IF,
	TAG_INVERTED,
	TAG_CLOSE,
	TAG_COMMENT,
};

struct tmpl_tag {
	enum tmpl_tag_kind kind;
	char		   name[64];
	uint32_t	   hash;  /* of name */
	size_t		   start; /* offset of "{{" */
	size_t		   end;	  /* offset after "}}" */
};

/*
 * One operation of a compiled template: TAG_TEXT copies text[start,
 * end); a value tag prints name; a section (TAG_SECTION, TAG_IF,
 * TAG_INVERTED) has its body in the operations that follow it, up to
 * the index body_end (its {{/name}} is no operation).
 */
struct tmpl_op {
	enum tmpl_tag_kind kind;
	char		   name[64];
	uint32_t	   hash;  /* of name */
	size_t		   start; /* offset in the text */
	size_t		   end;
	size_t		   body_end; /* sections: an op index */
};

struct tmpl_compiled {
	const char     *name;
	const char     *text;
	size_t		len;
	struct tmpl_op *ops;
	size_t		nops;
	int		rc;    /* the compile's: 0 or
						   TMPL_ESYNTAX */
	char	       *cause; /* with rc */
};

struct tmpl_render {
	const char	       *tname;
	const char	       *text;
	size_t			len;
	const struct tmpl_op   *ops;
	struct buf	       *out;
	const struct tmpl_data *stack[TMPL_DEPTH];
	int			depth;
	int			nested; /* templates rendered in
						   templates */
	char		      **cause;
};

static int
tmpl_line(const char *text, size_t off)
{
	int    line = 1;
	size_t i;

	for (i = 0; i < off; i++)
		if (text[i] == '\n')
			line++;
	return (line);
}

static int tmpl_syntax(struct tmpl_render *r, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
tmpl_syntax(struct tmpl_render *r, size_t off, const char *fmt, ...)
{
	va_list ap;
	char   *msg;

	if (r->cause != NULL) {
		va_start(ap, fmt);
		msg = xvasprintf(fmt, ap);
		va_end(ap);
		*r->cause = xasprintf("%s:%d: %s", r->tname,
		    tmpl_line(r->text, off), msg);
		free(msg);
	}
	return (TMPL_ESYNTAX);
}

/*
 * Reads the tag at t->start (which holds "{{").  Inside: optional
 * spaces, then "!..." (comment), or a sigil #, ^, /, or the prefix
 * "raw:" or "url:", then a name, then optional spaces.
 */
static int
tmpl_parse_tag(struct tmpl_render *r, struct tmpl_tag *t)
{
	const char *p, *close, *end;
	size_t	    n;

	p = r->text + t->start + 2;
	end = r->text + r->len;
	close = NULL;
	for (; p + 1 < end; p++) {
		if (p[0] == '}' && p[1] == '}') {
			close = p;
			break;
		}
		if (p[0] == '{' && p[1] == '{')
			break;
	}
	if (close == NULL)
		return (tmpl_syntax(r, t->start, "unclosed {{"));
	t->end = (size_t)(close - r->text) + 2;
	p = r->text + t->start + 2;
	while (p < close && *p == ' ')
		p++;
	if (p < close && *p == '!') {
		t->kind = TAG_COMMENT;
		t->name[0] = '\0';
		return (0);
	}
	t->kind = TAG_VALUE;
	if (p < close && *p == '#') {
		t->kind = TAG_SECTION;
		p++;
	} else if (p < close && *p == '?') {
		t->kind = TAG_IF;
		p++;
	} else if (p < close && *p == '^') {
		t->kind = TAG_INVERTED;
		p++;
	} else if (p < close && *p == '/') {
		t->kind = TAG_CLOSE;
		p++;
	} else if (p < close && *p == '>') {
		t->kind = TAG_INCLUDE;
		p++;
	} else if (close - p >= 4 && strncmp(p, "raw:", 4) == 0) {
		t->kind = TAG_RAW;
		p += 4;
	} else if (close - p >= 4 && strncmp(p, "url:", 4) == 0) {
		t->kind = TAG_URL;
		p += 4;
	}
	n = 0;
	while (p < close &&
	       ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		   (*p >= '0' && *p <= '9') || *p == '_' || *p == '-')) {
		if (n + 1 >= sizeof t->name)
			return (tmpl_syntax(r, t->start, "name too long"));
		t->name[n++] = *p++;
	}
	t->name[n] = '\0';
	t->hash = tmpl_hash(t->name);
	while (p < close && *p == ' ')
		p++;
	if (n == 0 || p != close)
		return (tmpl_syntax(r, t->start, "bad tag \"%.*s\"",
		    (int)(close - (r->text + t->start) + 2),
		    r->text + t->start));
	return (0);
}

/* The next "{{" at or after from, or len. */
static size_t
tmpl_next_tag(const struct tmpl_render *r, size_t from)
{
	const char *p;

	while (from + 1 < r->len) {
		p = memchr(r->text + from, '{', r->len - from - 1);
		if (p == NULL)
			break;
		from = (size_t)(p - r->text);
		if (p[1] == '{')
			return (from);
		from++;
	}
	return (r->len);
}

static const struct tmpl_value *
tmpl_lookup(const struct tmpl_render *r, const struct tmpl_op *op)
{
	const struct tmpl_entry *e;
	int			 i;

	for (i = r->depth - 1; i >= 0; i--) {
		for (e = r->stack[i]->entries; e != NULL; e = e->next)
			if (e->hash == op->hash &&
			    strcmp(e->name, op->name) == 0)
				return (&e->v);
	}
	return (NULL);
}

static int
tmpl_true(const struct tmpl_value *v)
{
	if (v == NULL)
		return (0);
	switch (v->type) {
	case TMPL_STRING:
	case TMPL_MARKUP:
		return (v->len > 0);
	case TMPL_BOOL:
		return (v->flag);
	case TMPL_OBJECT:
		return (1);
	case TMPL_LIST:
		return (v->first != NULL);
	case TMPL_PARTIAL:
		return (1);
	}
	return (0);
}

/* --- Compiling ------------------------------------------------------------ */

static struct tmpl_op *
tmpl_op_add(struct tmpl_compiled *c, size_t *size)
{
	struct tmpl_op *op;

	if (c->nops == *size) {
		*size = *size == 0 ? 64 : *size * 2;
		c->ops = xreallocarray(c->ops, *size, sizeof *c->ops);
	}
	op = &c->ops[c->nops++];
	memset(op, 0, sizeof *op);
	return (op);
}

/*
 * Compiles text into c->ops.  The errors are the ones the text would
 * give when rendered: a bad tag, a close that closes nothing or another
 * section, a section not closed (the outermost is named).
 */
static int
tmpl_compile(const char *name, const char *text, size_t len,
    struct tmpl_compiled *c, char **cause)
{
	struct tmpl_render r;
	struct tmpl_tag	   t;
	struct tmpl_op	  *op;
	size_t		   at, from = 0, size = 0, open[TMPL_DEPTH];
	int		   depth = 0, rc;

	memset(c, 0, sizeof *c);
	c->name = name;
	c->text = text;
	c->len = len;
	memset(&r, 0, sizeof r);
	r.tname = name;
	r.text = text;
	r.len = len;
	r.cause = cause;
	for (;;) {
		at = tmpl_next_tag(&r, from);
		if (at > from) {
			op = tmpl_op_add(c, &size);
			op->kind = TAG_TEXT;
			op->start = from;
			op->end = at;
		}
		if (at >= len)
			break;
		t.start = at;
		if ((rc = tmpl_parse_tag(&r, &t)) != 0)
			return (rc);
		from = t.end;
		switch (t.kind) {
		case TAG_COMMENT:
			continue;
		case TAG_CLOSE:
			if (depth == 0)
				return (tmpl_syntax(&r, t.start,
				    "{{/%s}} "
				    "closes nothing",
				    t.name));
			op = &c->ops[open[depth - 1]];
			if (strcmp(t.name, op->name) != 0)
				return (tmpl_syntax(&r, t.start,
				    "{{/%s}} "
				    "closes {{#%s}}",
				    t.name, op->name));
			op->body_end = c->nops;
			depth--;
			continue;
		case TAG_SECTION:
		case TAG_IF:
		case TAG_INVERTED:
			if (depth == TMPL_DEPTH)
				return (tmpl_syntax(&r, t.start,
				    "sections "
				    "nested too deep"));
			open[depth++] = c->nops;
			break;
		default:
			break;
		}
		op = tmpl_op_add(c, &size);
		op->kind = t.kind;
		memcpy(op->name, t.name, sizeof op->name);
		op->hash = t.hash;
		op->start = t.start;
		op->end = t.end;
	}
	if (depth > 0)
		return (tmpl_syntax(&r, c->ops[open[0]].start,
		    "{{#%s}} is not "
		    "closed",
		    c->ops[open[0]].name));
	return (0);
}

/*
 * The embedded files compiled, in web_files' order: once, by the first
 * render (from whichever portal thread), and read-only after that.
 */
static struct tmpl_compiled *tmpl_compiled_files;
static pthread_once_t	     tmpl_compiled_once = PTHREAD_ONCE_INIT;

static void
tmpl_compile_files(void)
{
	struct tmpl_compiled *c;
	size_t		      i;

	tmpl_compiled_files = xcalloc(web_nfiles + 1,
	    sizeof *tmpl_compiled_files);
	for (i = 0; i < web_nfiles; i++) {
		c = &tmpl_compiled_files[i];
		c->rc = tmpl_compile(web_files[i].name, web_files[i].data,
		    web_files[i].size, c, &c->cause);
	}
}

/* The compiled template name, or NULL with *cause. */
static const struct tmpl_compiled *
tmpl_compiled_find(const char *name, char **cause)
{
	size_t i;

	pthread_once(&tmpl_compiled_once, tmpl_compile_files);
	for (i = 0; i < web_nfiles; i++)
		if (strcmp(web_files[i].name, name) == 0)
			return (&tmpl_compiled_files[i]);
	if (cause != NULL)
		*cause = xasprintf("no template %s", name);
	return (NULL);
}

/* --- Rendering ------------------------------------------------------------ */

static int tmpl_ops(struct tmpl_render *, size_t, size_t);
static int tmpl_render_nested(const char *, const struct tmpl_data *,
    struct buf *, char **, int);

static int
tmpl_push(struct tmpl_render *r, const struct tmpl_op *op,
    const struct tmpl_data *d)
{
	if (r->depth == TMPL_DEPTH)
		return (tmpl_syntax(r, op->start, "sections nested too deep"));
	r->stack[r->depth++] = d;
	return (0);
}

/* The section at ops[i]; its body is ops[i + 1, body_end). */
static int
tmpl_section(struct tmpl_render *r, size_t i)
{
	const struct tmpl_op	*op = &r->ops[i];
	const struct tmpl_value *v;
	const struct tmpl_data	*item;
	int			 rc = 0;

	v = tmpl_lookup(r, op);
	if (op->kind == TAG_INVERTED) {
		if (tmpl_true(v))
			return (0);
		return (tmpl_ops(r, i + 1, op->body_end));
	}
	if (!tmpl_true(v))
		return (0);
	if (op->kind == TAG_IF)
		return (tmpl_ops(r, i + 1, op->body_end));
	switch (v->type) {
	case TMPL_LIST:
		for (item = v->first; item != NULL && rc == 0;
		     item = item->next) {
			if ((rc = tmpl_push(r, op, item)) != 0)
				break;
			rc = tmpl_ops(r, i + 1, op->body_end);
			r->depth--;
		}
		return (rc);
	case TMPL_OBJECT:
		if ((rc = tmpl_push(r, op, v->obj)) != 0)
			return (rc);
		rc = tmpl_ops(r, i + 1, op->body_end);
		r->depth--;
		return (rc);
	default:
		return (tmpl_ops(r, i + 1, op->body_end));
	}
}

static int
tmpl_toobig(struct tmpl_render *r)
{
	if (r->cause != NULL)
		*r->cause = xasprintf("%s: the page is larger than %zu bytes",
		    r->tname, r->out->max);
	return (TMPL_ETOOBIG);
}

/*
 * {{>name}}: web/name.html rendered where the tag is, with the names in
 * scope there (the same lookups as if its text stood in place), so two
 * pages share a block instead of carrying two copies of it.
 */
static int
tmpl_include(struct tmpl_render *r, const struct tmpl_op *op)
{
	const struct tmpl_compiled *c;
	struct tmpl_render	    in;
	char			   *file;

	if (r->nested >= TMPL_NESTED)
		return (tmpl_syntax(r, op->start, "templates nested too deep"));
	file = xasprintf("%s.html", op->name);
	c = tmpl_compiled_find(file, NULL);
	free(file);
	if (c == NULL)
		return (tmpl_syntax(r, op->start,
		    "{{>%s}}: no template %s.html", op->name, op->name));
	if (c->rc != 0) {
		if (r->cause != NULL)
			*r->cause = xstrdup(
			    c->cause != NULL ? c->cause : "syntax error");
		return (c->rc);
	}
	in = *r;
	in.tname = c->name;
	in.text = c->text;
	in.len = c->len;
	in.ops = c->ops;
	in.nested = r->nested + 1;
	return (tmpl_ops(&in, 0, c->nops));
}

/* Renders ops[from, to). */
static int
tmpl_ops(struct tmpl_render *r, size_t from, size_t to)
{
	const struct tmpl_value *v;
	const struct tmpl_op	*op;
	size_t			 i = from;
	int			 rc;

	while (i < to) {
		op = &r->ops[i];
		switch (op->kind) {
		case TAG_TEXT:
			if (buf_append(r->out, r->text + op->start,
				op->end - op->start) != 0)
				return (tmpl_toobig(r));
			break;
		case TAG_VALUE:
		case TAG_URL:
			v = tmpl_lookup(r, op);
			if (v == NULL ||
			    (v->type != TMPL_STRING && v->type != TMPL_MARKUP))
				break;
			rc = op->kind == TAG_URL ?
				 tmpl_url_escape(r->out, v->s, v->len) :
				 tmpl_escape(r->out, v->s, v->len);
			if (rc != 0)
				return (tmpl_toobig(r));
			break;
		case TAG_RAW:
			v = tmpl_lookup(r, op);
			if (v == NULL)
				break;
			if (v->type == TMPL_PARTIAL) {
				if (r->nested >= TMPL_NESTED)
					return (tmpl_syntax(r, op->start,
					    "templates nested too deep"));
				if ((rc = tmpl_render_nested(v->s, v->pdata,
					 r->out, r->cause, r->nested + 1)) != 0)
					return (rc);
				break;
			}
			if (v->type != TMPL_MARKUP)
				return (tmpl_syntax(r, op->start,
				    "{{raw:%s}} "
				    "of a value that is not markup",
				    op->name));
			if (buf_append(r->out, v->s, v->len) != 0)
				return (tmpl_toobig(r));
			break;
		case TAG_INCLUDE:
			if ((rc = tmpl_include(r, op)) != 0)
				return (rc);
			break;
		case TAG_SECTION:
		case TAG_IF:
		case TAG_INVERTED:
			if ((rc = tmpl_section(r, i)) != 0)
				return (rc);
			i = op->body_end;
			continue;
		case TAG_CLOSE:
		case TAG_COMMENT:
			break; /* never compiled */
		}
		i++;
	}
	return (0);
}

static int
tmpl_run(const struct tmpl_compiled *c, const struct tmpl_data *d,
    struct buf *out, char **cause, int nested)
{
	struct tmpl_render r;
	struct tmpl_data   empty;

	if (c->rc != 0) {
		if (cause != NULL)
			*cause = xstrdup(
			    c->cause != NULL ? c->cause : "syntax error");
		return (c->rc);
	}
	memset(&r, 0, sizeof r);
	memset(&empty, 0, sizeof empty);
	r.tname = c->name;
	r.text = c->text;
	r.len = c->len;
	r.ops = c->ops;
	r.out = out;
	r.cause = cause;
	r.nested = nested;
	r.stack[r.depth++] = d != NULL ? d : &empty;
	return (tmpl_ops(&r, 0, c->nops));
}

int
tmpl_render_text(const char *name, const char *text, size_t len,
    const struct tmpl_data *d, struct buf *out, char **cause)
{
	struct tmpl_compiled c;
	int		     rc;

	if ((rc = tmpl_compile(name, text, len, &c, cause)) == 0)
		rc = tmpl_run(&c, d, out, cause, 0);
	free(c.ops);
	return (rc);
}

const struct web_file *
web_file_find(const char *name)
{
	size_t i;

	for (i = 0; i < web_nfiles; i++)
		if (strcmp(web_files[i].name, name) == 0)
			return (&web_files[i]);
	return (NULL);
}

static int
tmpl_render_nested(const char *name, const struct tmpl_data *d, struct buf *out,
    char **cause, int nested)
{
	const struct tmpl_compiled *c;

	if ((c = tmpl_compiled_find(name, cause)) == NULL)
		return (TMPL_ENOTFOUND);
	return (tmpl_run(c, d, out, cause, nested));
}

int
tmpl_render(const char *name, const struct tmpl_data *d, struct buf *out,
    char **cause)
{
	return (tmpl_render_nested(name, d, out, cause, 0));
}

int
tmpl_check(const char *name, char **cause)
{
	const struct tmpl_compiled *c;

	if ((c = tmpl_compiled_find(name, cause)) == NULL)
		return (TMPL_ENOTFOUND);
	if (c->rc != 0 && cause != NULL)
		*cause = xstrdup(c->cause != NULL ? c->cause : "syntax error");
	return (c->rc);
}
