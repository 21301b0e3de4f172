/*
 * The portal's server (see portal.h): libmicrohttpd in an internal
 * epoll thread pool, routing, limits, security headers, sign-in and the
 * pages' form actions.  The JSON API, /healthz and /metrics are in
 * portal-api.c, the HTML in portal-pages.c.
 *
 * Threads: MHD's threads run the access handler; each opens its own
 * store connection on first use (kept in a thread-specific slot, closed
 * by portal_stop after MHD has joined its threads).  The loop's objects
 * are reached through the bridge only.
 *
 * The configuration: each request holds a reference to the config it
 * started with (struct portal_cfgref); a reload makes a new current one
 * and the old config is freed when its last request completes.
 */
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <uv.h>

#include "aws-client.h"
#include "aws-context.h"
#include "buf.h"
#include "config.h"
#include "control.h"
#include "engine.h"
#include "log.h"
#include "portal-api.h"
#include "portal-auth.h"
#include "portal-bridge.h"
#include "portal-http.h"
#include "portal-oidc.h"
#include "portal-pages.h"
#include "portal-stats.h"
#include "portal.h"
#include "people.h"
#include "store.h"
#include "tmpl.h"
#include "wallclock.h"
#include "window.h"
#include "xmalloc.h"

#define PORTAL_PAGE_MAX	    (4 * 1024 * 1024)
#define PORTAL_TLS_FILE_MAX (1024 * 1024)
/* The automatic connection cap: at most this many, and this many file
 * descriptors (or a quarter of the limit) kept for the database, the
 * control socket, outgoing AWS calls and mail. */
#define PORTAL_CONNECTIONS_MAX 1024
#define PORTAL_FDS_RESERVED    128
#define PORTAL_CONNECTIONS_MIN 16
/* Accepted beyond the cap per thread, so a new connection can be taken
 * while the oldest idle one closes. */
#define PORTAL_CONNECTIONS_SLACK 8
/* How often the watch looks for connections past their deadline. */
#define PORTAL_WATCH_MS 250
/* The loop is alive when it runs a call within this (healthz, metrics). */
#define PORTAL_LOOP_ALIVE_MS 1000
/* The longest address taken from X-Forwarded-For. */
#define PORTAL_ADDR_MAX 64

#define PORTAL_CSP                                                   \
	"default-src 'self'; script-src 'self'; style-src 'self'; "  \
	"img-src 'self' data:; object-src 'none'; base-uri 'none'; " \
	"form-action 'self'; frame-ancestors 'none'"

struct portal_cfgref {
	const struct config  *config;
	struct config	     *owned; /* freed with the last ref */
	unsigned int	      refs;
	struct portal_cfgref *next; /* retired list */
};

/*
 * A connection under watch (MHD's socket context): where its request
 * is and since when, so that a request head that takes longer than
 * request_timeout or a body slower than body_min_rate is closed however
 * often bytes trickle in (MHD's idle timeout restarts on every byte),
 * and so that the oldest idle connection makes room when the portal is
 * full.
 */
enum portal_sock_state {
	PORTAL_SOCK_HEAD,    /* waiting for (the rest of) a request head */
	PORTAL_SOCK_BODY,    /* head read, body coming */
	PORTAL_SOCK_REPLY,   /* answered or answering */
	PORTAL_SOCK_CLOSING, /* shut down by the watch */
};

struct portal_sock {
	int		       fd;
	enum portal_sock_state state;
	int64_t		       since;	/* monotonic ms */
	uint64_t	       body;	/* bytes of body read */
	TAILQ_ENTRY(portal_sock) entry; /* oldest first */
};
TAILQ_HEAD(portal_socks, portal_sock);

struct portal {
	struct portal_deps    deps;
	struct MHD_Daemon    *mhd;
	struct portal_bridge *bridge;
	struct portal_oidc   *oidc; /* auth.oidc's sign-ins */
	unsigned int	      port;
	int		      tls;
	char		     *tls_cert;
	char		     *tls_key;
	char		     *db_path;

	pthread_mutex_t	      lock; /* cfg, retired, stores */
	struct portal_cfgref *cfg;
	struct portal_cfgref *retired;
	pthread_key_t	      store_key;
	struct store	    **stores;
	size_t		      nstores;

	struct portal_ratelimit *ratelimit;
	atomic_ullong		 requests[6]; /* by status class 1xx..5xx */

	pthread_mutex_t	    watch_lock; /* socks, nsocks, limits */
	pthread_cond_t	    watch_cond;
	pthread_t	    watch_thread;
	int		    watch_started;
	int		    watch_stop;
	struct portal_socks socks;
	/* The stats thread (portal_stats_main): its own lock and wake-up. */
	pthread_mutex_t stats_lock;
	pthread_cond_t	stats_cond;
	pthread_t	stats_thread;
	int		stats_started;
	int		stats_stop;
	unsigned int	nsocks; /* not closing */
	unsigned int	max_connections;
	int64_t		request_timeout_ms;
	uint64_t	body_min_rate;
	atomic_ullong	closed_deadline;
	atomic_ullong	closed_shed;
};

/* Per request (MHD's con_cls). */
struct portal_conn {
	struct portal_cfgref *cfg;
	struct buf	      body;
	int		      started;
};

/* --- Configuration references ------------------------------------------- */

static struct portal_cfgref *
portal_cfg_get(struct portal *p)
{
	struct portal_cfgref *ref;

	pthread_mutex_lock(&p->lock);
	ref = p->cfg;
	ref->refs++;
	pthread_mutex_unlock(&p->lock);
	return (ref);
}

/* Frees a retired reference without requests; called locked. */
static void
portal_cfg_reap(struct portal *p)
{
	struct portal_cfgref **pp, *ref;

	for (pp = &p->retired; (ref = *pp) != NULL;) {
		if (ref->refs != 0) {
			pp = &ref->next;
			continue;
		}
		*pp = ref->next;
		config_free(ref->owned);
		free(ref);
	}
}

static void
portal_cfg_put(struct portal *p, struct portal_cfgref *ref)
{
	pthread_mutex_lock(&p->lock);
	ref->refs--;
	portal_cfg_reap(p);
	pthread_mutex_unlock(&p->lock);
}

void
portal_set_engine(struct portal *p, struct engine *e)
{
	/* Read only by the loop's calls (portal_stats_cb): no lock. */
	p->deps.engine = e;
}

void
portal_reconfigure(struct portal *p, const struct config *new,
    struct config		 *old)
{
	struct portal_cfgref *ref;

	ref = xcalloc(1, sizeof *ref);
	ref->config = new;
	pthread_mutex_lock(&p->lock);
	p->cfg->owned = old;
	p->cfg->next = p->retired;
	p->retired = p->cfg;
	p->cfg = ref;
	portal_cfg_reap(p);
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_lock(&p->watch_lock);
	p->request_timeout_ms = new->request_timeout_ms;
	p->body_min_rate = new->body_min_rate;
	pthread_mutex_unlock(&p->watch_lock);
}

/* --- Store connections ---------------------------------------------------- */

static struct store *
portal_store(struct portal *p)
{
	struct store *s;
	char	     *cause = NULL, *fault;

	if ((s = pthread_getspecific(p->store_key)) != NULL)
		return (s);
	if (store_open(p->db_path, &s, &cause) != 0) {
		/* A storage fault was said once, not at every request. */
		if ((fault = store_fault()) != NULL)
			log_debug(LOG_CAT_PORTAL,
			    "portal: cannot open the "
			    "database path=%s: %s",
			    p->db_path, cause);
		else
			log_warnx("portal: cannot open the database path=%s: "
				  "%s",
			    p->db_path,
			    cause != NULL ? cause : "unknown error");
		free(fault);
		free(cause);
		return (NULL);
	}
	pthread_setspecific(p->store_key, s);
	pthread_mutex_lock(&p->lock);
	p->stores = xreallocarray(p->stores, p->nstores + 1, sizeof *p->stores);
	p->stores[p->nstores++] = s;
	pthread_mutex_unlock(&p->lock);
	return (s);
}

/* --- Calls onto the loop -------------------------------------------------- */

struct portal_action_call {
	struct portal	     *p;
	struct engine_action *act;
	char		     *cause;
	int		      rc;
};

static void
portal_action_cb(void *arg)
{
	struct portal_action_call *call = arg;
	struct portal		  *p = call->p;

	call->rc = ENGINE_ECLOSING;
	if (p->deps.act != NULL)
		call->rc = p->deps.act(p->deps.act_arg, call->act,
		    &call->cause);
}

int
portal_action(struct portal *p, struct engine_action *act, char **cause)
{
	struct portal_action_call call;
	int			  rc;

	memset(&call, 0, sizeof call);
	call.p = p;
	call.act = act;
	rc = portal_bridge_call(p->bridge, portal_action_cb, &call,
	    PORTAL_BRIDGE_TIMEOUT_MS);
	if (rc != 0) {
		*cause = xstrdup(rc == PORTAL_BRIDGE_ETIMEDOUT ?
				     "shipgated is busy: try again" :
				     "shipgated is stopping");
		return (ENGINE_ECLOSING);
	}
	log_info("portal: %s %s id=%lld user=%s via=%s",
	    engine_action_name(act->kind), call.rc == 0 ? "done" : "refused",
	    (long long)act->id, act->actor.user, act->actor.via);
	if (call.rc != 0 && call.cause == NULL)
		call.cause = xstrdup(control_error_name(call.rc));
	*cause = call.cause;
	return (call.rc);
}

static void
portal_noop_cb(void *arg)
{
	*(int *)arg = 1;
}

int
portal_loop_alive(struct portal *p)
{
	int ran = 0;

	return (portal_bridge_call(p->bridge, portal_noop_cb, &ran,
		    PORTAL_LOOP_ALIVE_MS) == 0 &&
		ran);
}

#define PORTAL_STATS_MAX 256

struct portal_stats_call {
	struct portal	      *p;
	struct aws_client_stat stats[PORTAL_STATS_MAX];
	char		      *names[PORTAL_STATS_MAX][2];
	size_t		       n;
	size_t		       active_runs;
	int		       have_engine;
};

static void
portal_stats_cb(void *arg)
{
	struct portal_stats_call *call = arg;
	struct aws_client	 *client;
	size_t			  i;

	if (call->p->deps.engine != NULL) {
		call->active_runs = engine_active_runs(call->p->deps.engine);
		call->have_engine = 1;
	}
	if (call->p->deps.aws == NULL ||
	    (client = aws_context_client(call->p->deps.aws)) == NULL)
		return;
	call->n = aws_client_stats(client, call->stats, PORTAL_STATS_MAX);
	if (call->n > PORTAL_STATS_MAX)
		call->n = PORTAL_STATS_MAX;
	/* The names belong to the loop's client: copied here. */
	for (i = 0; i < call->n; i++) {
		call->names[i][0] = xstrdup(call->stats[i].service != NULL ?
						call->stats[i].service :
						"");
		call->names[i][1] = xstrdup(call->stats[i].operation != NULL ?
						call->stats[i].operation :
						"");
	}
}

