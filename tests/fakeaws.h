/*
 * The fake AWS endpoint (tests/fakeaws) seen from a C test: start it on a
 * free port on 127.0.0.1, talk to its unsigned /_fake/ control API, stop
 * it by PID.  Header-only, for test programs; uses libcurl's easy
 * interface (blocking is fine in a test).
 *
 *	struct fakeaws fake;
 *	if (fakeaws_start(&fake) != 0) ... skip or fail
 *	fakeaws_control(&fake, "POST", "/_fake/faults", "{...}", &reply);
 *	fakeaws_stop(&fake);
 */
#ifndef SHIPGATE_TEST_FAKEAWS_H
#define SHIPGATE_TEST_FAKEAWS_H

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

/* The fake's static credentials (tests/fakeaws/fakeaws_keys.py). */
#define FAKEAWS_ACCESS_KEY_ID	"AKIASHIPGATETEST0001"
#define FAKEAWS_SECRET_KEY	"shipgate/test/secret/key/000000000000000000"
#define FAKEAWS_ACCOUNT		"000000000000"
#define FAKEAWS_REGION		"eu-west-1"

struct fakeaws {
	pid_t	 pid;
	int	 port;
	char	 url[64];		/* "http://127.0.0.1:PORT" */
	char	 dir[64];		/* temporary directory */
};

struct fakeaws_reply {
	long	 status;
	char	*body;			/* NUL-terminated; free(3) it */
	size_t	 len;
};

static size_t
fakeaws_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fakeaws_reply	*r = arg;
	size_t			 n = size * nmemb;
	char			*p;

	if ((p = realloc(r->body, r->len + n + 1)) == NULL)
		return (0);
	r->body = p;
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return (n);
}

/*
 * Starts the fake with extra arguments (NULL-terminated, may be NULL),
 * e.g. { "--step-delay", "0.05", NULL }.  Returns 0, or -1 with a
 * message on stderr.
 */
static __attribute__((unused)) int
fakeaws_start_args(struct fakeaws *f, const char *const *extra)
{
	const char	*srcdir = getenv("top_srcdir");
	const char	*python = getenv("TEST_PYTHON");
	char		 script[4096], portfile[128], buf[32];
	const char	*argv[32];
	char		*av[32];	/* execv's type: copies of argv */
	FILE		*fp;
	int		 i, n = 0;

	memset(f, 0, sizeof *f);
	if (srcdir == NULL)
		srcdir = ".";
	if (python == NULL)
		python = "/usr/bin/python3";
	snprintf(script, sizeof script, "%s/tests/fakeaws/fakeaws.py", srcdir);
	snprintf(f->dir, sizeof f->dir, "/tmp/fakeaws-c.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		fprintf(stderr, "fakeaws: mkdtemp: %s\n", strerror(errno));
		return (-1);
	}
	snprintf(portfile, sizeof portfile, "%s/port", f->dir);
	argv[n++] = python;
	argv[n++] = script;
	argv[n++] = "--port";
	argv[n++] = "0";
	argv[n++] = "--port-file";
	argv[n++] = portfile;
	for (i = 0; extra != NULL && extra[i] != NULL && n < 30; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	for (i = 0; i <= n; i++) {
		av[i] = argv[i] != NULL ? strdup(argv[i]) : NULL;
		if (argv[i] != NULL && av[i] == NULL) {
			while (i-- > 0)
				free(av[i]);
			return (-1);
		}
	}

	f->pid = fork();
	if (f->pid == 0) {
		/* Keep the test's TAP output clean. */
		if (freopen("/dev/null", "w", stdout) == NULL)
			_exit(127);
		execv(python, av);
		_exit(127);
	}
	for (i = 0; i < n; i++)
		free(av[i]);
	if (f->pid == -1)
		return (-1);
	for (i = 0; i < 300; i++) {	/* 30 s: a cold start under ASan */
		if ((fp = fopen(portfile, "r")) != NULL) {
			if (fgets(buf, sizeof buf, fp) != NULL)
				f->port = atoi(buf);
			fclose(fp);
			if (f->port > 0)
				break;
		}
		if (waitpid(f->pid, NULL, WNOHANG) == f->pid) {
			fprintf(stderr, "fakeaws: the fake exited at start\n");
			f->pid = 0;
			return (-1);
		}
		usleep(100000);
	}
	if (f->port <= 0) {
		fprintf(stderr, "fakeaws: no port after 30 s\n");
		kill(f->pid, SIGKILL);
		waitpid(f->pid, NULL, 0);
		f->pid = 0;
		return (-1);
	}
	snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", f->port);
	return (0);
}

static __attribute__((unused)) int
fakeaws_start(struct fakeaws *f)
{
	return (fakeaws_start_args(f, NULL));
}

static __attribute__((unused)) void
fakeaws_stop(struct fakeaws *f)
{
	char	path[128];

	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		waitpid(f->pid, NULL, 0);
		f->pid = 0;
	}
	if (f->dir[0] != '\0') {
		snprintf(path, sizeof path, "%s/port", f->dir);
		unlink(path);
		rmdir(f->dir);
		f->dir[0] = '\0';
	}
}

/*
 * One control call: method, path under /_fake/, a JSON body or NULL.
 * reply may be NULL; else the caller frees reply->body.  Returns the HTTP
 * status, or -1 when the fake could not be reached.
 */
static __attribute__((unused)) long
fakeaws_control(struct fakeaws *f, const char *method, const char *path,
    const char *json, struct fakeaws_reply *reply)
{
	struct fakeaws_reply	 local = { 0, NULL, 0 };
	struct curl_slist	*headers = NULL;
	CURL			*curl;
	char			 url[512];
	long			 status = -1;

	if (reply == NULL)
		reply = &local;
	memset(reply, 0, sizeof *reply);
	if ((curl = curl_easy_init()) == NULL)
		return (-1);
	snprintf(url, sizeof url, "%s%s", f->url, path);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, fakeaws_write_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, reply);
	if (json != NULL) {
		headers = curl_slist_append(headers,
		    "Content-Type: application/json");
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json);
	}
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	reply->status = status;
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	free(local.body);
	return (status);
}

#endif
