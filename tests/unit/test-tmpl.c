/*
 * The template engine: escaping in text and attributes, the URL form,
 * sections over lists, objects, flags and text, inverse sections,
 * missing values, the raw form (markup only), syntax errors, the
 * output bound, and every embedded template's syntax.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tap.h"
#include "tmpl.h"
#include "web-files.h"

static char *
render(const char *text, const struct tmpl_data *d, int *rcp)
{
	struct buf b;
	char	  *cause = NULL, *s;
	int	   rc;

	buf_init(&b, 1 << 20);
	rc = tmpl_render_text("test", text, strlen(text), d, &b, &cause);
	if (rcp != NULL)
		*rcp = rc;
	if (rc != 0) {
		buf_free(&b);
		return (cause);
	}
	free(cause);
	s = buf_take(&b, NULL);
	return (s);
}

static void
check(const char *text, const struct tmpl_data *d, const char *want,
    const char *name)
{
	char *got;
	int   rc;

	got = render(text, d, &rc);
	if (rc != 0)
		ok(0, "%s: %s", name, got);
	else
		is_str(got, want, "%s", name);
	free(got);
}

static void
check_error(const char *text, const struct tmpl_data *d, int want,
    const char *contains, const char *name)
{
	char *got;
	int   rc;

	got = render(text, d, &rc);
	is_int(rc, want, "%s: error", name);
	ok(got != NULL && strstr(got, contains) != NULL, "%s: says %s (%s)",
	    name, contains, got != NULL ? got : "(null)");
	free(got);
}

int
main(void)
{
	struct tmpl_data *d, *o, *item;
	struct buf	  b;
	char		 *cause = NULL;
	size_t		  i;
	int		  rc;

	d = tmpl_new();
	tmpl_set(d, "msg", "<script>alert(\"x\")</script> & 'q'");
	tmpl_set(d, "name", "ok");
	tmpl_set(d, "empty", "");
	tmpl_set(d, "path", "a b/c?d=é&e");
	tmpl_set_int(d, "n", -42);
	tmpl_set_bool(d, "yes", 1);
	tmpl_set_bool(d, "no", 0);
	tmpl_set_markup(d, "body", "<p>built</p>", 12);
	tmpl_setf(d, "fmt", "%s-%d", "x", 7);
	tmpl_setn(d, "part", "abcdef", 3);

	/* Escaping. */
	check("<p>{{msg}}</p>", d,
	    "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; "
	    "&#39;q&#39;</p>",
	    "a <script> message renders as text");
	check("<a title=\"{{msg}}\" data-x='{{msg}}'>", d,
	    "<a title=\"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; "
	    "&amp; &#39;q&#39;\" data-x='&lt;script&gt;alert(&quot;x&quot;)"
	    "&lt;/script&gt; &amp; &#39;q&#39;'>",
	    "quotes cannot leave an attribute");
	check("{{ name }}|{{n}}|{{fmt}}|{{part}}", d, "ok|-42|x-7|abc",
	    "values, spaces in tags, integers, formats, lengths");
	check("/apps/{{url:path}}", d, "/apps/a%20b%2Fc%3Fd%3D%C3%A9%26e",
	    "url form percent-encodes");
	check("x{{missing}}y{{url:missing}}z", d, "xyz",
	    "a missing value prints nothing");
	check("{{! a comment }}a{{!}}", d, "a", "comments print nothing");
	check("a { b } {c} }} {", d, "a { b } {c} }} {", "lone braces stay");

	/* Issue 12: bidirectional controls shown, never obeyed. */
	tmpl_set(d, "bidi",
	    "fix \xe2\x80\xaegpj.exe\xe2\x80\xac "
	    "\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xad|\xe2\x81\xa6"
	    "\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9|\xe2\x80\xa9"
	    "\xe2\x81\xaa\xc3\xa9\xe2\x80");
	check("{{bidi}}", d,
	    "fix &lt;U+202E&gt;gpj.exe&lt;U+202C&gt; "
	    "&lt;U+202A&gt;&lt;U+202B&gt;&lt;U+202D&gt;|&lt;U+2066&gt;"
	    "&lt;U+2067&gt;&lt;U+2068&gt;&lt;U+2069&gt;|\xe2\x80\xa9"
	    "\xe2\x81\xaa\xc3\xa9\xe2\x80",
	    "bidirectional controls are shown as <U+XXXX>; their neighbours "
	    "(U+2029, U+206A, a cut sequence) stay");
	ok(tmpl_bidi_at("\xe2\x80", 2) == 0, "a cut sequence is no control");

	/* Raw: markup only. */
	check("<main>{{raw:body}}</main>", d, "<main><p>built</p></main>",
	    "raw prints markup as is");
	check("{{body}}", d, "&lt;p&gt;built&lt;/p&gt;",
	    "markup through the normal form is escaped");
	check_error("{{raw:msg}}", d, TMPL_ESYNTAX, "not markup",
	    "raw refuses a plain value");
	check("[{{raw:missing}}]", d, "[]", "raw of a missing value");
	o = tmpl_new();
	tmpl_set(o, "message", "<i>");
	tmpl_set_template(d, "inner", "error.html", o);
	{
		char *got = render("<main>{{raw:inner}}</main>{{inner}}", d,
		    &rc);

		ok(rc == 0 && strncmp(got, "<main><h1>", 10) == 0 &&
			strstr(got, "&lt;i&gt;") != NULL &&
			strstr(got, "</main>") != NULL &&
			strcmp(strstr(got, "</main>"), "</main>") == 0,
		    "raw of a template renders it in place, escaped; "
		    "the plain form prints nothing");
		free(got);
	}
	tmpl_set_template(d, "inner", "no-such.html", o);
	check_error("{{raw:inner}}", d, TMPL_ENOTFOUND, "no template",
	    "an unknown template in place");
	tmpl_free(o);

	/* {{>name}}: web/name.html in place, with the names in scope here. */
	{
		struct tmpl_data *st = tmpl_new(), *sec;
		char		 *got;

		sec = tmpl_object(st, "stats");
		tmpl_set(sec, "prod", "<prod>");
		got = render("[{{>stats}}]", st, &rc);
		ok(rc == 0 &&
			strncmp(got, "[\n<section class=\"stats\"", 24) == 0 &&
			strstr(got, "Deployments to &lt;prod&gt;") != NULL &&
			strcmp(got + strlen(got) - 13, "</section>\n\n]") == 0,
		    "{{>stats}} renders web/stats.html in place, in the "
		    "scope where it stands, escaped (%s)",
		    rc == 0 ? "ok" : got);
		free(got);
		check("[{{>stats}}]", d, "[\n\n]",
		    "{{>stats}} without its section's data: its section only");
		tmpl_free(st);
	}
	check_error("{{>no-such}}", d, TMPL_ESYNTAX, "no template no-such.html",
	    "an include of an unknown template");

	/* Sections. */
	check(
	    "{{#yes}}Y{{/yes}}{{#no}}N{{/no}}{{^no}}n{{/no}}{{^yes}}y{{/yes}}",
	    d, "Yn", "flags");
	check("{{#name}}[{{name}}]{{/name}}{{#empty}}E{{/empty}}"
	      "{{^empty}}e{{/empty}}{{#missing}}M{{/missing}}"
	      "{{^missing}}m{{/missing}}",
	    d, "[ok]em", "text and missing");

	o = tmpl_object(d, "run");
	tmpl_set(o, "id", "7");
	tmpl_set(o, "name", "inner");
	check("{{#run}}{{id}} {{name}} {{msg}}{{/run}} {{name}}", d,
	    "7 inner &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; "
	    "&#39;q&#39; ok",
	    "object scope, inner first then outer");

	for (i = 0; i < 3; i++) {
		item = tmpl_append(d, "rows");
		tmpl_set_int(item, "i", (int64_t)i);
		if (i == 1)
			tmpl_set_bool(item, "odd", 1);
		if (i == 2) {
			tmpl_append(item, "sub");
			tmpl_set(tmpl_append(item, "sub"), "v", "<b>");
		}
	}
	check("<ul>{{#rows}}<li class=\"{{#odd}}odd{{/odd}}\">{{i}}"
	      "{{#sub}}({{v}}){{/sub}}</li>{{/rows}}</ul>",
	    d,
	    "<ul><li class=\"\">0</li><li class=\"odd\">1</li>"
	    "<li class=\"\">2()(&lt;b&gt;)</li></ul>",
	    "lists and nesting");
	check("{{?rows}}<ul>{{#rows}}<li>{{i}}</li>{{/rows}}</ul>{{/rows}}"
	      "{{?none}}x{{/none}}{{?yes}}y{{/yes}}{{?no}}n{{/no}}",
	    d, "<ul><li>0</li><li>1</li><li>2</li></ul>y",
	    "if: once when true, without looping");
	tmpl_list(d, "none");
	check("{{#none}}x{{/none}}{{^none}}No rows.{{/none}}", d, "No rows.",
	    "an empty list");
	check("{{#rows}}{{#rows}}{{/rows}}{{/rows}}.", d, ".",
	    "same name nested");

	/* Set again: the last value. */
	tmpl_set(d, "name", "again");
	check("{{name}}", d, "again", "set twice keeps the last");
	tmpl_set(d, "name", NULL);
	check("[{{name}}]", d, "[]", "set to NULL removes");

	/* Syntax errors. */
	check_error("{{#a}}x", d, TMPL_ESYNTAX, "not closed",
	    "unclosed section");
	check_error("{{#a}}x{{/b}}", d, TMPL_ESYNTAX, "closes",
	    "mismatched close");
	check_error("x{{/a}}", d, TMPL_ESYNTAX, "closes nothing",
	    "stray close");
	check_error("line\n{{name", d, TMPL_ESYNTAX, "test:2: unclosed",
	    "unclosed tag, with its line");
	check_error("{{a b}}", d, TMPL_ESYNTAX, "bad tag", "two names");
	check_error("{{&name}}", d, TMPL_ESYNTAX, "bad tag",
	    "no other raw form");
	check_error("{{{name}}}", d, TMPL_ESYNTAX, "bad tag",
	    "no triple braces");

	/* The output bound. */
	buf_init(&b, 10);
	rc = tmpl_render_text("small", "{{msg}}", 7, d, &b, &cause);
	is_int(rc, TMPL_ETOOBIG, "the output's maximum is kept");
	ok(b.len <= 10, "nothing beyond it (%zu)", b.len);
	free(cause);
	cause = NULL;
	buf_free(&b);

	/* Every embedded template parses. */
	ok(web_nfiles > 0, "files are embedded");
	for (i = 0; i < web_nfiles; i++) {
		if (strstr(web_files[i].name, ".html") == NULL)
			continue;
		rc = tmpl_check(web_files[i].name, &cause);
		ok(rc == 0, "%s parses%s%s", web_files[i].name,
		    cause != NULL ? ": " : "", cause != NULL ? cause : "");
		free(cause);
		cause = NULL;
		ok(strlen(web_files[i].data) == web_files[i].size,
		    "%s: its size", web_files[i].name);
		/* Unescaped output only where the layout takes the body. */
		{
			const char *p = web_files[i].data;
			int	    nraw = 0;

			while ((p = strstr(p, "{{raw:")) != NULL) {
				nraw++;
				p++;
			}
			if (strcmp(web_files[i].name, "layout.html") == 0)
				ok(nraw == 1 && strstr(web_files[i].data,
						    "{{raw:body}}") != NULL,
				    "layout.html: raw: for its body only");
			else
				is_int(nraw, 0,
				    "%s: no raw:", web_files[i].name);
		}
	}
	is_int(tmpl_render("no-such.html", d, &b, &cause), TMPL_ENOTFOUND,
	    "an unknown template");
	free(cause);

	tmpl_free(d);
	return (tap_done());
}