static void
portal_metric_line(struct buf *b, const char *name, const char *service,
    const char *operation, unsigned long long v)
{
	const char *s[2] = { service, operation };
	int	    i;

	buf_printf(b, "%s{service=\"", name);
	for (i = 0; i < 2; i++) {
		for (; *s[i] != '\0'; s[i]++) {
			if (*s[i] == '"' || *s[i] == '\\' || *s[i] == '\n')
				buf_appends(b, "_");
			else
				buf_append(b, s[i], 1);
		}
		if (i == 0)
			buf_appends(b, "\",operation=\"");
	}
	buf_printf(b, "\"} %llu\n", v);
}

void
portal_loop_metrics(struct portal *p, struct buf *b)
{
	struct portal_stats_call *call;
	static const char *const  names[6] = {
		 "shipgate_aws_calls_total",
		 "shipgate_aws_errors_total",
		 "shipgate_aws_retries_total",
		 "shipgate_aws_throttled_total",
		 "shipgate_aws_limited_total",
		 "shipgate_aws_limited_milliseconds_total",
	};
	static const char *const help[6] = {
		"AWS calls started",
		"AWS calls that ended in an error",
		"AWS extra attempts",
		"AWS attempts refused by throttling",
		"AWS attempts held back by the client-side rate limit",
		"Time AWS attempts were held back by the client-side rate limit",
	};
	size_t		   i;
	int		   k, alive;
	unsigned long long v;

	call = xcalloc(1, sizeof *call);
	call->p = p;
	alive = portal_bridge_call(p->bridge, portal_stats_cb, call,
		    PORTAL_LOOP_ALIVE_MS) == 0;
	buf_printf(b,
	    "# HELP shipgate_loop_up Whether the daemon's loop "
	    "answers.\n# TYPE shipgate_loop_up gauge\nshipgate_loop_up %d\n",
	    alive);
	if (call->have_engine)
		buf_printf(b,
		    "# HELP shipgate_active_runs Unfinished runs "
		    "the engine holds.\n# TYPE shipgate_active_runs gauge\n"
		    "shipgate_active_runs %zu\n",
		    call->active_runs);
	for (k = 0; k < 6; k++) {
		buf_printf(b,
		    "# HELP %s %s, by service and operation.\n"
		    "# TYPE %s counter\n",
		    names[k], help[k], names[k]);
		for (i = 0; i < call->n; i++) {
			v = k == 0 ? call->stats[i].calls :
			    k == 1 ? call->stats[i].errors :
			    k == 2 ? call->stats[i].retries :
			    k == 3 ? call->stats[i].throttled :
			    k == 4 ? call->stats[i].limited :
				     call->stats[i].limited_ms;
			portal_metric_line(b, names[k], call->names[i][0],
			    call->names[i][1], v);
		}
	}
	buf_appends(b, "# HELP shipgate_portal_requests_total Portal "
		       "requests answered, by status class.\n"
		       "# TYPE shipgate_portal_requests_total counter\n");
	for (k = 1; k <= 5; k++)
		buf_printf(b,
		    "shipgate_portal_requests_total{code=\"%dxx\"} "
		    "%llu\n",
		    k, (unsigned long long)atomic_load(&p->requests[k]));
	pthread_mutex_lock(&p->watch_lock);
	k = (int)p->nsocks;
	pthread_mutex_unlock(&p->watch_lock);
	buf_printf(b,
	    "# HELP shipgate_portal_connections Open portal "
	    "connections.\n# TYPE shipgate_portal_connections gauge\n"
	    "shipgate_portal_connections %d\n"
	    "# HELP shipgate_portal_connections_max The portal's connection "
	    "cap.\n# TYPE shipgate_portal_connections_max gauge\n"
	    "shipgate_portal_connections_max %u\n"
	    "# HELP shipgate_portal_connections_closed_total Connections the "
	    "portal closed: a request too slow (deadline) or the oldest idle "
	    "one when full (shed).\n"
	    "# TYPE shipgate_portal_connections_closed_total counter\n"
	    "shipgate_portal_connections_closed_total{reason=\"deadline\"} "
	    "%llu\n"
	    "shipgate_portal_connections_closed_total{reason=\"shed\"} "
	    "%llu\n",
	    k, p->max_connections,
	    (unsigned long long)atomic_load(&p->closed_deadline),
	    (unsigned long long)atomic_load(&p->closed_shed));
	for (i = 0; i < call->n; i++) {
		free(call->names[i][0]);
		free(call->names[i][1]);
	}
	free(call);
}

/* --- Connections under watch ------------------------------------------------ */

static int64_t
portal_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * Called locked: closes a connection under MHD's feet.  Its thread sees
 * the end of the stream and closes it (calling portal_notify_cb, which
 * takes it off the list); the descriptor is still open here because
 * MHD closes it only after that callback, which needs this lock.
 */
static void
portal_sock_close(struct portal *p, struct portal_sock *ps,
    atomic_ullong *counter)
{
	if (ps->state == PORTAL_SOCK_CLOSING)
		return;
	ps->state = PORTAL_SOCK_CLOSING;
	p->nsocks--;
	(void)shutdown(ps->fd, SHUT_RDWR);
	atomic_fetch_add(counter, 1);
}

/* Called locked: whether ps is past its deadline at now. */
static int
portal_sock_late(const struct portal *p, const struct portal_sock *ps,
    int64_t now)
{
	int64_t elapsed = now - ps->since;
	int	late, unread = 0;

	switch (ps->state) {
	case PORTAL_SOCK_HEAD:
		late = elapsed > p->request_timeout_ms;
		break;
	case PORTAL_SOCK_BODY:
		/* After a grace of request_timeout, at least body_min_rate
		 * bytes a second on average. */
		late = elapsed > p->request_timeout_ms &&
		       ps->body <
			   p->body_min_rate *
			       (uint64_t)(elapsed - p->request_timeout_ms) /
			       1000;
		break;
	default:
		return (0);
	}
	/*
	 * Bytes the kernel holds that no thread has read yet: the portal
	 * is behind (its threads busy with other requests), not the
	 * client.  Spared until they are read; a slow client's few bytes
	 * are read as they come, so it is not spared for long.
	 */
	if (late && ioctl(ps->fd, FIONREAD, &unread) == 0 && unread > 0)
		late = 0;
	return (late);
}

static void *
portal_watch_main(void *arg)
{
	struct portal	   *p = arg;
	struct portal_sock *ps;
	struct timespec	    ts;
	int64_t		    now;

	pthread_mutex_lock(&p->watch_lock);
	while (!p->watch_stop) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += PORTAL_WATCH_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&p->watch_cond, &p->watch_lock,
		    &ts);
		now = portal_monotonic();
		TAILQ_FOREACH(ps, &p->socks, entry) {
			if (portal_sock_late(p, ps, now))
				portal_sock_close(p, ps, &p->closed_deadline);
		}
	}
	pthread_mutex_unlock(&p->watch_lock);
	return (NULL);
}

/*
 * The delivery measures computed ahead of the requests
 * (portal_stats_refresh): every app's at start, then each second those
 * due, with a store connection of this thread's own and the current
 * configuration.  A computation takes up to a few tenths of a second at
 * 100,000 runs; none of it is a request's.
 */
#define PORTAL_STATS_TICK_MS 1000

static void *
portal_stats_main(void *arg)
{
	struct portal	     *p = arg;
	struct portal_cfgref *ref;
	struct store	     *s = NULL;
	struct timespec	      ts;
	char		     *cause = NULL;
	int		      warm = 1, said = 0;

	pthread_mutex_lock(&p->stats_lock);
	while (!p->stats_stop) {
		pthread_mutex_unlock(&p->stats_lock);
		/* A database the daemon waits for (a full disk): requests
		   compute the measures until it opens, tried each tick. */
		if (s == NULL && store_open(p->db_path, &s, &cause) != 0) {
			if (!said)
				log_warnx("portal: the stats thread cannot "
					  "open the database path=%s: %s; "
					  "requests compute the measures "
					  "until it can",
				    p->db_path,
				    cause != NULL ? cause : "unknown error");
			said = 1;
			free(cause);
			cause = NULL;
			s = NULL;
			pthread_mutex_lock(&p->stats_lock);
			goto wait;
		}
		if (said) {
			log_info("portal: the stats thread opened the "
				 "database");
			said = 0;
		}
		portal_stats_refresher_set(1);
		ref = portal_cfg_get(p);
		portal_stats_refresh(s, ref->config, wallclock_ms(), warm);
		portal_cfg_put(p, ref);
		warm = 0;
		pthread_mutex_lock(&p->stats_lock);
		if (p->stats_stop)
			break;
wait:
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += PORTAL_STATS_TICK_MS / 1000;
		(void)pthread_cond_timedwait(&p->stats_cond, &p->stats_lock,
		    &ts);
	}
	pthread_mutex_unlock(&p->stats_lock);
	portal_stats_refresher_set(0);
	if (s != NULL)
		store_close(s);
	return (NULL);
}

static void
portal_notify_cb(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct portal		       *p = cls;
	struct portal_sock	       *ps, *old;
	const union MHD_ConnectionInfo *ci;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if ((ps = *socket_context) == NULL)
			return;
		pthread_mutex_lock(&p->watch_lock);
		TAILQ_REMOVE(&p->socks, ps, entry);
		if (ps->state != PORTAL_SOCK_CLOSING)
			p->nsocks--;
		pthread_mutex_unlock(&p->watch_lock);
		free(ps);
		*socket_context = NULL;
		return;
	}
	if (toe != MHD_CONNECTION_NOTIFY_STARTED ||
	    (ci = MHD_get_connection_info(conn,
		 MHD_CONNECTION_INFO_CONNECTION_FD)) == NULL)
		return;
	ps = xcalloc(1, sizeof *ps);
	ps->fd = ci->connect_fd;
	ps->state = PORTAL_SOCK_HEAD;
	ps->since = portal_monotonic();
	pthread_mutex_lock(&p->watch_lock);
	TAILQ_INSERT_TAIL(&p->socks, ps, entry);
	p->nsocks++;
	if (p->nsocks > p->max_connections) {
		/* Full: the oldest connection still waiting for a request
		 * makes room (a slow client's, or an idle keep-alive);
		 * if every one is busy, the new one goes. */
		TAILQ_FOREACH(old, &p->socks, entry) {
			if (old->state == PORTAL_SOCK_HEAD)
				break;
		}
		portal_sock_close(p, old != NULL ? old : ps, &p->closed_shed);
	}
	pthread_mutex_unlock(&p->watch_lock);
	*socket_context = ps;
}

/* The request on conn moved on (its head read, answered, done). */
static void
portal_sock_moved(struct portal *p, struct MHD_Connection *conn,
    enum portal_sock_state state, size_t body)
{
	const union MHD_ConnectionInfo *ci;
	struct portal_sock	       *ps;

