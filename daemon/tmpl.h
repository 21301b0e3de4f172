/*
 * A small template engine for the portal's pages.  Templates are the
 * files web/NAME.html, compiled into the daemon by web/embed.sh (see
 * web-files.h); the data is a tree of named values built in C.
 *
 * Syntax (tags are {{ ... }}; everything else is copied as is):
 *	{{name}}		the value, HTML-escaped: & < > " ' become
 *				entities, so the same form is safe in text
 *				and in quoted attribute values.  A missing
 *				name prints nothing.
 *	{{url:name}}		the value percent-encoded for a URL path
 *				segment or query value (every byte but
 *				A-Z a-z 0-9 - . _ ~), then HTML-escaped.
 *	{{#name}}...{{/name}}	a section: for a list, once per item with
 *				the item's names in scope (inner first, then
 *				the outer ones); for an object, once with its
 *				names in scope; for a true flag or a
 *				non-empty text, once; nothing when missing,
 *				false, empty.
 *	{{^name}}...{{/name}}	the inverse: once when the section would
 *				print nothing.
 *	{{?name}}...{{/name}}	once when the section would print
 *				something, without entering the value's
 *				scope or looping: "if the list is not
 *				empty", around a table of its items.
 *	{{! comment }}		nothing.
 *	{{>name}}		the template web/name.html, rendered in place
 *				with the names in scope here: a block two
 *				pages share (web/stats.html).
 *	{{raw:name}}		UNESCAPED output of a value set with
 *				tmpl_set_markup, the only way to print
 *				markup: it exists for HTML the daemon built
 *				itself, and refuses (TMPL_ESYNTAX at render)
 *				any value set otherwise.  A value set with
 *				tmpl_set_template prints that template
 *				rendered (escaped as ever) with its own data:
 *				a page's body inside the layout, written
 *				straight into the output.  `grep raw: web/`
 *				lists every use.
 * Names are [A-Za-z0-9_-]+.  There is no other way to print a value, so
 * a template cannot forget to escape.
 *
 * Inside a section, a name missing from the item is looked up in the
 * enclosing scopes: give item values names of their own ("stage_status",
 * not "status") when the outer scope has one that may show through.
 *
 * Data: a struct tmpl_data is an object (name -> value) living in an
 * arena that the root owns; tmpl_free(root) frees every value and
 * nested object at once.  Setters copy their strings.  Setting a name
 * twice keeps the last value.  A NULL string value leaves the name
 * missing (prints nothing, sections skip it).
 *
 * Output goes into a struct buf (buf.h) whose maximum bounds the page.
 */
#ifndef SHIPGATE_TMPL_H
#define SHIPGATE_TMPL_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct tmpl_data;

#define TMPL_ENOTFOUND (-1) /* no template of that name */
#define TMPL_ESYNTAX \
	(-2)		  /* bad tag, unbalanced section, raw: of
				   a value that is not markup */
#define TMPL_ETOOBIG (-3) /* the output buffer's maximum reached */

/* A new root object (with its arena). */
struct tmpl_data *tmpl_new(void);
/* Frees the root and everything under it; NULL is fine.  Pass only a
 * root: nested objects go with their root. */
void tmpl_free(struct tmpl_data *);

void tmpl_set(struct tmpl_data *, const char *name, const char *value);
void tmpl_setn(struct tmpl_data *, const char *name, const char *value,
    size_t len);
void tmpl_setf(struct tmpl_data *, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tmpl_set_int(struct tmpl_data *, const char *name, int64_t);
/* A flag: sections render for 1, inverse sections for 0. */
void tmpl_set_bool(struct tmpl_data *, const char *name, int);
/* Trusted markup the daemon built: printed only by {{raw:name}}. */
void tmpl_set_markup(struct tmpl_data *, const char *name, const char *markup,
    size_t len);
/* Another embedded template rendered with data (which must live until
 * the render is done), printed by {{raw:name}} only. */
void tmpl_set_template(struct tmpl_data *, const char *name,
    const char *template, const struct tmpl_data      *data);
/* A nested object under name (replacing any value); owned by the root. */
struct tmpl_data *tmpl_object(struct tmpl_data *, const char *name);
/* Appends a new item (an object) to the list under name, creating the
 * list; owned by the root. */
struct tmpl_data *tmpl_append(struct tmpl_data *, const char *name);
/* An empty list under name (so {{^name}} can say "none"). */
void tmpl_list(struct tmpl_data *, const char *name);

/* Renders the embedded template `name` ("run.html") with data into out.
 * 0, or a TMPL_E* code with *cause (caller frees) saying where. */
int tmpl_render(const char *name, const struct tmpl_data *, struct buf *out,
    char **cause);
/* The same for a template given as text (tests); name is for messages. */
int tmpl_render_text(const char *name, const char *text, size_t len,
    const struct tmpl_data *, struct buf *out, char **cause);
/* Checks a template's syntax without data: every tag known, every
 * section closed.  The unit tests run it on every embedded template. */
int tmpl_check(const char *name, char **cause);

/* HTML-escapes s (len bytes) into out, as {{name}} does; 0 or
 * TMPL_ETOOBIG. */
int tmpl_escape(struct buf *out, const char *s, size_t len);
/*
 * The code point of the bidirectional control (U+202A-U+202E,
 * U+2066-U+2069) whose UTF-8 starts s (len bytes), or 0.  tmpl_escape
 * shows each as "<U+202E>"; the mails do the same.
 */
unsigned int tmpl_bidi_at(const char *s, size_t len);

#endif
