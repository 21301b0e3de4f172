/*
 * The copier on its own, for tests/bench/promote: copies images from one
 * registry to another with promote.h and prints one line per image, then
 * key=value figures.
 *
 *	bench-promote [-m] [-p parallel] [-b buffer] [-u user -w passfile]
 *	    SRC_URL DST_URL REPO:TAG|REPO@DIGEST ...
 *
 * -u/-w are the destination's Basic credentials (the password is read
 * from the file).  Exit status 0 when every image was copied.
 */
#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "http.h"
#include "log.h"
#include "promote.h"
#include "registry.h"
#include "xmalloc.h"

static int	failed;
static int	finished;

static void
done_cb(struct promote *p, const struct promote_result *r, size_t n,
    void *arg)
{
	long long	copied = 0, skipped = 0;
	size_t		i;

	(void)p;
	(void)arg;
	for (i = 0; i < n; i++) {
		printf("%s:%s %s -> %s %s manifests=%d blobs_copied=%d "
		    "blobs_skipped=%d bytes_copied=%lld bytes_skipped=%lld "
		    "ms=%lld%s%s\n", r[i].repository, r[i].reference,
		    r[i].source_digest != NULL ? r[i].source_digest : "-",
		    r[i].destination_digest != NULL ? r[i].destination_digest :
		    "-", r[i].error == 0 ? "ok" : promote_strerror(r[i].error),
		    r[i].manifests, r[i].blobs_copied, r[i].blobs_skipped,
		    r[i].bytes_copied, r[i].bytes_skipped, r[i].elapsed_ms,
		    r[i].reason != NULL ? " reason=" : "",
		    r[i].reason != NULL ? r[i].reason : "");
		if (r[i].error != 0)
			failed = 1;
		copied += r[i].bytes_copied;
		skipped += r[i].bytes_skipped;
	}
	printf("bytes_copied=%lld bytes_skipped=%lld\n", copied, skipped);
	finished = 1;
}

static void
closed_cb(void *arg)
{
	*(int *)arg = 1;
}

static char *
read_secret(const char *path)
{
	FILE	*f;
	char	 line[4096];
	size_t	 len;

	if ((f = fopen(path, "r")) == NULL || fgets(line, sizeof line, f) ==
	    NULL) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	fclose(f);
	len = strcspn(line, "\r\n");
	line[len] = '\0';
	return (xstrdup(line));
}

int
main(int argc, char **argv)
{
	uv_loop_t		 loop;
	struct http_client	*http;
	struct registry		*src, *dst;
	struct registry_options	 so, dopt;
	struct promote_options	 po;
	struct promote_image	*images;
	struct promote		*p;
	struct timespec		 t0, t1;
	struct rusage		 ru;
	char			*cause = NULL, *pass = NULL, *user = NULL;
	char			*s;
	int			 ch, closed = 0, n, i;

	log_init("bench-promote");
	memset(&po, 0, sizeof po);
	while ((ch = getopt(argc, argv, "b:mp:u:w:")) != -1) {
		switch (ch) {
		case 'b':
			po.buffer_size = (size_t)atol(optarg);
			break;
		case 'm':
			po.monolithic = 1;
			break;
		case 'p':
			po.parallel_blobs = atoi(optarg);
			break;
		case 'u':
			user = optarg;
			break;
		case 'w':
			pass = read_secret(optarg);
			break;
		default:
			goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 3)
		goto usage;

	uv_loop_init(&loop);
	http = http_client_new(&loop);
	memset(&so, 0, sizeof so);
	so.url = argv[0];
	memset(&dopt, 0, sizeof dopt);
	dopt.url = argv[1];
	dopt.username = user;
	dopt.password = pass;
	if ((src = registry_new(http, &so, &cause)) == NULL ||
	    (dst = registry_new(http, &dopt, &cause)) == NULL) {
		fprintf(stderr, "%s\n", cause);
		return (2);
	}
	n = argc - 2;
	images = xcalloc((size_t)n, sizeof *images);
	for (i = 0; i < n; i++) {
		/* argv's strings are the program's to split. */
		s = argv[i + 2];
		if (strchr(s, '@') != NULL) {
			images[i].reference = strchr(s, '@') + 1;
			*strchr(s, '@') = '\0';
		} else if (strrchr(s, ':') != NULL) {
			images[i].reference = strrchr(s, ':') + 1;
			*strrchr(s, ':') = '\0';
		} else
			images[i].reference = "latest";
		images[i].repository = s;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	p = promote_start(src, dst, images, (size_t)n, &po, done_cb, NULL,
	    &cause);
	if (p == NULL) {
		fprintf(stderr, "%s\n", cause);
		return (2);
	}
	while (!finished && uv_run(&loop, UV_RUN_ONCE) != 0)
		;
	clock_gettime(CLOCK_MONOTONIC, &t1);

	registry_free(src);
	registry_free(dst);
	http_client_close(http, closed_cb, &closed);
	while (!closed && uv_run(&loop, UV_RUN_ONCE) != 0)
		;
	if (uv_loop_close(&loop) != 0)
		fprintf(stderr, "uv_loop_close failed\n");
	free(images);
	freezero_str(pass);
	getrusage(RUSAGE_SELF, &ru);
	printf("shipgate_s=%.3f maxrss_kb=%ld status=%s\n",
	    (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, ru.ru_maxrss,
	    failed ? "failed" : "ok");
	return (failed ? 1 : 0);

usage:
	fprintf(stderr, "usage: bench-promote [-m] [-p parallel] [-b buffer] "
	    "[-u user -w passfile] SRC_URL DST_URL REPO:TAG ...\n");
	return (2);
}