	if ((ci = MHD_get_connection_info(conn,
		 MHD_CONNECTION_INFO_SOCKET_CONTEXT)) == NULL ||
	    (ps = ci->socket_context) == NULL)
		return;
	pthread_mutex_lock(&p->watch_lock);
	if (ps->state != PORTAL_SOCK_CLOSING) {
		if (ps->state != state) {
			ps->state = state;
			ps->since = portal_monotonic();
			ps->body = 0;
		}
		ps->body += body;
		/* Oldest first: an idle connection goes to the end. */
		if (state == PORTAL_SOCK_HEAD) {
			TAILQ_REMOVE(&p->socks, ps, entry);
			TAILQ_INSERT_TAIL(&p->socks, ps, entry);
		}
	}
	pthread_mutex_unlock(&p->watch_lock);
}

/*
 * The cap on connections: max_connections, or derived from the file
 * limit so that the daemon keeps descriptors for its database, the
 * control socket and its AWS calls however many clients come.
 */
static unsigned int
portal_connection_cap(const struct config *config)
{
	struct rlimit rl;
	rlim_t	      reserve, cap;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		rl.rlim_cur = 1024 * 1024;
	reserve = rl.rlim_cur / 4 > PORTAL_FDS_RESERVED ? rl.rlim_cur / 4 :
							  PORTAL_FDS_RESERVED;
	cap = rl.rlim_cur > reserve ? rl.rlim_cur - reserve : 0;
	if (config->max_connections > 0) {
		if ((rlim_t)config->max_connections > cap)
			log_warnx(
			    "portal: max_connections=%d leaves fewer "
			    "than %llu of %llu file descriptors to the rest "
			    "of the daemon (raise LimitNOFILE=)",
			    config->max_connections,
			    (unsigned long long)reserve,
			    (unsigned long long)rl.rlim_cur);
		return ((unsigned int)config->max_connections);
	}
	if (cap > PORTAL_CONNECTIONS_MAX)
		cap = PORTAL_CONNECTIONS_MAX;
	if (cap < PORTAL_CONNECTIONS_MIN)
		cap = PORTAL_CONNECTIONS_MIN;
	return ((unsigned int)cap);
}

/* --- Replies -------------------------------------------------------------- */

static void
portal_reply_init(struct portal_reply *r)
{
	memset(r, 0, sizeof *r);
	buf_init(&r->body, PORTAL_REPLY_MAX);
	r->status = 500;
	r->content_type = "text/html; charset=utf-8";
}

static void
portal_reply_free(struct portal_reply *r)
{
	buf_free(&r->body);
	free(r->location);
	free(r->set_cookie);
}

static enum MHD_Result
portal_send(struct portal *p, struct MHD_Connection *conn,
    struct portal_reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result	     ret;
	/* libmicrohttpd takes a non-const buffer, though it only reads it. */
	static char empty[1];
	size_t	    len;
	char	   *data;

	data = buf_take(&r->body, &len);
	if (data == NULL)
		resp = MHD_create_response_from_buffer(0, empty,
		    MHD_RESPMEM_PERSISTENT);
	else
		resp = MHD_create_response_from_buffer(len, data,
		    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(data);
		return (MHD_NO);
	}
	MHD_add_response_header(resp, "Content-Type", r->content_type);
	MHD_add_response_header(resp, "Content-Security-Policy", PORTAL_CSP);
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Cross-Origin-Opener-Policy",
	    "same-origin");
	MHD_add_response_header(resp, "Cache-Control",
	    r->cacheable ? "public, max-age=300" : "no-store");
	if (p->tls)
		MHD_add_response_header(resp, "Strict-Transport-Security",
		    "max-age=31536000");
	if (r->location != NULL)
		MHD_add_response_header(resp, "Location", r->location);
	if (r->set_cookie != NULL)
		MHD_add_response_header(resp, "Set-Cookie", r->set_cookie);
	if (r->status >= 100 && r->status < 600)
		atomic_fetch_add(&p->requests[r->status / 100], 1);
	ret = MHD_queue_response(conn, (unsigned int)r->status, resp);
	MHD_destroy_response(resp);
	return (ret);
}

static void
portal_redirect(struct portal_reply *r, const char *location)
{
	r->status = 303;
	r->content_type = "text/plain; charset=utf-8";
	buf_reset(&r->body);
	free(r->location);
	r->location = xstrdup(location);
}

/* An error page (HTML) or, for /api/v1 and friends, JSON. */
static void
portal_fail(const struct page_ctx *ctx, int api, struct portal_reply *r,
    int status, const char *error, const char *message)
{
	if (api) {
		portal_api_error(r, status, error, message);
		return;
	}
	buf_reset(&r->body);
	r->content_type = "text/html; charset=utf-8";
	r->status = status;
	if (pages_error(ctx, status, message, &r->body) < 0) {
		buf_reset(&r->body);
		r->content_type = "text/plain; charset=utf-8";
		buf_printf(&r->body, "%s\n", message);
	}
}

/* A page renderer's result into the reply. */
static void
portal_page_result(const struct page_ctx *ctx, struct portal_reply *r, int rc,
    char *cause)
{
	if (rc >= 0) {
		r->status = rc;
		r->content_type = "text/html; charset=utf-8";
	} else {
		log_warnx("portal: a page failed: %s",
		    cause != NULL ? cause : "unknown error");
		portal_fail(ctx, 0, r, 500, "store",
		    "The database failed; "
		    "try again.");
	}
	free(cause);
}

/* --- Requests ------------------------------------------------------------- */

struct portal_request {
	struct portal	      *p;
	struct MHD_Connection *conn;
	const struct config   *config;
	struct store	      *store;
	const char	      *method;
	const char	      *url;
	struct portal_path     path;
	int64_t		       id; /* the route's {id} */
	struct portal_form     query;
	struct portal_form     form; /* urlencoded POST body */
	const char	      *body;
	size_t		       body_len;
	char		       peer[INET6_ADDRSTRLEN];
	char		      *session; /* cookie's id, if live */
	char		      *user;
	char		       csrf[PORTAL_CSRF_LEN + 1];
	int		       by_token; /* Authorization: Bearer */
	int		       api;	 /* JSON errors */
	int64_t		       now;
	struct page_ctx	       ctx;
	struct portal_req      aq; /* what the API handlers see */
	struct portal_reply    reply;
};

static const char *
portal_header(struct portal_request *q, const char *name)
{
	return (MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, name));
}

struct portal_header_count {
	const char  *name;
	unsigned int n;
};

static enum MHD_Result
portal_header_count_cb(void *arg, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct portal_header_count *hc = arg;

	if (key != NULL && strcasecmp(key, hc->name) == 0)
		hc->n++;
	return (MHD_YES);
}

/* How many times the request carries header name. */
static unsigned int
portal_header_count(struct MHD_Connection *conn, const char *name)
{
	struct portal_header_count hc;

	hc.name = name;
	hc.n = 0;
	MHD_get_connection_values(conn, MHD_HEADER_KIND, portal_header_count_cb,
	    &hc);
	return (hc.n);
}

static void
portal_peer(struct portal_request *q)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr	       *sa;

	snprintf(q->peer, sizeof q->peer, "unknown");
	ci = MHD_get_connection_info(q->conn,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    q->peer, sizeof q->peer);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, q->peer,
		    sizeof q->peer);
}

/* The client's address for rate limits: a trusted proxy's last
 * X-Forwarded-For entry, else the peer. */
static char *
portal_client_addr(struct portal_request *q)
{
	const char *xff, *last;
	size_t	    len;

	if (!portal_auth_proxy_trusted(q->config, q->peer) ||
	    (xff = portal_header(q, "X-Forwarded-For")) == NULL)
		return (xstrdup(q->peer));
	last = strrchr(xff, ',');
	last = last != NULL ? last + 1 : xff;
	last += strspn(last, " \t");
	len = strcspn(last, " \t");
	if (len == 0 || len > PORTAL_ADDR_MAX)
		return (xstrdup(q->peer));
	return (xstrndup(last, len));
}

struct portal_args {
	struct portal_form *form;
	int		    overflow;
};

static enum MHD_Result
portal_query_cb(void *arg, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct portal_args *a = arg;
	struct portal_form *f = a->form;

	if (f->n >= PORTAL_HTTP_FIELDS_MAX) {
		a->overflow = 1;
		return (MHD_NO);
	}
	f->items = xreallocarray(f->items, f->n + 1, sizeof *f->items);
	f->items[f->n].key = xstrdup(key);
	f->items[f->n].value = xstrdup(value != NULL ? value : "");
	f->n++;
	return (MHD_YES);
}

/* Whether Origin (else Referer) names this site, when either is sent. */
static int
portal_same_origin(struct portal_request *q)
{
	const char *origin, *host;
	char	   *self;
	int	    ok;

	if ((origin = portal_header(q, "Origin")) == NULL &&
	    (origin = portal_header(q, "Referer")) == NULL)
		return (1);
	if (q->config->public_url != NULL &&
	    portal_origin_equal(origin, q->config->public_url))
		return (1);
	if ((host = portal_header(q, "Host")) == NULL)
		return (0);
	self = xasprintf("%s://%s/", q->p->tls ? "https" : "http", host);
	ok = portal_origin_equal(origin, self);
	free(self);
	return (ok);
}

/*
 * Writes a sign-in through the identity provider or the load balancer
 * to the store's people, so that a restart keeps the person and mails
 * reach them.  A failure is logged, not fatal: the sign-in itself
 * holds, and the next one writes again.
 */
static void
portal_person_seen(struct portal_request *q, const struct config_user *u,
    const char *via)
{
	char *cause = NULL;

	if (store_person_seen(q->store, u->name, u->email,
		(const char *const *)u->groups.items, via, &cause) != 0) {
		log_warnx("portal: cannot record person %s: %s", u->name,
		    cause);
		free(cause);
		people_unpersisted(q->config->people, u->name);
	}
}

/*
 * Who asks: a Bearer token, the session cookie, a trusted proxy's
 * header or the load balancer's token (auth.alb).  -1 when the store
 * failed (503 sent by the caller), 1 when the identity header or the
 * load balancer's is sent twice (400), 2 when the load balancer's is
 * missing or does not verify (401).
 */
