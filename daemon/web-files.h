/*
 * The files of web/ (templates, CSS, script) compiled into the program by
 * web/embed.sh at build time (daemon/web-files.c, generated), so an
 * installed daemon reads nothing from disk to serve its pages.
 */
#ifndef SHIPGATE_WEB_FILES_H
#define SHIPGATE_WEB_FILES_H

#include <stddef.h>

struct web_file {
	const char *name; /* "run.html", "portal.css" */
	const char *data; /* NUL-terminated */
	size_t	    size; /* bytes, without the NUL */
	const char *etag; /* "\"CRC-SIZE\"", from cksum */
};

extern const struct web_file web_files[];
extern const size_t	     web_nfiles;

/* The file named name, or NULL (tmpl.c). */
const struct web_file *web_file_find(const char *name);

#endif
