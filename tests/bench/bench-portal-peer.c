/*
 * The peer of tests/bench/portal: the least a libmicrohttpd server can do
 * for a page, to compare the portal with.  It serves one file's bytes (the
 * portal's history page, saved by the benchmark) to every GET, with the
 * headers the portal sends a page (content type, CSP and the other safety
 * headers, no-store), from one response made at start.
 *
 *	bench-portal-peer FILE PORTFILE [THREADS]
 *
 * Listens on 127.0.0.1, on a port the kernel picks, written to PORTFILE
 * once it accepts.  THREADS (default 1) is the size of libmicrohttpd's
 * thread pool (1: one internal polling thread with epoll), to be set as
 * the portal's is.  Runs until SIGTERM or SIGINT.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

static struct MHD_Response	*page;
static volatile sig_atomic_t	 stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/*
 * libmicrohttpd 0.9.75 answers "Connection: close" to a response queued
 * on the first call for a request: queue it on the second.
 */
static enum MHD_Result
answer_cb(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	static int	 marker;

	(void)cls;
	(void)url;
	(void)version;
	(void)upload_data;
	if (*req_cls == NULL) {
		*req_cls = &marker;
		return (MHD_YES);
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0;
		return (MHD_YES);
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return (MHD_NO);
	return (MHD_queue_response(conn, MHD_HTTP_OK, page));
}

static char *
read_file(const char *path, size_t *len)
{
	FILE	*f;
	char	*data = NULL;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return (NULL);
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto out;
	if ((data = malloc((size_t)n + 1)) == NULL)
		goto out;
	if (fread(data, 1, (size_t)n, f) != (size_t)n) {
		free(data);
		data = NULL;
		goto out;
	}
	*len = (size_t)n;
out:
	fclose(f);
	return (data);
}

int
main(int argc, char **argv)
{
	struct MHD_Daemon		*d;
	const union MHD_DaemonInfo	*info;
	struct sockaddr_in		 sin;
	struct sigaction		 sa;
	unsigned int			 threads = 1;
	unsigned int			 flags;
	char				*data;
	size_t				 len;
	FILE				*pf;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: bench-portal-peer FILE PORTFILE "
		    "[THREADS]\n");
		return (2);
	}
	if (argc == 4 && (threads = (unsigned int)atoi(argv[3])) < 1)
		threads = 1;
	if ((data = read_file(argv[1], &len)) == NULL) {
		fprintf(stderr, "bench-portal-peer: %s: %s\n", argv[1],
		    strerror(errno));
		return (1);
	}
	page = MHD_create_response_from_buffer(len, data,
	    MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(page, "Content-Type",
	    "text/html; charset=utf-8");
	MHD_add_response_header(page, "Cache-Control", "no-store");
	MHD_add_response_header(page, "Content-Security-Policy",
	    "default-src 'self'; script-src 'self'; style-src 'self'; "
	    "img-src 'self'; frame-ancestors 'none'; form-action 'self'; "
	    "base-uri 'none'");
	MHD_add_response_header(page, "X-Frame-Options", "DENY");
	MHD_add_response_header(page, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(page, "Referrer-Policy", "same-origin");

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = 0;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
	d = MHD_start_daemon(flags, 0, NULL, NULL, answer_cb, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
	    MHD_OPTION_THREAD_POOL_SIZE, threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1024,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
	    MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "bench-portal-peer: MHD_start_daemon failed\n");
		return (1);
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (info == NULL || (pf = fopen(argv[2], "w")) == NULL) {
		fprintf(stderr, "bench-portal-peer: no port to report\n");
		MHD_stop_daemon(d);
		return (1);
	}
	fprintf(pf, "%u\n", (unsigned int)info->port);
	fclose(pf);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!stop)
		pause();
	MHD_stop_daemon(d);
	MHD_destroy_response(page);
	return (0);
}