static int
portal_identify(struct portal_request *q)
{
	const struct config_user *u;
	const char		 *h;
	char			 *cookie = NULL, *cause = NULL;
	int			  err = 0, persist = 0;

	if ((h = portal_header(q, "Authorization")) != NULL &&
	    strncasecmp(h, "Bearer ", 7) == 0) {
		q->by_token = 1;
		q->user = portal_token_user(q->store,
		    h + 7 + strspn(h + 7, " "), q->now, &err);
		if (q->user != NULL &&
		    config_find_user(q->config, q->user) == NULL) {
			free(q->user);
			q->user = NULL;
		}
		return (err != 0 ? -1 : 0);
	}
	if ((h = portal_header(q, "Cookie")) != NULL &&
	    portal_cookie_get(h, strlen(h), PORTAL_SESSION_COOKIE, &cookie) ==
		0 &&
	    cookie != NULL) {
		q->user = portal_session_user(q->store, q->config, cookie,
		    q->now, &err);
		if (err != 0) {
			freezero_str(cookie);
			return (-1);
		}
		if (q->user != NULL)
			q->session = cookie;
		else
			freezero_str(cookie);
	}
	if (q->config->identity_header != NULL &&
	    portal_header_count(q->conn, q->config->identity_header) > 1)
		return (1); /* which one the proxy meant is unknown */
	if (q->config->identity_header != NULL &&
	    (h = portal_header(q, q->config->identity_header)) != NULL &&
	    (u = portal_auth_proxy_user(q->config, q->peer, h)) != NULL &&
	    (q->user == NULL || strcmp(q->user, u->name) != 0)) {
		/* The proxy's user gets a session of their own. */
		free(q->user);
		freezero_str(q->session);
		q->user = NULL;
		q->session = NULL;
		if (portal_session_new(q->store, q->config, u->name, q->peer,
			q->now, &q->session, &cause) != 0) {
			log_warnx("portal: cannot create a session: %s", cause);
			free(cause);
			return (-1);
		}
		q->user = xstrdup(u->name);
		q->reply.set_cookie = portal_session_cookie(q->config,
		    q->session, q->p->tls);
		log_info("portal: signed in by the proxy user=%s proxy=%s",
		    u->name, q->peer);
	}
	if (q->config->alb.arn != NULL &&
	    portal_auth_proxy_trusted(q->config, q->peer)) {
		/* Behind the load balancer every request carries its token. */
		if (portal_header_count(q->conn, "x-amzn-oidc-data") > 1)
			return (1);
		if (portal_alb_person(q->p->oidc, q->config,
			portal_header(q, "x-amzn-oidc-data"), q->now / 1000, &u,
			&persist, &cause) != 0) {
			log_notice("portal: load balancer token refused "
				   "proxy=%s: %s",
			    q->peer, cause);
			free(cause);
			free(q->user);
			freezero_str(q->session);
			q->user = NULL;
			q->session = NULL;
			return (2);
		}
		if (persist)
			portal_person_seen(q, u, "alb");
		if (q->user == NULL || strcmp(q->user, u->name) != 0) {
			free(q->user);
			freezero_str(q->session);
			q->user = NULL;
			q->session = NULL;
			if (portal_session_new(q->store, q->config, u->name,
				q->peer, q->now, &q->session, &cause) != 0) {
				log_warnx("portal: cannot create a session: "
					  "%s",
				    cause);
				free(cause);
				return (-1);
			}
			q->user = xstrdup(u->name);
			free(q->reply.set_cookie);
			q->reply.set_cookie = portal_session_cookie(q->config,
			    q->session, q->p->tls);
			log_info("portal: signed in user=%s via=alb proxy=%s",
			    u->name, q->peer);
		}
	}
	if (q->session != NULL) {
		portal_csrf_token(q->session, q->csrf);
		q->ctx.csrf = q->csrf;
	}
	return (0);
}

/* A loggable copy of outside text (control characters replaced). */
static char *
portal_loggable(const char *s)
{
	char *t, *c;

	t = xstrndup(s != NULL ? s : "-", 64);
	for (c = t; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '"')
			*c = '?';
	}
	return (t);
}

static const char *
portal_form_value(struct portal_request *q, const char *key)
{
	return (portal_form_get(&q->form, key));
}

static int
portal_blank(const char *s)
{
	return (s == NULL || s[strspn(s, " \t\r\n")] == '\0');
}

/* POST /login */
static void
portal_login(struct portal_request *q)
{
	struct portal_reply	 *r = &q->reply;
	const struct config	 *c = q->config;
	const struct config_user *u;
	const char		 *user, *password, *next, *ukey;
	char			 *addr, *id = NULL;
	char			 *cause = NULL, *lu;
	int64_t			  wait = 0;
	int			  rc;

	user = portal_form_value(q, "user");
	password = portal_form_value(q, "password");
	if (user == NULL)
		user = portal_form_value(q, "login");
	addr = portal_client_addr(q);
	/* A name no user can have is not kept: only the address counts. */
	ukey = portal_blank(user) || strlen(user) > PORTAL_USER_NAME_MAX ?
		   NULL :
		   user;
	lu = portal_loggable(user);
	q->ctx.user = NULL;
	q->ctx.csrf = NULL;
	if (!portal_ratelimit_attempt(q->p->ratelimit, addr, ukey,
		c->sign_in_attempts, c->sign_in_window_ms, q->now, &wait)) {
		log_notice("portal: sign-in refused, too many failures "
			   "user=%s addr=%s",
		    lu, addr);
		rc = pages_login(&q->ctx,
		    "Too many failed sign-ins: try "
		    "again later.",
		    &r->body, &cause);
		portal_page_result(&q->ctx, r, rc, cause);
		if (rc >= 0)
			r->status = 429;
		goto out;
	}
	u = ukey != NULL ? config_find_user(c, ukey) : NULL;
	if (ukey == NULL || password == NULL ||
	    portal_auth_password(u, password) != 0) {
		/* The attempt is counted already. */
		log_notice("portal: sign-in failed user=%s addr=%s", lu, addr);
		rc = pages_login(&q->ctx, "Wrong user name or password.",
		    &r->body, &cause);
		portal_page_result(&q->ctx, r, rc, cause);
		if (rc >= 0)
			r->status = 403;
		goto out;
	}
	portal_ratelimit_success(q->p->ratelimit, addr, ukey);
	if (q->session != NULL)
		(void)portal_session_revoke(q->store, q->session, q->now);
	if (portal_session_new(q->store, c, u->name, addr, q->now, &id,
		&cause) != 0) {
		log_warnx("portal: cannot create a session: %s", cause);
		free(cause);
		portal_fail(&q->ctx, 0, r, 503, "store",
		    "The database "
		    "failed; try again.");
		goto out;
	}
	log_info("portal: signed in user=%s addr=%s", u->name, addr);
	free(r->set_cookie);
	r->set_cookie = portal_session_cookie(c, id, q->p->tls);
	next = portal_form_value(q, "next");
	if (portal_local_path(next))
		portal_redirect(r, next);
	else
		portal_redirect(r, "/");
out:
	freezero_str(id);
	free(lu);
	free(addr);
}

/* The pages' form actions: /runs/{id}/VERB and /releases/{id}/redeploy. */
static void
portal_form_action(struct portal_request *q, int release, int64_t id,
    const char *verb)
{
	struct portal_reply  *r = &q->reply;
	struct engine_action  act;
	struct store_release *rel = NULL;
	const char	     *env, *comment, *done;
	char		     *cause = NULL, *loc, *error = NULL;
	int		      rc, status = 400, need_confirm;

	memset(&act, 0, sizeof act);
	env = portal_form_value(q, "env");
	comment = portal_form_value(q, "comment");
	if (portal_blank(env))
		env = NULL;
	if (portal_blank(comment))
		comment = NULL;
	act.id = id;
	act.env = env;
	act.comment = comment;
	act.actor.user = q->user;
	act.actor.via = "portal";
	need_confirm = 1;
	if (release && strcmp(verb, "redeploy") == 0) {
		act.kind = ENGINE_REDEPLOY;
		done = "redeploy";
	} else if (release) {
		portal_fail(&q->ctx, 0, r, 404, "not_found", "No such page.");
		return;
	} else if (strcmp(verb, "approve") == 0) {
		act.kind = ENGINE_APPROVE;
		need_confirm = 0;
		done = "approve";
	} else if (strcmp(verb, "reject") == 0) {
		act.kind = ENGINE_REJECT;
		need_confirm = 0;
		done = "reject";
	} else if (strcmp(verb, "authorise") == 0) {
		act.kind = ENGINE_AUTHORISE;
		act.env = NULL; /* the engine finds the gate */
		done = "authorise";
	} else if (strcmp(verb, "cancel") == 0) {
		act.kind = ENGINE_CANCEL;
		done = "cancel";
	} else if (strcmp(verb, "retry") == 0) {
		act.kind = ENGINE_RETRY;
		done = "retry";
	} else if (strcmp(verb, "override") == 0) {
		act.kind = ENGINE_OVERRIDE;
		done = "override";
	} else if (strcmp(verb, "ack-drift") == 0) {
		act.kind = ENGINE_ACK_DRIFT;
		done = "ack-drift";
	} else {
		portal_fail(&q->ctx, 0, r, 404, "not_found", "No such page.");
		return;
	}

	if ((act.kind == ENGINE_APPROVE || act.kind == ENGINE_RETRY ||
		act.kind == ENGINE_REDEPLOY || act.kind == ENGINE_OVERRIDE ||
		act.kind == ENGINE_ACK_DRIFT) &&
	    env == NULL)
		error = xstrdup("Choose an environment.");
	else if (act.kind == ENGINE_REJECT && comment == NULL)
		error = xstrdup("A comment is required to reject.");
	else if (act.kind == ENGINE_ACK_DRIFT && comment == NULL)
		error = xstrdup("A comment is required to acknowledge drift: "
				"say why.");
	else if (act.kind == ENGINE_OVERRIDE && comment == NULL)
		error = xstrdup("A comment is required to override the deploy "
				"window: say why.");
	else if (need_confirm && portal_form_value(q, "confirm") == NULL)
		error = xasprintf("Tick Confirm to %s.",
		    act.kind == ENGINE_AUTHORISE ? "authorise the promotion" :
		    act.kind == ENGINE_CANCEL	 ? "cancel the run" :
		    act.kind == ENGINE_RETRY	 ? "retry the stage" :
		    act.kind == ENGINE_OVERRIDE ? "override the deploy window" :
		    act.kind == ENGINE_ACK_DRIFT ? "acknowledge the drift" :
						   "redeploy this release");
	else if ((rc = portal_action(q->p, &act, &cause)) != 0) {
		status = portal_api_status(rc);
		error = cause;
		cause = NULL;
	}
	if (error == NULL) {
		loc = xasprintf("/runs/%lld?done=%s",
		    (long long)(act.kind == ENGINE_REDEPLOY ? act.new_run : id),
		    done);
		portal_redirect(r, loc);
		free(loc);
		goto out;
	}
	/* Render the page the form came from again, with the error. */
	if (release) {
		if ((rc = store_get_release(q->store, id, &rel, &cause)) != 0) {
			portal_fail(&q->ctx, 0, r,
			    rc == STORE_ENOTFOUND ? 404 : 503, "not_found",
			    error);
			goto out;
		}
		rc = pages_app(&q->ctx, rel->app, NULL, error, &r->body,
		    &cause);
	} else
		rc = pages_run(&q->ctx, id, NULL, error, &r->body, &cause);
	portal_page_result(&q->ctx, r, rc, cause);
	cause = NULL;
	if (rc >= 200 && rc < 300)
		r->status = status;
out:
	store_release_free(rel);
	free(cause);
	free(error);
}

/*
 * POST /apps/APP/stacks/ENV/{continue-rollback,delete-failed-stack}: an
 * operator's way out of an environment's stuck stack, from the app
 * page.  A comment is required, the skips (continue-rollback) are logical
 * ids with spaces between.
 */
#define PORTAL_SKIP_MAX 32

static void
portal_stack_form(struct portal_request *q)
{
	struct portal_reply *r = &q->reply;
	struct engine_action act;
	const char	    *app = q->path.segs[1], *env = q->path.segs[3];
	const char	    *verb = q->path.segs[4], *comment, *skipv;
	const char	    *skip[PORTAL_SKIP_MAX];
	char		    *skips = NULL, *p, *cause = NULL;
	char		    *error = NULL, *loc;
	size_t		     n = 0;
	int		     rc, status = 400;

	memset(&act, 0, sizeof act);
	if (strcmp(verb, "continue-rollback") == 0)
		act.kind = ENGINE_CONTINUE_ROLLBACK;
	else if (strcmp(verb, "delete-failed-stack") == 0)
		act.kind = ENGINE_DELETE_FAILED_STACK;
	else {
		portal_fail(&q->ctx, 0, r, 404, "not_found", "No such page.");
		return;
	}
	comment = portal_form_value(q, "comment");
	skipv = portal_form_value(q, "skip");
	if (!portal_blank(skipv)) {
		skips = xstrdup(skipv);
		for (p = strtok(skips, " \t\r\n,"); p != NULL;
		     p = strtok(NULL, " \t\r\n,")) {
			if (n == PORTAL_SKIP_MAX) {
				error = xasprintf("At most %d resources may "
						  "be skipped.",
				    PORTAL_SKIP_MAX);
				break;
			}
			skip[n++] = p;
		}
	}
	act.app = app;
	act.env = env;
	act.comment = portal_blank(comment) ? NULL : comment;
	act.skip = skip;
	act.nskip = n;
	act.actor.user = q->user;
	act.actor.via = "portal";
	if (error != NULL)
		;
	else if (act.comment == NULL)
		error = xstrdup("A comment is required: say why.");
	else if (portal_form_value(q, "confirm") == NULL)
		error = xstrdup("Tick Confirm to act on the stack.");
	else if ((rc = portal_action(q->p, &act, &cause)) != 0) {
		status = portal_api_status(rc);
		error = cause;
		cause = NULL;
	}
	if (error == NULL) {
		loc = xasprintf("/apps/%s", app);
		portal_redirect(r, loc);
		free(loc);
		goto out;
	}
	rc = pages_app(&q->ctx, app, NULL, error, &r->body, &cause);
	portal_page_result(&q->ctx, r, rc, cause);
	cause = NULL;
	if (rc >= 200 && rc < 300)
		r->status = status;
out:
	free(skips);
	free(cause);
	free(error);
}

/*
 * The end of a freeze the portal's form asks for: the end of day `date`
 * (YYYY-MM-DD), or `hhmm` (HH:MM) that day, in the environment's zone
 * (its first window's, else UTC, as its freezes in shipgate.yaml).  0,
 * or -1 with *error (the page's words).
 */
static int
portal_freeze_until(const struct config_environment *ce, const char *date,
    const char *hhmm, int64_t *until, char **error)
{
	const struct window_zone *zone;
	int64_t			  days;
	int			  y, m, d, minute = 0;

	zone = ce->nwindows > 0 ? ce->windows[0].zone.tz : NULL;
	if (portal_blank(date) || window_parse_date(date, &days, NULL) != 0) {
		*error = xstrdup("Until: a date (YYYY-MM-DD) is required.");
		return (-1);
	}
	if (!portal_blank(hhmm)) {
		if (window_parse_time(hhmm, &minute, NULL) != 0 ||
		    minute >= 1440) {
			*error = xstrdup("At: a time of day, HH:MM.");
			return (-1);
		}
	} else
		days++; /* midnight after the day */
	window_civil(days, &y, &m, &d);
	*until = window_local_to_ms(zone, y, m, d, minute);
	return (0);
}

/*
 * POST /apps/APP/freezes (env, until, until_time, comment: the reason)
 * and POST /apps/APP/freezes/ENV/unfreeze (freeze: a run-time freeze's
 * id, comment): an operator's freeze, and its lifting, from the app
 * page, through engine_act as shipgatectl's (same checks: operators
 * only; same audit, via portal).
 */
static void
portal_freeze_form(struct portal_request *q)
{
	struct portal_reply		*r = &q->reply;
	struct engine_action		 act;
	const struct config_app		*ca;
	const struct config_environment *ce = NULL;
	const char			*app = q->path.segs[1], *comment, *v;
	char				*cause = NULL, *error = NULL, *end;
	char				*loc;
	int				 rc, status = 400;

	memset(&act, 0, sizeof act);
	if (q->path.n == 3)
		act.kind = ENGINE_FREEZE;
	else if (q->path.n == 5 && strcmp(q->path.segs[4], "unfreeze") == 0)
		act.kind = ENGINE_UNFREEZE;
	else {
		portal_fail(&q->ctx, 0, r, 404, "not_found", "No such page.");
		return;
	}
	act.app = app;
	act.env = act.kind == ENGINE_FREEZE ? portal_form_value(q, "env") :
					      q->path.segs[3];
	comment = portal_form_value(q, "comment");
	act.comment = portal_blank(comment) ? NULL : comment;
	act.actor.user = q->user;
	act.actor.via = "portal";
	ca = q->config != NULL ? config_find_app(q->config, app) : NULL;
	if (ca != NULL && act.env != NULL)
		ce = config_find_environment(ca, act.env);
	if (ce == NULL) {
		status = 404;
		error = xstrdup("No such environment.");
	} else if (act.comment == NULL)
		error = xstrdup(act.kind == ENGINE_FREEZE ?
				    "A reason is required: say why." :
				    "A comment is required: say why.");
	else if (act.kind == ENGINE_FREEZE) {
		if (portal_freeze_until(ce, portal_form_value(q, "until"),
			portal_form_value(q, "until_time"), &act.until,
			&error) == 0 &&
		    act.until <= q->now)
			error = xstrdup("Until: a freeze ends in the future.");
	} else if ((v = portal_form_value(q, "freeze")) == NULL ||
		   (act.id = strtoll(v, &end, 10)) <= 0 || *end != '\0')
		error = xstrdup("Which freeze? Its number is missing.");
	if (error == NULL && (rc = portal_action(q->p, &act, &cause)) != 0) {
		status = portal_api_status(rc);
		error = cause;
		cause = NULL;
	}
	if (error == NULL) {
		loc = xasprintf("/apps/%s?done=%s", app,
		    engine_action_name(act.kind));
		portal_redirect(r, loc);
		free(loc);
		goto out;
	}
	rc = pages_app(&q->ctx, app, NULL, error, &r->body, &cause);
	portal_page_result(&q->ctx, r, rc, cause);
	cause = NULL;
	if (rc >= 200 && rc < 300)
		r->status = status;
out:
	free(cause);
	free(error);
}

static const char *
portal_done_notice(const char *done)
{
	static const struct {
		const char *code;
		const char *text;
	} notices[] = {
		{ "approve", "Approved." },
		{ "reject", "Rejected." },
		{ "authorise", "Promotion authorised." },
		{ "cancel", "Cancellation requested." },
		{ "retry", "Retry started." },
		{ "redeploy", "Redeployment started." },
		{ "override", "Deploy window overridden: the stage starts "
			      "now." },
		{ "ack-drift", "Drift acknowledged: the stage may be "
			       "approved." },
		{ "freeze", "Frozen: no execution starts there until the "
			    "freeze ends." },
		{ "unfreeze", "Freeze lifted." },
	};
	size_t i;

	for (i = 0; done != NULL && i < sizeof notices / sizeof *notices; i++)
		if (strcmp(done, notices[i].code) == 0)
			return (notices[i].text);
	return (NULL);
}

/* GET / */
/* The charts' period from ?days=; another value shows the default. */
static void
portal_stats_days(struct portal_request *q)
{
	const char *v = portal_form_get(&q->query, "days");
	int64_t	    days;

	if (v != NULL && portal_parse_id(v, &days) == 0 &&
	    portal_stats_days_ok(days))
		q->ctx.stats_days = (int)days;
}

static void
portal_page_dashboard(struct portal_request *q)
{
	char *cause = NULL;
	int   rc;

	portal_stats_days(q);
	rc = pages_dashboard(&q->ctx, &q->reply.body, &cause);
	portal_page_result(&q->ctx, &q->reply, rc, cause);
}

/* GET /runs?app=&env=&status=&version=&author=&from=&to=&before=&after= */
static void
portal_page_runs(struct portal_request *q)
{
	struct portal_reply   *r = &q->reply;
	struct page_runs_query rq;
	const char	      *before, *after;
	char		      *cause = NULL;
	int		       rc;

	memset(&rq, 0, sizeof rq);
	rq.app = portal_form_get(&q->query, "app");
	rq.env = portal_form_get(&q->query, "env");
	rq.status = portal_form_get(&q->query, "status");
	rq.version = portal_form_get(&q->query, "version");
	rq.author = portal_form_get(&q->query, "author");
	rq.from = portal_form_get(&q->query, "from");
	rq.to = portal_form_get(&q->query, "to");
	before = portal_form_get(&q->query, "before");
	after = portal_form_get(&q->query, "after");
	if ((before != NULL && *before != '\0' &&
		portal_parse_id(before, &rq.before) != 0) ||
	    (after != NULL && *after != '\0' &&
		portal_parse_id(after, &rq.after) != 0)) {
		portal_fail(&q->ctx, 0, r, 400, "bad_request",
		    "before and after are run ids.");
		return;
	}
	rc = pages_runs(&q->ctx, &rq, &r->body, &cause);
	portal_page_result(&q->ctx, r, rc, cause);
}

/* GET /runs/{id}: an id that does not parse is no run, not no page. */
static void
portal_page_run(struct portal_request *q)
{
	struct portal_reply *r = &q->reply;
	char		    *cause = NULL;
	int64_t		     id;
	int		     rc;

	if (portal_parse_id(q->path.segs[1], &id) != 0) {
		portal_fail(&q->ctx, 0, r, 404, "not_found", "No such run.");
		return;
	}
	rc = pages_run(&q->ctx, id,
	    portal_done_notice(portal_form_get(&q->query, "done")), NULL,
	    &r->body, &cause);
	portal_page_result(&q->ctx, r, rc, cause);
}

/* GET /apps/NAME[?done=freeze|unfreeze] */
static void
portal_page_app(struct portal_request *q)
{
	char *cause = NULL;
	int   rc;

	portal_stats_days(q);
	rc = pages_app(&q->ctx, q->path.segs[1],
	    portal_done_notice(portal_form_get(&q->query, "done")), NULL,
	    &q->reply.body, &cause);
	portal_page_result(&q->ctx, &q->reply, rc, cause);
}

/* GET /audit?before= */
static void
portal_page_audit(struct portal_request *q)
{
	struct portal_reply *r = &q->reply;
	const char	    *before;
	char		    *cause = NULL;
	int64_t		     id = 0;
	int		     rc;

	before = portal_form_get(&q->query, "before");
	if (before != NULL && *before != '\0' &&
	    portal_parse_id(before, &id) != 0) {
		portal_fail(&q->ctx, 0, r, 400, "bad_request",
		    "before is an audit entry id.");
		return;
	}
	rc = pages_audit(&q->ctx, id, &r->body, &cause);
	portal_page_result(&q->ctx, r, rc, cause);
}

/* GET /login: the form, or home for someone signed in already. */
static void
portal_page_login(struct portal_request *q)
{
	char *cause = NULL;
	int   rc;

	if (q->user != NULL) {
		portal_redirect(&q->reply, "/");
		return;
	}
	rc = pages_login(&q->ctx, NULL, &q->reply.body, &cause);
	portal_page_result(&q->ctx, &q->reply, rc, cause);
}

/* GET /logout: signing out is a POST; a link lands somewhere useful. */
static void
portal_page_logout(struct portal_request *q)
{
	portal_redirect(&q->reply, q->user != NULL ? "/" : "/login");
}

/* POST /logout; the provider's sign-out too for a person it signed in. */
static void
portal_logout(struct portal_request *q)
{
	struct portal_reply *r = &q->reply;
	const char	    *via;
	char		    *url = NULL;

	(void)portal_session_revoke(q->store, q->session, q->now);
	via = people_via(q->config->people, q->user);
	log_info("portal: signed out user=%s%s%s", q->user,
	    via != NULL ? " via=" : "", via != NULL ? via : "");
	free(r->set_cookie);
	r->set_cookie = portal_session_cookie(q->config, NULL, q->p->tls);
	if (via != NULL && strcmp(via, "oidc") == 0 &&
	    q->config->oidc.issuer != NULL)
		url = portal_oidc_logout_url(q->p->oidc, q->config);
	if (url == NULL) {
		portal_redirect(r, "/login");
		return;
	}
	/*
	 * The provider's sign-out is another origin, which the pages' CSP
	 * (form-action 'self') forbids a form's redirect to reach: a page
	 * of our own moves the browser on instead.
	 */
	r->status = 200;
	r->content_type = "text/html; charset=utf-8";
	buf_reset(&r->body);
	buf_appends(&r->body,
	    "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><title>Signed out</title>"
	    "<meta http-equiv=\"refresh\" content=\"0;url=");
	tmpl_escape(&r->body, url, strlen(url));
	buf_appends(&r->body, "\"></head><body><p>You are signed out of "
			      "shipgate. <a id=\"oidc-signout\" href=\"");
	tmpl_escape(&r->body, url, strlen(url));
	buf_appends(&r->body, "\">Sign out of your organisation's account "
			      "too</a>.</p></body></html>\n");
	free(url);
}

/* GET /auth/oidc/login: off to the identity provider. */
static void
portal_oidc_login_route(struct portal_request *q)
{
	char *url, *cause = NULL;

	if (q->config->oidc.issuer == NULL) {
		portal_fail(&q->ctx, 0, &q->reply, 404, "not_found",
		    "Sign-in with an identity provider is not configured.");
		return;
	}
	url = portal_oidc_begin(q->p->oidc, q->config,
	    portal_form_get(&q->query, "next"), q->now / 1000, &cause);
	if (url == NULL) {
		log_warnx("portal: oidc: cannot start a sign-in: %s", cause);
		free(cause);
		portal_fail(&q->ctx, 0, &q->reply, 502, "provider",
		    "The identity provider cannot be reached: try again "
		    "later.");
		return;
	}
	portal_redirect(&q->reply, url);
	free(url);
}

/* GET /auth/oidc/callback: back from the provider with a code. */
static void
portal_oidc_callback_route(struct portal_request *q)
{
	struct portal_reply	 *r = &q->reply;
	const struct config_user *u = NULL;
	char			 *next = NULL, *cause = NULL;
	char			 *logmsg = NULL, *addr, *id = NULL;
	char			 *pcause = NULL;
	int			  rc, status, persist = 0;

	if (q->config->oidc.issuer == NULL) {
		portal_fail(&q->ctx, 0, r, 404, "not_found",
		    "Sign-in with an identity provider is not configured.");
		return;
	}
	addr = portal_client_addr(q);
	rc = portal_oidc_finish(q->p->oidc, q->config,
	    portal_form_get(&q->query, "state"),
	    portal_form_get(&q->query, "code"),
	    portal_form_get(&q->query, "error"), q->now / 1000, &u, &persist,
	    &next, &cause, &logmsg);
	if (rc != 0) {
		log_notice("portal: oidc sign-in refused addr=%s: %s", addr,
		    logmsg != NULL ? logmsg : "");
		q->ctx.user = NULL;
		q->ctx.csrf = NULL;
		status = rc;
		rc = pages_login(&q->ctx, cause, &r->body, &pcause);
		portal_page_result(&q->ctx, r, rc, pcause);
		if (rc >= 0)
			r->status = status;
		goto out;
	}
	if (persist)
		portal_person_seen(q, u, "oidc");
	if (q->session != NULL)
		(void)portal_session_revoke(q->store, q->session, q->now);
	if (portal_session_new(q->store, q->config, u->name, addr, q->now, &id,
		&cause) != 0) {
		log_warnx("portal: cannot create a session: %s", cause);
		portal_fail(&q->ctx, 0, r, 503, "store",
		    "The database "
		    "failed; try again.");
		goto out;
	}
	log_info("portal: signed in user=%s via=oidc addr=%s", u->name, addr);
	free(r->set_cookie);
	r->set_cookie = portal_session_cookie(q->config, id, q->p->tls);
	portal_redirect(r, next);
out:
	freezero_str(id);
	free(next);
	free(cause);
	free(logmsg);
	free(addr);
}

/* POST /runs/{id}/VERB */
static void
portal_run_form(struct portal_request *q)
{
	portal_form_action(q, 0, q->id, q->path.segs[2]);
}

/* POST /releases/{id}/VERB */
static void
portal_release_form(struct portal_request *q)
{
	portal_form_action(q, 1, q->id, q->path.segs[2]);
}

static void
portal_static(struct portal_request *q)
{
	const struct web_asset *a;
	const char	       *inm;

	if ((a = web_asset_find(q->url)) == NULL) {
		portal_fail(&q->ctx, 0, &q->reply, 404, "not_found",
		    "No such file.");
		return;
	}
	q->reply.status = 200;
	q->reply.content_type = a->content_type;
	q->reply.cacheable = 1;
	if (a->etag != NULL &&
	    (inm = portal_header(q, "If-None-Match")) != NULL &&
	    strcmp(inm, a->etag) == 0) {
		q->reply.status = 304;
		return;
	}
	buf_append(&q->reply.body, a->data, a->size);
}

/* /healthz and /metrics: probes, answered before anyone is identified. */
static void
portal_healthz_route(struct portal_request *q)
{
	portal_healthz(&q->aq, &q->reply);
}

static void
portal_metrics_route(struct portal_request *q)
{
	portal_metrics(&q->aq, &q->reply);
}

/*
 * Every page, form and API path the portal answers, declared once.
 *
 * pattern: "/"-separated segments: a literal, "{id}" (a positive
 * integer, parsed into q->id; a path whose segment is not one matches
 * no route), "*" (any one segment: the handler reads q->path) or a last
 * "**" (the rest, none or more).  A request matches the first route
 * with its pattern and method; GET includes HEAD.
 *
 * needs: what portal_route checks before the handler runs.  A path no
 * route matches is checked as a route needing a session (and, for a
 * POST, its CSRF token) would be, then answered 404, so that what
 * exists is not told to someone not signed in.
 *	ROUTE_PUBLIC	answered before anyone is identified;
 *	ROUTE_SESSION	someone signed in: else the pages redirect to
 *			/login, the API answers 401;
 *	ROUTE_CSRF	a POST from a browser session proves its CSRF
 *			token (the form's "csrf" field, the API's
 *			X-CSRF-Token header) and its origin; a bearer
 *			token needs neither.
 * Whole families check more before any route: every POST to the pages
 * is same-origin and a well-formed form; every /api POST with a body
 * is JSON; every /api path starts with /api/v1.
 */
#define ROUTE_GET  0x01
#define ROUTE_POST 0x02

#define ROUTE_PUBLIC  0x01
#define ROUTE_SESSION 0x02
#define ROUTE_CSRF    0x04

struct portal_route {
	int	    methods;
	const char *pattern;
	void (*page)(struct portal_request *);
	void (*api)(const struct portal_req *, struct portal_reply *);
	int needs;
};

static const struct portal_route portal_routes[] = {
	{ ROUTE_GET, "/static/**", portal_static, NULL, ROUTE_PUBLIC },
	{ ROUTE_GET, "/healthz", portal_healthz_route, NULL, ROUTE_PUBLIC },
	{ ROUTE_GET, "/metrics", portal_metrics_route, NULL, ROUTE_PUBLIC },

	{ ROUTE_GET, "/login", portal_page_login, NULL, 0 },
	{ ROUTE_POST, "/login", portal_login, NULL, 0 },
	{ ROUTE_GET, "/logout", portal_page_logout, NULL, 0 },
	{ ROUTE_POST, "/logout", portal_logout, NULL,
	    ROUTE_SESSION | ROUTE_CSRF },
	{ ROUTE_GET, PORTAL_OIDC_LOGIN_PATH, portal_oidc_login_route, NULL, 0 },
	{ ROUTE_GET, PORTAL_OIDC_CALLBACK_PATH, portal_oidc_callback_route,
	    NULL, 0 },

	{ ROUTE_GET, "/", portal_page_dashboard, NULL, ROUTE_SESSION },
	{ ROUTE_GET, "/runs", portal_page_runs, NULL, ROUTE_SESSION },
	{ ROUTE_GET, "/runs/*", portal_page_run, NULL, ROUTE_SESSION },
	{ ROUTE_GET, "/apps/*", portal_page_app, NULL, ROUTE_SESSION },
	{ ROUTE_GET, "/audit", portal_page_audit, NULL, ROUTE_SESSION },
	{ ROUTE_POST, "/runs/{id}/*", portal_run_form, NULL,
	    ROUTE_SESSION | ROUTE_CSRF },
	{ ROUTE_POST, "/releases/{id}/*", portal_release_form, NULL,
	    ROUTE_SESSION | ROUTE_CSRF },
	{ ROUTE_POST, "/apps/*/stacks/*/*", portal_stack_form, NULL,
	    ROUTE_SESSION | ROUTE_CSRF },
	{ ROUTE_POST, "/apps/*/freezes", portal_freeze_form, NULL,
	    ROUTE_SESSION | ROUTE_CSRF },
	{ ROUTE_POST, "/apps/*/freezes/*/unfreeze", portal_freeze_form, NULL,
	    ROUTE_SESSION | ROUTE_CSRF },

	{ ROUTE_GET, "/api/v1/apps", NULL, portal_api_apps, ROUTE_SESSION },
	{ ROUTE_GET, "/api/v1/me", NULL, portal_api_me, ROUTE_SESSION },
	{ ROUTE_GET, "/api/v1/runs", NULL, portal_api_runs, ROUTE_SESSION },
	{ ROUTE_GET, "/api/v1/runs/{id}", NULL, portal_api_run, ROUTE_SESSION },
	{ ROUTE_POST, "/api/v1/runs/{id}/*", NULL, portal_api_run_action,
	    ROUTE_SESSION | ROUTE_CSRF },
	{ ROUTE_POST, "/api/v1/releases/{id}/redeploy", NULL,
	    portal_api_redeploy, ROUTE_SESSION | ROUTE_CSRF },
	{ ROUTE_GET, "/api/v1/stacks", NULL, portal_api_stacks, ROUTE_SESSION },
	{ ROUTE_GET, "/api/v1/apps/*/stats", NULL, portal_api_app_stats,
	    ROUTE_SESSION },
	{ ROUTE_GET, "/api/v1/apps/*/freezes", NULL, portal_api_app_freezes,
	    ROUTE_SESSION },
	{ ROUTE_POST, "/api/v1/apps/*/environments/*/*", NULL,
	    portal_api_stack_action, ROUTE_SESSION | ROUTE_CSRF },
};

/* Whether the path matches pattern (see above); sets *idp for {id}. */
static int
portal_route_match(const char *pattern, const struct portal_path *p,
    int64_t *idp)
{
	const char *seg, *s = pattern;
	size_t	    i = 0, len;

	if (*s == '/')
		s++;
	while (*s != '\0') {
		seg = s;
		len = strcspn(s, "/");
		s += len;
		if (*s == '/')
			s++;
		if (len == 2 && strncmp(seg, "**", 2) == 0)
			return (1);
		if (i >= p->n)
			return (0);
		if (len == 4 && strncmp(seg, "{id}", 4) == 0) {
			if (portal_parse_id(p->segs[i], idp) != 0)
				return (0);
		} else if (!(len == 1 && *seg == '*') &&
			   (strncmp(p->segs[i], seg, len) != 0 ||
			       p->segs[i][len] != '\0'))
			return (0);
		i++;
	}
	return (i == p->n);
}

static const struct portal_route *
portal_route_find(const struct portal_path *p, int method, int64_t *idp)
{
	const struct portal_route *rt;
	size_t			   i;

	for (i = 0; i < sizeof portal_routes / sizeof *portal_routes; i++) {
		rt = &portal_routes[i];
		if ((rt->methods & method) != 0 &&
		    portal_route_match(rt->pattern, p, idp))
			return (rt);
	}
	return (NULL);
}

static void
portal_route_run(struct portal_request *q, const struct portal_route *rt)
{
	if (rt->page != NULL)
		rt->page(q);
	else
		rt->api(&q->aq, &q->reply);
}

/* /api: the checks of the family, then of the route. */
static void
portal_route_api(struct portal_request *q, const struct portal_route *rt,
    int needs)
{
	struct portal_reply *r = &q->reply;
	struct portal_path  *p = &q->path;
	const char	    *ct, *token;
	int		     post;

	post = strcmp(q->method, "POST") == 0;
	if (p->n < 2 || strcmp(p->segs[0], "api") != 0 ||
	    strcmp(p->segs[1], "v1") != 0) {
		portal_api_error(r, 404, "not_found", "no such path");
		return;
	}
	if ((needs & ROUTE_SESSION) && q->user == NULL) {
		portal_api_error(r, 401, "unauthenticated",
		    q->by_token ?
			"unknown or revoked token" :
			"sign in or send Authorization: Bearer TOKEN");
		return;
	}
	if (post && (needs & ROUTE_CSRF) && !q->by_token) {
		/* A browser's session: CSRF header and origin. */
		token = portal_header(q, "X-CSRF-Token");
		if (!portal_same_origin(q) || q->session == NULL ||
		    !portal_csrf_check(q->session, token)) {
			portal_api_error(r, 403, "forbidden",
			    "Invalid or missing CSRF token.");
			return;
		}
	}
	if (post && q->body_len > 0 &&
	    ((ct = portal_header(q, "Content-Type")) == NULL ||
		strncasecmp(ct, "application/json", 16) != 0)) {
		portal_api_error(r, 400, "bad_request",
		    "the body must "
		    "be application/json");
		return;
	}
	if (rt == NULL) {
		portal_api_error(r, 404, "not_found",
		    "no such API path or "
		    "method");
		return;
	}
	portal_route_run(q, rt);
}

/* The pages and their forms: the checks of the family, then the route's. */
static void
portal_route_pages(struct portal_request *q, const struct portal_route *rt,
    int needs)
{
	struct portal_reply *r = &q->reply;
	const char	    *ct;
	int		     post;

	post = strcmp(q->method, "POST") == 0;
	if (post) {
		if (!portal_same_origin(q)) {
			portal_fail(&q->ctx, 0, r, 403, "forbidden",
			    "Cross-origin request refused.");
			return;
		}
		ct = portal_header(q, "Content-Type");
		if (q->body_len > 0 &&
		    (ct == NULL ||
			strncasecmp(ct, "application/x-www-form-urlencoded",
			    33) != 0)) {
			portal_fail(&q->ctx, 0, r, 415, "bad_request",
			    "Forms are sent as "
			    "application/x-www-form-urlencoded.");
			return;
		}
		if (portal_form_parse(q->body, q->body_len, 0, &q->form) != 0) {
			portal_fail(&q->ctx, 0, r, 400, "bad_request",
			    "Malformed form.");
			return;
		}
	}
	if ((needs & ROUTE_SESSION) && q->user == NULL) {
		portal_redirect(r, "/login");
		return;
	}
	if (post && (needs & ROUTE_CSRF) &&
	    !portal_csrf_check(q->session, portal_form_value(q, "csrf"))) {
		portal_fail(&q->ctx, 0, r, 403, "forbidden",
		    "Invalid or missing CSRF token.");
		return;
	}
	if (rt == NULL) {
		portal_fail(&q->ctx, 0, r, 404, "not_found", "No such page.");
		return;
	}
	portal_route_run(q, rt);
}

static void
portal_route(struct portal_request *q)
{
	const struct portal_route *rt;
	struct portal_reply	  *r = &q->reply;
	struct portal_path	  *p = &q->path;
	int			   method, needs;

	if (strcmp(q->method, "GET") == 0 || strcmp(q->method, "HEAD") == 0)
		method = ROUTE_GET;
	else if (strcmp(q->method, "POST") == 0)
		method = ROUTE_POST;
	else
		method = 0;
	q->api = p->n >= 1 && (strcmp(p->segs[0], "api") == 0 ||
				  strcmp(p->segs[0], "healthz") == 0 ||
				  strcmp(p->segs[0], "metrics") == 0);
	if (method == 0) {
		portal_fail(&q->ctx, q->api, r, 405, "bad_request",
		    "Method not allowed.");
		return;
	}
	rt = portal_route_find(p, method, &q->id);
	q->aq.portal = q->p;
	q->aq.config = q->config;
	q->aq.store = q->store;
	q->aq.method = q->method;
	q->aq.path = p;
	q->aq.query = &q->query;
	q->aq.body = q->body;
	q->aq.body_len = q->body_len;
	q->aq.now = q->now;
	q->aq.id = q->id;
	if (rt != NULL && (rt->needs & ROUTE_PUBLIC)) {
		portal_route_run(q, rt);
		return;
	}
	switch (portal_identify(q)) {
	case 0:
		break;
	case 1:
		portal_fail(&q->ctx, q->api, r, 400, "bad_request",
		    "The identity header is sent more than once.");
		return;
	case 2:
		portal_fail(&q->ctx, q->api, r, 401, "unauthenticated",
		    "The load balancer's identity token is missing or does "
		    "not verify.");
		return;
	default:
		portal_fail(&q->ctx, q->api, r, 503, "store",
		    "The database "
		    "failed; try again.");
		return;
	}
	q->ctx.user = q->user;
	q->aq.user = q->user;
	q->aq.csrf = q->ctx.csrf;

	/* A path no route answers needs what most do (see portal_routes). */
	if (rt != NULL)
		needs = rt->needs;
	else
		needs = ROUTE_SESSION | (method == ROUTE_POST ? ROUTE_CSRF : 0);
	if (q->api)
		portal_route_api(q, rt, needs);
	else
		portal_route_pages(q, rt, needs);
}

static enum MHD_Result
portal_request(struct portal *p, struct portal_conn *pc,
    struct MHD_Connection *conn, const char *url, const char *method)
{
	struct portal_request q;
	struct portal_args    args;
	enum MHD_Result	      ret;
	char		     *fault, *msg;

	memset(&q, 0, sizeof q);
	q.p = p;
	q.conn = conn;
	q.config = pc->cfg->config;
	q.method = method;
	q.url = url;
	q.now = wallclock_ms();
	q.body = pc->body.data != NULL ? pc->body.data : "";
	q.body_len = pc->body.len;
	q.ctx.config = q.config;
	q.ctx.now_ms = q.now;
	portal_reply_init(&q.reply);
	portal_peer(&q);

	memset(&args, 0, sizeof args);
	args.form = &q.query;
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, portal_query_cb,
	    &args);
	if (portal_path_parse(url, strlen(url), &q.path) != 0 ||
	    args.overflow) {
		portal_fail(&q.ctx, strncmp(url, "/api/", 5) == 0, &q.reply,
		    400, "bad_request", "Malformed request.");
		goto send;
	}
	if ((q.store = portal_store(p)) == NULL) {
		/* The storage fault says why (a full disk), if it is one. */
		fault = store_fault();
		msg = xasprintf("database: %s",
		    fault != NULL ? fault : "cannot open it");
		if (strcmp(url, "/healthz") == 0) { /* as portal_healthz */
			q.reply.status = 503;
			q.reply.content_type = "text/plain; charset=utf-8";
			buf_reset(&q.reply.body);
			buf_printf(&q.reply.body, "%s\n", msg);
		} else
			portal_fail(&q.ctx, 1, &q.reply, 503, "store", msg);
		free(msg);
		free(fault);
		goto send;
	}
	q.ctx.store = q.store;
	portal_route(&q);
send:
	log_debug(LOG_CAT_PORTAL, "portal: %s %s -> %d user=%s", method, url,
	    q.reply.status, q.user != NULL ? q.user : "-");
	ret = portal_send(p, conn, &q.reply);
	portal_reply_free(&q.reply);
	portal_path_free(&q.path);
	portal_form_free(&q.query);
	portal_form_free(&q.form);
	freezero_str(q.session);
	free(q.user);
	explicit_bzero(q.csrf, sizeof q.csrf);
	return (ret);
}

static enum MHD_Result
portal_access_cb(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct portal	   *p = cls;
	struct portal_conn *pc = *con_cls;
	struct portal_reply r;
	const char	   *cl;
	char		   *end;
	unsigned long long  n;
	enum MHD_Result	    ret;

	if (pc == NULL) {
		/* The head is in: from now on the body's rate counts. */
		portal_sock_moved(p, conn, PORTAL_SOCK_BODY, 0);
		pc = xcalloc(1, sizeof *pc);
		pc->cfg = portal_cfg_get(p);
		buf_init(&pc->body, pc->cfg->config->max_body_size);
		*con_cls = pc;
		/*
		 * Two lengths, or two hosts, are read differently by
		 * different servers (request smuggling, virtual host
		 * confusion behind a proxy): refused, never "first wins".
		 */
		if (portal_header_count(conn, "Content-Length") > 1 ||
		    portal_header_count(conn, "Host") > 1) {
			portal_reply_init(&r);
			r.status = 400;
			r.content_type = "text/plain; charset=utf-8";
			buf_appends(&r.body, "Duplicate Content-Length or "
					     "Host header.\n");
			ret = portal_send(p, conn, &r);
			portal_reply_free(&r);
			return (ret);
		}
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    "Content-Length");
		if (cl != NULL) {
			errno = 0;
			n = strtoull(cl, &end, 10);
			if (errno == 0 && *end == '\0' &&
			    n > pc->cfg->config->max_body_size) {
				/* Answered at once: the body is not read and
				 * the connection closes. */
				portal_reply_init(&r);
				r.status = 413;
				r.content_type = "text/plain; charset=utf-8";
				buf_printf(&r.body,
				    "Request body too large "
				    "(at most %llu bytes).\n",
				    (unsigned long long)
					pc->cfg->config->max_body_size);
				ret = portal_send(p, conn, &r);
				portal_reply_free(&r);
				return (ret);
			}
		}
		return (MHD_YES);
	}
	if (*upload_data_size > 0) {
		portal_sock_moved(p, conn, PORTAL_SOCK_BODY, *upload_data_size);
		if (buf_append(&pc->body, upload_data, *upload_data_size) !=
		    0) {
			log_notice("portal: request body too large, "
				   "connection closed url=%s",
			    url);
			return (MHD_NO);
		}
		*upload_data_size = 0;
		return (MHD_YES);
	}
	if (pc->started)
		return (MHD_YES);
	pc->started = 1;
	portal_sock_moved(p, conn, PORTAL_SOCK_REPLY, 0);
	return (portal_request(p, pc, conn, url, method));
}

static void
portal_completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct portal	   *p = cls;
	struct portal_conn *pc = *con_cls;

	/* Idle until the next request's head (keep-alive), which has
	 * request_timeout from now. */
	portal_sock_moved(p, conn, PORTAL_SOCK_HEAD, 0);
	if (pc == NULL)
		return;
	buf_free_secret(&pc->body); /* may hold a password */
	portal_cfg_put(p, pc->cfg);
	free(pc);
	*con_cls = NULL;
}

static void
portal_mhd_log_cb(void *cls, const char *fmt, va_list ap)
{
	char *msg;

	if (!log_debug_enabled(LOG_CAT_PORTAL))
		return;
	msg = xvasprintf(fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug(LOG_CAT_PORTAL, "portal: libmicrohttpd: %s", msg);
	free(msg);
}

/* --- Life cycle ----------------------------------------------------------- */

static char *
portal_read_file(const char *path, char **cause)
{
	struct buf b;
	char	   chunk[4096];
	ssize_t	   n;
	int	   fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*cause = xasprintf("cannot read %s: %s", path, strerror(errno));
		return (NULL);
	}
	buf_init(&b, PORTAL_TLS_FILE_MAX);
	while ((n = read(fd, chunk, sizeof chunk)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || buf_append(&b, chunk, (size_t)n) != 0) {
			*cause = xasprintf("cannot read %s: %s", path,
			    n < 0 ? strerror(errno) : "larger than 1 MiB");
			close(fd);
			buf_free_secret(&b);
			explicit_bzero(chunk, sizeof chunk);
			return (NULL);
		}
	}
	close(fd);
	explicit_bzero(chunk, sizeof chunk);
	if (b.len == 0) {
		*cause = xasprintf("%s is empty", path);
		buf_free(&b);
		return (NULL);
	}
	return (buf_take(&b, NULL));
}

/* host:port, [v6]:port or *:port into a socket address. */
static int
portal_listen_addr(const char *listen, struct sockaddr_storage *ss,
    socklen_t *lenp, char **cause)
{
	struct addrinfo hints, *res = NULL;
	const char     *colon, *port;
	char	       *host;
	int		rc;

	if ((colon = strrchr(listen, ':')) == NULL) {
		*cause = xasprintf("listen: %s is not host:port", listen);
		return (-1);
	}
	port = colon + 1;
	if (listen[0] == '[' && colon > listen && colon[-1] == ']')
		host = xstrndup(listen + 1, (size_t)(colon - listen - 2));
	else
		host = xstrndup(listen, (size_t)(colon - listen));
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(*host == '\0' || strcmp(host, "*") == 0 ? NULL : host,
	    port, &hints, &res);
	free(host);
	if (rc != 0 || res == NULL) {
		*cause = xasprintf("listen: %s: %s", listen, gai_strerror(rc));
		return (-1);
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*lenp = res->ai_addrlen;
	freeaddrinfo(res);
	return (0);
}

struct portal *
portal_new(const struct portal_deps *deps, const struct config *config,
    char **cause)
{
	struct portal		   *p;
	struct sockaddr_storage	    ss;
	socklen_t		    sslen;
	const union MHD_DaemonInfo *info;
	pthread_condattr_t	    cattr;
	unsigned int		    flags;

	*cause = NULL;
	p = xcalloc(1, sizeof *p);
	p->deps = *deps;
	pthread_mutex_init(&p->lock, NULL);
	pthread_key_create(&p->store_key, NULL);
	p->cfg = xcalloc(1, sizeof *p->cfg);
	p->cfg->config = config;
	p->db_path = xstrdup(config->database);
	p->ratelimit = portal_ratelimit_new(0);
	pthread_mutex_init(&p->watch_lock, NULL);
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&p->watch_cond, &cattr);
	pthread_mutex_init(&p->stats_lock, NULL);
	pthread_cond_init(&p->stats_cond, &cattr);
	pthread_condattr_destroy(&cattr);
	TAILQ_INIT(&p->socks);
	p->max_connections = portal_connection_cap(config);
	p->request_timeout_ms = config->request_timeout_ms;
	p->body_min_rate = config->body_min_rate;

	if (portal_listen_addr(config->listen, &ss, &sslen, cause) != 0)
		goto fail;
	if (config->tls_certificate != NULL && config->tls_key != NULL) {
		if ((p->tls_cert = portal_read_file(config->tls_certificate,
			 cause)) == NULL ||
		    (p->tls_key = portal_read_file(config->tls_key, cause)) ==
			NULL)
			goto fail;
		p->tls = 1;
	}
	if ((p->bridge = portal_bridge_new(deps->loop, cause)) == NULL)
		goto fail;
	p->oidc = portal_oidc_new(p->bridge,
	    deps->aws != NULL ? aws_context_http(deps->aws) : NULL);

	flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (p->tls)
		flags |= MHD_USE_TLS;
	p->mhd = MHD_start_daemon(flags, 0, NULL, NULL, portal_access_cb, p,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)PORTAL_THREADS,
	    MHD_OPTION_CONNECTION_LIMIT,
	    p->max_connections +
		(unsigned int)(PORTAL_THREADS * PORTAL_CONNECTIONS_SLACK),
	    MHD_OPTION_NOTIFY_CONNECTION, portal_notify_cb, p,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (unsigned int)config->connections_per_address,
	    MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)PORTAL_CONNECTION_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)PORTAL_CONNECTION_MEMORY, MHD_OPTION_STRICT_FOR_CLIENT,
	    (int)1, MHD_OPTION_NOTIFY_COMPLETED, portal_completed_cb, p,
	    MHD_OPTION_EXTERNAL_LOGGER, portal_mhd_log_cb, p,
	    /* Without TLS the list ends here. */
	    p->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, p->tls_cert,
	    MHD_OPTION_HTTPS_MEM_KEY, p->tls_key, MHD_OPTION_END);
	if (p->mhd == NULL) {
		*cause = xasprintf("cannot serve on %s%s: %s", config->listen,
		    p->tls ? " with TLS" : "",
		    errno != 0 ? strerror(errno) : "libmicrohttpd refused");
		goto fail;
	}
	if ((info = MHD_get_daemon_info(p->mhd, MHD_DAEMON_INFO_BIND_PORT)) !=
	    NULL)
		p->port = info->port;
	if ((errno = pthread_create(&p->watch_thread, NULL, portal_watch_main,
		 p)) != 0) {
		*cause = xasprintf("cannot start the portal's connection "
				   "watch: %s",
		    strerror(errno));
		MHD_stop_daemon(p->mhd);
		goto fail;
	}
	p->watch_started = 1;
	if ((errno = pthread_create(&p->stats_thread, NULL, portal_stats_main,
		 p)) != 0)
		/* Not fatal: requests compute the measures themselves. */
		log_warn("portal: cannot start the stats thread");
	else
		p->stats_started = 1;
	log_info("portal listening listen=%s port=%u tls=%s threads=%d "
		 "max_connections=%u request_timeout=%lldms",
	    config->listen, p->port, p->tls ? "yes" : "no", PORTAL_THREADS,
	    p->max_connections, (long long)p->request_timeout_ms);
	return (p);
fail:
	if (p->bridge != NULL)
		portal_bridge_close(p->bridge);
	p->bridge = NULL;
	p->mhd = NULL;
	portal_stop(p);
	return (NULL);
}

void
portal_stop(struct portal *p)
{
	struct portal_cfgref *ref;
	size_t		      i;

	if (p == NULL)
		return;
	/* Requests waiting for the loop fail at once, so MHD's threads can
	 * finish and be joined here, on the loop. */
	if (p->bridge != NULL)
		portal_bridge_shutdown(p->bridge);
	portal_oidc_shutdown(p->oidc);
	if (p->watch_started) {
		pthread_mutex_lock(&p->watch_lock);
		p->watch_stop = 1;
		pthread_cond_signal(&p->watch_cond);
		pthread_mutex_unlock(&p->watch_lock);
		pthread_join(p->watch_thread, NULL);
	}
	if (p->stats_started) {
		pthread_mutex_lock(&p->stats_lock);
		p->stats_stop = 1;
		pthread_cond_signal(&p->stats_cond);
		pthread_mutex_unlock(&p->stats_lock);
		pthread_join(p->stats_thread, NULL);
	}
	if (p->mhd != NULL)
		MHD_stop_daemon(p->mhd);
	if (p->bridge != NULL)
		portal_bridge_close(p->bridge);
	for (i = 0; i < p->nstores; i++)
		store_close(p->stores[i]);
	free(p->stores);
	pthread_key_delete(p->store_key);
	while ((ref = p->retired) != NULL) {
		p->retired = ref->next;
		config_free(ref->owned);
		free(ref);
	}
	free(p->cfg);
	portal_ratelimit_free(p->ratelimit);
	portal_oidc_free(p->oidc);
	freezero_str(p->tls_key);
	free(p->tls_cert);
	free(p->db_path);
	pthread_cond_destroy(&p->watch_cond);
	pthread_mutex_destroy(&p->watch_lock);
	pthread_cond_destroy(&p->stats_cond);
	pthread_mutex_destroy(&p->stats_lock);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
