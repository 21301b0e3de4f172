/*
 * shipgatectl: the operator's command line.  Commands that act on runs
 * talk to the running daemon through its control socket; check-config
 * and passwd work alone.
 */
#include <sys/random.h>

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <argon2.h>
#include <jansson.h>

#include "config.h"
#include "ctl-client.h"
#include "doctor.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

/* argon2id cost: the OWASP-recommended class, ~0.1 s on a small VM. */
#define PASSWD_T_COST	3
#define PASSWD_M_COST	65536
#define PASSWD_LANES	4
#define PASSWD_SALT_LEN 16
#define PASSWD_HASH_LEN 32
#define PASSWD_MAX	1024

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: shipgatectl [-c CONFIG] [--json] COMMAND ...\n"
	    "commands:\n"
	    "  runs [--app APP] [--status STATUS] [--limit N]\n"
	    "                        list runs, newest first\n"
	    "  show RUN [--follow]   stages, changes, approvals, checks, "
	    "audit;\n"
	    "                        --follow: its progress as it happens,\n"
	    "                        exit 0 when it succeeded, 1 otherwise\n"
	    "  approve RUN --env ENV [--as USER] [-m COMMENT]\n"
	    "  reject RUN --env ENV [--as USER] -m COMMENT\n"
	    "  authorise RUN [--as USER] [-m COMMENT]\n"
	    "                        the promotion gate\n"
	    "  cancel RUN [--as USER] [-m REASON]\n"
	    "  retry RUN --env ENV [--as USER]\n"
	    "                        a failed stage\n"
	    "  redeploy RELEASE --env ENV [--as USER]\n"
	    "                        an earlier release, as a rollback run\n"
	    "  override RUN --env ENV [--as USER] -m COMMENT\n"
	    "  ack-drift RUN --env ENV [--as USER] -m COMMENT\n"
	    "                        start a stage awaiting its deploy window\n"
	    "                        now (operators)\n"
	    "  freeze APP ENV --until WHEN [--as USER] -m REASON\n"
	    "                        no execution starts in ENV until WHEN\n"
	    "                        (2026-12-24T18:00+01:00, ...Z, or a\n"
	    "                        duration: 3d, 12h; operators)\n"
	    "  unfreeze APP ENV [--id FREEZE] [--as USER] -m COMMENT\n"
	    "                        lift ENV's run-time freezes, or one "
	    "(operators)\n"
	    "  freezes APP [ENV]     the freezes in force or to come "
	    "(shipgate.yaml's, run-time)\n"
	    "  stacks [APP]          environments held by a stuck stack\n"
	    "  continue-rollback APP ENV [--skip RESOURCE]... [--as USER] "
	    "-m COMMENT\n"
	    "                        ContinueUpdateRollback on a stack in\n"
	    "                        UPDATE_ROLLBACK_FAILED (operators)\n"
	    "  delete-failed-stack APP ENV [--as USER] -m COMMENT\n"
	    "                        delete a stack whose first deployment\n"
	    "                        rolled back (operators)\n"
	    "  check-config [FILE]   check a configuration, print every "
	    "error\n"
	    "  doctor                pre-flight of credentials, roles, "
	    "buckets, queues,\n"
	    "                        stacks and registries\n"
	    "  passwd                read a password, print an argon2id "
	    "hash\n"
	    "  token create USER [--label LABEL]\n"
	    "                        an API token for USER (printed once)\n"
	    "  token list            the API tokens (never their secret)\n"
	    "  token revoke ID       revoke an API token\n"
	    "  sessions list [--user USER]\n"
	    "                        the portal's live sessions\n"
	    "  sessions revoke ID | --user USER\n"
	    "                        end a session, or every session of USER\n"
	    "  people list           the people the identity provider signed in\n"
	    "  people forget NAME    forget one, ending their sessions\n"
	    "  version               print the version\n");
}

/*
 * The configuration at path, or NULL with every error printed.
 */
static struct config *
ctl_config(const char *path)
{
	struct config_errors errors = { 0 };
	struct config	    *config;
	size_t		     i;

	if ((config = config_load(path, &errors)) == NULL) {
		for (i = 0; i < errors.n; i++)
			fprintf(stderr, "%s\n", errors.lines[i]);
		config_errors_free(&errors);
	}
	return (config);
}

/*
 * Sends req to the daemon and takes its reply (*replyp and its line
 * *linep, the caller's to free, set even when the daemon refused).  With
 * json, the line is printed whatever the answer.  Returns 0 when the
 * daemon did it, -1 with the reason printed.
 */
static int
ctl_exchange(const struct config *config, json_t *req, int json,
    json_t **replyp, char **linep)
{
	char *cause = NULL;
	int   rc = -1;

	if (ctl_request(config->control_socket, req, replyp, linep, &cause) !=
	    0) {
		fprintf(stderr, "shipgatectl: %s\n", cause);
		goto out;
	}
	if (json) {
		printf("%s\n", *linep);
		fflush(stdout);
	}
	if (!json_is_true(json_object_get(*replyp, "ok"))) {
		cause = ctl_reply_error(*replyp);
		fprintf(stderr, "shipgatectl: %s\n", cause);
		goto out;
	}
	rc = 0;
out:
	free(cause);
	return (rc);
}

/*
 * For the commands that build their one request themselves: a NULL req
 * is arguments that are not UTF-8, else ctl_config and ctl_exchange.
 * Returns 0 when the daemon did it, 2 for the arguments, 1 with the
 * reason printed; *configp, *replyp and *linep are the caller's to free.
 */
static int
ctl_send(const char *config_path, json_t *req, int json,
    struct config **configp, json_t **replyp, char **linep)
{
	if (req == NULL) {
		fprintf(stderr, "shipgatectl: arguments must be UTF-8\n");
		return (2);
	}
	if ((*configp = ctl_config(config_path)) == NULL ||
	    ctl_exchange(*configp, req, json, replyp, linep) != 0)
		return (1);
	return (0);
}

/* Whether a comment (-m) is missing or says nothing. */
static int
ctl_blank(const char *message)
{
	return (
	    message == NULL || strspn(message, " \t\r\n") == strlen(message));
}

/*
 * An operator's action on the environment appenv[1] of app appenv[0]:
 * {command, app, env, comment[, as]}, or NULL when an argument is not
 * UTF-8.
 */
static json_t *
ctl_env_request(const char *command, char **appenv, const char *message,
    const char *as)
{
	json_t *req;

	req = json_pack("{s:s, s:s, s:s, s:s}", "command", command, "app",
	    appenv[0], "env", appenv[1], "comment", message);
	/* An --as that is not UTF-8 refuses the request: dropping it would
	   act as the caller instead of the person named. */
	if (req != NULL && as != NULL &&
	    json_object_set_new(req, "as", json_string(as)) != 0) {
		json_decref(req);
		req = NULL;
	}
	return (req);
}

/* Member k of a listed object o, or "-" when it has none. */
static const char *
ctl_dash(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return (json_is_string(v) ? json_string_value(v) : "-");
}

static int
cmd_check_config(const char *path)
{
	struct config_errors errors = { 0 };
	struct config	    *config;
	size_t		     i;

	if ((config = config_load(path, &errors)) == NULL) {
		for (i = 0; i < errors.n; i++)
			fprintf(stderr, "%s\n", errors.lines[i]);
		fprintf(stderr, "shipgatectl: %zu error%s in %s\n", errors.n,
		    errors.n == 1 ? "" : "s", path);
		config_errors_free(&errors);
		return (1);
	}
	printf("%s: configuration OK (%zu app%s, %zu user%s)\n", path,
	    config->napps, config->napps == 1 ? "" : "s", config->nusers,
	    config->nusers == 1 ? "" : "s");
	config_free(config);
	return (0);
}

/*
 * Reads one line without echo when stdin is a terminal.  Returns the
 * length, or -1.
 */
static int
read_secret(const char *prompt, char *out, size_t size)
{
	struct termios old, quiet;
	int	       tty = isatty(STDIN_FILENO), rc = -1;
	size_t	       len;

	if (tty) {
		fprintf(stderr, "%s", prompt);
		if (tcgetattr(STDIN_FILENO, &old) == -1)
			return (-1);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == -1)
			return (-1);
	}
	if (fgets(out, (int)size, stdin) != NULL) {
		len = strcspn(out, "\r\n");
		if (out[len] == '\0' && len == size - 1)
			fprintf(stderr,
			    "shipgatectl: password too long "
			    "(at most %zu bytes)\n",
			    size - 2);
		else {
			out[len] = '\0';
			rc = (int)len;
		}
	}
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	return (rc);
}

static int
cmd_passwd(void)
{
	char	      pass[PASSWD_MAX], again[PASSWD_MAX];
	unsigned char salt[PASSWD_SALT_LEN];
	char	     *encoded = NULL;
	size_t	      enclen;
	int	      len, rc, status = 1;

	if ((len = read_secret("Password: ", pass, sizeof pass)) < 0)
		goto out;
	if (len == 0) {
		fprintf(stderr, "shipgatectl: empty password refused\n");
		goto out;
	}
	if (isatty(STDIN_FILENO)) {
		if (read_secret("Again: ", again, sizeof again) < 0)
			goto out;
		if (strcmp(pass, again) != 0) {
			fprintf(stderr, "shipgatectl: the passwords differ\n");
			goto out;
		}
	}
	if (getrandom(salt, sizeof salt, 0) != (ssize_t)sizeof salt) {
		fprintf(stderr, "shipgatectl: getrandom: %s\n",
		    strerror(errno));
		goto out;
	}
	enclen = argon2_encodedlen(PASSWD_T_COST, PASSWD_M_COST, PASSWD_LANES,
	    PASSWD_SALT_LEN, PASSWD_HASH_LEN, Argon2_id);
	encoded = xmalloc(enclen);
	rc = argon2id_hash_encoded(PASSWD_T_COST, PASSWD_M_COST, PASSWD_LANES,
	    pass, (size_t)len, salt, sizeof salt, PASSWD_HASH_LEN, encoded,
	    enclen);
	if (rc != ARGON2_OK) {
		fprintf(stderr, "shipgatectl: argon2: %s\n",
		    argon2_error_message(rc));
		goto out;
	}
	printf("%s\n", encoded);
	status = 0;
out:
	explicit_bzero(pass, sizeof pass);
	explicit_bzero(again, sizeof again);
	free(encoded);
	return (status);
}

/* --- Commands through the daemon's control socket ------------------------ */

#define OPT_APP	    (1 << 0)
#define OPT_STATUS  (1 << 1)
#define OPT_LIMIT   (1 << 2)
#define OPT_ENV	    (1 << 3)
#define OPT_AS	    (1 << 4)
#define OPT_MESSAGE (1 << 5)
#define OPT_FOLLOW  (1 << 6)

enum ctl_target {
	CTL_NONE,
	CTL_RUN,
	CTL_RELEASE,
};

/* What each command takes: its operand, the options allowed and those
 * required. */
static const struct ctl_command {
	const char     *name;
	const char     *usage;
	enum ctl_target target;
	int		allowed;
	int		required;
} ctl_commands[] = {
	{ "runs", "runs [--app APP] [--status STATUS] [--limit N]", CTL_NONE,
	    OPT_APP | OPT_STATUS | OPT_LIMIT, 0 },
	{ "show", "show RUN [--follow]", CTL_RUN, OPT_FOLLOW, 0 },
	{ "approve", "approve RUN --env ENV [--as USER] [-m COMMENT]", CTL_RUN,
	    OPT_ENV | OPT_AS | OPT_MESSAGE, OPT_ENV },
	{ "reject", "reject RUN --env ENV [--as USER] -m COMMENT", CTL_RUN,
	    OPT_ENV | OPT_AS | OPT_MESSAGE, OPT_ENV | OPT_MESSAGE },
	{ "authorise", "authorise RUN [--as USER] [-m COMMENT]", CTL_RUN,
	    OPT_AS | OPT_MESSAGE, 0 },
	{ "cancel", "cancel RUN [--as USER] [-m REASON]", CTL_RUN,
	    OPT_AS | OPT_MESSAGE, 0 },
	{ "retry", "retry RUN --env ENV [--as USER]", CTL_RUN, OPT_ENV | OPT_AS,
	    OPT_ENV },
	{ "redeploy", "redeploy RELEASE --env ENV [--as USER]", CTL_RELEASE,
	    OPT_ENV | OPT_AS, OPT_ENV },
	{ "override", "override RUN --env ENV [--as USER] -m COMMENT", CTL_RUN,
	    OPT_ENV | OPT_AS | OPT_MESSAGE, OPT_ENV | OPT_MESSAGE },
	{ "ack-drift", "ack-drift RUN --env ENV [--as USER] -m COMMENT",
	    CTL_RUN, OPT_ENV | OPT_AS | OPT_MESSAGE, OPT_ENV | OPT_MESSAGE },
};

static const char *const ctl_option_names[] = {
	"--app",
	"--status",
	"--limit",
	"--env",
	"--as",
	"-m",
	"--follow",
};

/* shipgatectl show --follow: how often it asks, and how long it goes on
 * asking a daemon it cannot reach (a restart) before it gives up. */
#define CTL_FOLLOW_INTERVAL_MS	 1000
#define CTL_FOLLOW_UNREACHABLE_S 120

/*
 * Asks for the run every interval and prints what changed (with json,
 * every reply that changed, one line each) until the run ends: exit 0
 * when it succeeded, 1 otherwise or when the daemon refuses or stays
 * out of reach.
 */
static int
ctl_follow(const struct config *config, json_t *req, int json)
{
	struct timespec ts;
	json_t	       *prev = NULL, *reply = NULL;
	char	       *line = NULL, *prevline = NULL, *cause = NULL, *e;
	const char     *iv;
	long		interval = CTL_FOLLOW_INTERVAL_MS;
	time_t		lost = 0;
	int		rc = -1;

	/* Tests follow faster; not documented as a knob. */
	if ((iv = getenv("SHIPGATECTL_FOLLOW_INTERVAL_MS")) != NULL &&
	    (interval = strtol(iv, NULL, 10)) < 10)
		interval = 10;
	while (rc < 0) {
		if (ctl_request(config->control_socket, req, &reply, &line,
			&cause) != 0) {
			if (lost == 0) {
				fprintf(stderr,
				    "shipgatectl: %s (trying "
				    "again)\n",
				    cause);
				lost = time(NULL);
			} else if (time(NULL) - lost >
				   CTL_FOLLOW_UNREACHABLE_S) {
				fprintf(stderr, "shipgatectl: %s\n", cause);
				rc = 1;
			}
			free(cause);
			cause = NULL;
		} else if (!json_is_true(json_object_get(reply, "ok"))) {
			e = ctl_reply_error(reply);
			fprintf(stderr, "shipgatectl: %s\n", e);
			free(e);
			rc = 1;
		} else {
			lost = 0;
			if (json &&
			    (prevline == NULL || strcmp(prevline, line) != 0)) {
				printf("%s\n", line);
				fflush(stdout);
			}
			/* With json, only the run's outcome. */
			rc = ctl_follow_print(json ? NULL : stdout, prev,
			    reply);
			json_decref(prev);
			prev = reply;
			reply = NULL;
			free(prevline);
			prevline = line;
			line = NULL;
		}
		json_decref(reply);
		reply = NULL;
		free(line);
		line = NULL;
		if (rc < 0) {
			ts.tv_sec = interval / 1000;
			ts.tv_nsec = (interval % 1000) * 1000000;
			nanosleep(&ts, NULL);
		}
	}
	json_decref(prev);
	free(prevline);
	return (rc);
}

static int
ctl_parse_id(const char *s, int64_t *idp)
{
	char	 *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v <= 0)
		return (-1);
	*idp = v;
	return (0);
}

/* A usage error in a command's arguments: say what and how (exit 2). */
static int ctl_usage_error(const struct ctl_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
ctl_usage_error(const struct ctl_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "shipgatectl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: shipgatectl [-c CONFIG] [--json] %s\n",
	    cmd->usage);
	return (2);
}

/* The daemon's reply for a person. */
static void
ctl_print_done(const struct ctl_command *cmd, json_t *req, json_t *reply)
{
	long long   id;
	const char *env, *as;

	id = (long long)json_integer_value(json_object_get(req,
	    cmd->target == CTL_RELEASE ? "release" : "run"));
	env = json_string_value(json_object_get(req, "env"));
	/* The user acted as, which the daemon names when --as is not given
	 * (the caller's own). */
	if ((as = json_string_value(json_object_get(reply, "as"))) == NULL &&
	    (as = json_string_value(json_object_get(req, "as"))) == NULL)
		as = "you";
	if (strcmp(cmd->name, "runs") == 0)
		ctl_print_runs(stdout, reply);
	else if (strcmp(cmd->name, "show") == 0)
		ctl_print_run(stdout, reply);
	else if (strcmp(cmd->name, "approve") == 0)
		printf("run %lld: %s approved by %s\n", id, env, as);
	else if (strcmp(cmd->name, "reject") == 0)
		printf("run %lld: %s rejected by %s\n", id, env, as);
	else if (strcmp(cmd->name, "authorise") == 0)
		printf("run %lld: promotion authorised by %s\n", id, as);
	else if (strcmp(cmd->name, "cancel") == 0)
		printf("run %lld: cancelled by %s\n", id, as);
	else if (strcmp(cmd->name, "retry") == 0)
		printf("run %lld: %s retried by %s\n", id, env, as);
	else if (strcmp(cmd->name, "ack-drift") == 0)
		printf("run %lld: drift of %s acknowledged by %s; it may be "
		       "approved\n",
		    id, env, as);
	else if (strcmp(cmd->name, "override") == 0)
		printf("run %lld: deploy windows of %s overridden by %s; it "
		       "starts executing now\n",
		    id, env, as);
	else if (strcmp(cmd->name, "redeploy") == 0) {
		printf("release %lld: redeploying to %s as run %lld "
		       "(requested by %s)\n",
		    id, env,
		    (long long)json_integer_value(
			json_object_get(reply, "run")),
		    as);
	}
}

/*
 * runs, show and the actions: parse the command's arguments (usage
 * errors exit 2), send the request, print the reply (exit 0) or the
 * refusal (exit 1).
 */
static int
cmd_control(const char *config_path, int json, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "app", required_argument, NULL, 'a' },
		{ "status", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' },
		{ "env", required_argument, NULL, 'e' },
		{ "as", required_argument, NULL, 'u' },
		{ "message", required_argument, NULL, 'm' },
		{ "comment", required_argument, NULL, 'm' },
		{ "reason", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "follow", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_command *cmd = NULL;
	struct config		 *config = NULL;
	json_t			 *req = NULL, *reply = NULL;
	const char		 *app = NULL, *status = NULL;
	const char		 *env = NULL, *as = NULL;
	const char		 *message = NULL;
	char			 *line = NULL, *cause = NULL, *end;
	int64_t			  id = 0;
	long			  limit = 0;
	int			  ch, seen = 0, bit, rc = 1;
	size_t			  i;

	for (i = 0; i < sizeof ctl_commands / sizeof *ctl_commands; i++) {
		if (strcmp(ctl_commands[i].name, argv[0]) == 0)
			cmd = &ctl_commands[i];
	}
	optind = 0; /* GNU: start the scan afresh on the command's argv */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "m:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			bit = OPT_APP;
			app = optarg;
			break;
		case 's':
			bit = OPT_STATUS;
			status = optarg;
			break;
		case 'l':
			bit = OPT_LIMIT;
			limit = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || limit < 1 ||
			    limit > 1000) {
				return (ctl_usage_error(cmd,
				    "--limit: a "
				    "number from 1 to 1000, not %s",
				    optarg));
			}
			break;
		case 'e':
			bit = OPT_ENV;
			env = optarg;
			break;
		case 'u':
			bit = OPT_AS;
			as = optarg;
			break;
		case 'm':
			bit = OPT_MESSAGE;
			message = optarg;
			break;
		case 'j':
			json = 1; /* also after the command */
			continue;
		case 'f':
			bit = OPT_FOLLOW;
			break;
		default:
			return (ctl_usage_error(cmd,
			    "%s: unknown option or "
			    "missing value",
			    argv[optind - 1]));
		}
		if ((cmd->allowed & bit) == 0) {
			return (ctl_usage_error(cmd, "%s takes no %s",
			    cmd->name, argv[optind - 1]));
		}
		seen |= bit;
	}
	for (i = 0; i < sizeof ctl_option_names / sizeof *ctl_option_names;
	     i++) {
		if ((cmd->required & (1 << i)) && (seen & (1 << i)) == 0) {
			return (ctl_usage_error(cmd, "%s needs %s", cmd->name,
			    ctl_option_names[i]));
		}
	}
	if (cmd->target == CTL_NONE && optind != argc)
		return (ctl_usage_error(cmd, "unexpected argument: %s",
		    argv[optind]));
	if (cmd->target != CTL_NONE) {
		if (optind + 1 != argc) {
			return (ctl_usage_error(cmd, "%s needs one %s id",
			    cmd->name,
			    cmd->target == CTL_RUN ? "run" : "release"));
		}
		if (ctl_parse_id(argv[optind], &id) != 0)
			return (ctl_usage_error(cmd, "not an id: %s",
			    argv[optind]));
	}
	if ((seen & OPT_MESSAGE) &&
	    (strcmp(cmd->name, "reject") == 0 ||
		strcmp(cmd->name, "override") == 0 ||
		strcmp(cmd->name, "ack-drift") == 0) &&
	    strspn(message, " \t\r\n") == strlen(message))
		return (
		    ctl_usage_error(cmd, "%s needs a comment (-m)", cmd->name));
	if (status != NULL && store_run_status_from_name(status) == 0)
		return (ctl_usage_error(cmd, "unknown run status: %s", status));

	/* The socket's command names are spelt with '_'. */
	req = json_pack("{s:s}", "command",
	    strcmp(cmd->name, "ack-drift") == 0 ? "ack_drift" : cmd->name);
	if (cmd->target == CTL_RUN)
		json_object_set_new(req, "run", json_integer(id));
	else if (cmd->target == CTL_RELEASE)
		json_object_set_new(req, "release", json_integer(id));
	if (app != NULL)
		json_object_set_new(req, "app", json_string(app));
	if (status != NULL)
		json_object_set_new(req, "status", json_string(status));
	if (limit != 0)
		json_object_set_new(req, "limit", json_integer(limit));
	if (env != NULL)
		json_object_set_new(req, "env", json_string(env));
	if (as != NULL)
		json_object_set_new(req, "as", json_string(as));
	if (message != NULL)
		json_object_set_new(req, "comment", json_string(message));
	if (json_object_size(req) == 0 ||
	    (env != NULL && json_object_get(req, "env") == NULL) ||
	    (as != NULL && json_object_get(req, "as") == NULL) ||
	    (message != NULL && json_object_get(req, "comment") == NULL)) {
		json_decref(req);
		return (ctl_usage_error(cmd, "arguments must be UTF-8"));
	}

	if (seen & OPT_FOLLOW) {
		if ((config = ctl_config(config_path)) != NULL)
			rc = ctl_follow(config, req, json);
		goto out;
	}
	if ((config = ctl_config(config_path)) == NULL ||
	    ctl_exchange(config, req, json, &reply, &line) != 0)
		goto out;
	if (!json)
		ctl_print_done(cmd, req, reply);
	rc = 0;
out:
	json_decref(req);
	json_decref(reply);
	config_free(config);
	free(line);
	free(cause);
	return (rc);
}

/* One environment held by its stuck stack, for a person. */
static void
ctl_print_stuck(FILE *f, json_t *h)
{
	const char *action;

	fprintf(f, "%s %s: stack %s is %s since %s (run %lld)\n  %s\n",
	    json_string_value(json_object_get(h, "app")),
	    json_string_value(json_object_get(h, "env")),
	    json_string_value(json_object_get(h, "stack")),
	    json_string_value(json_object_get(h, "status")),
	    json_string_value(json_object_get(h, "since")),
	    (long long)json_integer_value(json_object_get(h, "run")),
	    json_string_value(json_object_get(h, "reason")));
	if ((action = json_string_value(json_object_get(h, "action"))) != NULL)
		fprintf(f, "  %s by %s under way since %s: %s\n", action,
		    json_string_value(json_object_get(h, "action_by")),
		    json_string_value(json_object_get(h, "action_at")),
		    json_string_value(json_object_get(h, "action_comment")));
	else
		fprintf(f,
		    "  an operator runs: shipgatectl %s %s %s -m "
		    "COMMENT\n",
		    strcmp(json_string_value(json_object_get(h, "status")),
			"UPDATE_ROLLBACK_FAILED") != 0 ?
			"delete-failed-stack" :
			"continue-rollback",
		    json_string_value(json_object_get(h, "app")),
		    json_string_value(json_object_get(h, "env")));
}

/*
 * WHEN of freeze --until: an RFC 3339 time with its offset
 * (2026-12-24T18:00+01:00, 2026-12-24T17:00:00Z) or a duration from now
 * (3d, 12h).  A time without an offset is refused: whose 18:00?
 */
static int
ctl_parse_until(const char *s, int64_t *ms)
{
	struct tm	tm;
	struct timespec ts;
	const char     *p;
	int64_t		d, t;
	int		n = 0, sec = 0, oh, om, sign;

	if ((d = config_parse_duration(s)) > 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		*ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + d;
		return (0);
	}
	memset(&tm, 0, sizeof tm);
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
		&tm.tm_mday, &tm.tm_hour, &tm.tm_min, &n) != 5 ||
	    n != 16)
		return (-1);
	p = s + n;
	if (*p == ':') {
		if (sscanf(p, ":%2d%n", &sec, &n) != 1 || n != 3 || sec > 59)
			return (-1);
		p += n;
	}
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59)
		return (-1);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm);
	if (strcmp(p, "Z") == 0)
		sign = oh = om = 0;
	else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':' &&
		 sscanf(p + 1, "%2d:%2d", &oh, &om) == 2 && oh <= 23 &&
		 om <= 59)
		sign = *p == '-' ? -1 : 1;
	else
		return (-1);
	*ms = (t - sign * (oh * 3600 + om * 60)) * 1000;
	return (0);
}

static void
ctl_freeze_time(json_t *o, const char *key, char *buf, size_t len)
{
	time_t	  t;
	struct tm tm;

	t = (time_t)(json_integer_value(json_object_get(o, key)) / 1000);
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%MZ", &tm);
}

/* One line per freeze: shipgate.yaml's say so (only the file lifts
 * them); a run-time one gives its id (unfreeze --id), who and when. */
static void
ctl_print_freeze(FILE *f, json_t *o)
{
	const char *source;
	char	    from[32], until[32], at[32];

	source = json_string_value(json_object_get(o, "source"));
	ctl_freeze_time(o, "from", from, sizeof from);
	ctl_freeze_time(o, "until", until, sizeof until);
	fprintf(f, "%s %s: frozen %s .. %s ", ctl_dash(o, "app"),
	    ctl_dash(o, "env"), from, until);
	if (source != NULL && strcmp(source, "config") == 0)
		fprintf(f, "(config: shipgate.yaml)");
	else {
		ctl_freeze_time(o, "at", at, sizeof at);
		fprintf(f, "(run-time %lld, %s)",
		    (long long)json_integer_value(json_object_get(o, "id")),
		    at);
		fprintf(f, " by %s", ctl_dash(o, "by"));
	}
	fprintf(f, ": %s\n", ctl_dash(o, "reason"));
}

/*
 * freeze APP ENV --until WHEN -m REASON | unfreeze APP ENV -m COMMENT |
 * freezes APP [ENV]: run-time freezes of an environment, added and
 * lifted by operators (audited), and the list of those in force.
 */
static int
cmd_freeze(const char *config_path, int json, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "until", required_argument, NULL, 't' },
		{ "id", required_argument, NULL, 'i' },
		{ "as", required_argument, NULL, 'u' },
		{ "message", required_argument, NULL, 'm' },
		{ "comment", required_argument, NULL, 'm' },
		{ "reason", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char    *use, *command = argv[0], *as = NULL;
	const char    *message = NULL, *until = NULL, *id = NULL;
	struct config *config = NULL;
	json_t	      *req = NULL, *reply = NULL, *a;
	char	      *line = NULL;
	size_t	       i;
	int64_t	       until_ms = 0, freeze_id = 0;
	char	      *end;
	struct tm      tm;
	time_t	       t;
	char	       at[32];
	int	       ch, rc = 1, list, freeze;

	list = strcmp(command, "freezes") == 0;
	freeze = strcmp(command, "freeze") == 0;
	use = list   ? "freezes APP [ENV]" :
	      freeze ? "freeze APP ENV --until "
		       "WHEN [--as USER] -m REASON" :
		       "unfreeze APP ENV [--id FREEZE] [--as USER] -m COMMENT";
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "m:", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			if (!freeze)
				goto usage;
			until = optarg;
			break;
		case 'i':
			if (list || freeze)
				goto usage;
			id = optarg;
			break;
		case 'u':
			as = optarg;
			break;
		case 'm':
			message = optarg;
			break;
		case 'j':
			json = 1;
			break;
		default:
			goto usage;
		}
	}
	if (list) {
		if (argc - optind < 1 || argc - optind > 2 || as != NULL ||
		    message != NULL)
			goto usage;
		req = json_pack("{s:s, s:s}", "command", "freezes", "app",
		    argv[optind]);
		if (req != NULL && optind + 1 < argc)
			json_object_set_new(req, "env",
			    json_string(argv[optind + 1]));
	} else {
		if (argc - optind != 2)
			goto usage;
		if (ctl_blank(message)) {
			fprintf(stderr, "shipgatectl: %s needs a %s (-m)\n",
			    command, freeze ? "reason" : "comment saying why");
			goto usage;
		}
		if (freeze &&
		    (until == NULL || ctl_parse_until(until, &until_ms) != 0)) {
			fprintf(stderr,
			    "shipgatectl: freeze needs --until: a "
			    "time with its offset (2026-12-24T18:00+01:00, "
			    "2026-12-24T17:00Z) or a duration (3d, 12h)%s%s\n",
			    until != NULL ? ", not " : "",
			    until != NULL ? until : "");
			goto usage;
		}
		if (id != NULL && ((freeze_id = strtoll(id, &end, 10)) <= 0 ||
				      *end != '\0')) {
			fprintf(stderr,
			    "shipgatectl: --id is a run-time freeze's "
			    "number (shipgatectl freezes), not %s\n",
			    id);
			goto usage;
		}
		req = ctl_env_request(command, argv + optind, message, as);
		if (req != NULL && freeze)
			json_object_set_new(req, "until",
			    json_integer(until_ms));
		if (req != NULL && id != NULL)
			json_object_set_new(req, "freeze",
			    json_integer(freeze_id));
	}
	if ((rc = ctl_send(config_path, req, json, &config, &reply, &line)) !=
	    0)
		goto out;
	if (!json) {
		if (list) {
			a = json_object_get(reply, "freezes");
			if (json_array_size(a) == 0)
				printf("no freeze\n");
			for (i = 0; i < json_array_size(a); i++)
				ctl_print_freeze(stdout, json_array_get(a, i));
		} else if (freeze) {
			t = (time_t)(until_ms / 1000);
			gmtime_r(&t, &tm);
			strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
			printf("%s %s: frozen until %s by %s\n", argv[optind],
			    argv[optind + 1], at,
			    json_string_value(json_object_get(reply, "as")));
		} else if (id != NULL)
			printf("%s %s: run-time freeze %s lifted by %s\n",
			    argv[optind], argv[optind + 1], id,
			    json_string_value(json_object_get(reply, "as")));
		else
			printf("%s %s: run-time freezes lifted by %s\n",
			    argv[optind], argv[optind + 1],
			    json_string_value(json_object_get(reply, "as")));
	}
	rc = 0;
	goto out;
usage:
	fprintf(stderr, "usage: shipgatectl [-c CONFIG] [--json] %s\n", use);
	rc = 2;
out:
	json_decref(req);
	json_decref(reply);
	free(line);
	config_free(config);
	return (rc);
}

/*
 * stacks [APP] | continue-rollback APP ENV [--skip RESOURCE]... -m
 * COMMENT | delete-failed-stack APP ENV -m COMMENT: environments whose
 * stack is stuck, and the operators' two ways out.  The daemon carries
 * the action out and waits for CloudFormation; `stacks` shows it under
 * way, then the environment gone from the list.
 */
static int
cmd_stack(const char *config_path, int json, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "skip", required_argument, NULL, 's' },
		{ "as", required_argument, NULL, 'u' },
		{ "message", required_argument, NULL, 'm' },
		{ "comment", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char    *use, *command = argv[0], *as = NULL;
	const char    *message = NULL;
	struct config *config = NULL;
	json_t	      *req = NULL, *reply = NULL, *skip, *a;
	char	      *line = NULL;
	size_t	       i;
	int	       ch, rc = 1, stacks, cont;

	stacks = strcmp(command, "stacks") == 0;
	cont = strcmp(command, "continue-rollback") == 0;
	use = stacks ? "stacks [APP]" :
	      cont   ? "continue-rollback APP ENV "
		       "[--skip RESOURCE]... [--as USER] -m COMMENT" :
		       "delete-failed-stack APP ENV [--as USER] -m COMMENT";
	skip = json_array();
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "m:", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (!cont)
				goto usage;
			json_array_append_new(skip, json_string(optarg));
			break;
		case 'u':
			as = optarg;
			break;
		case 'm':
			message = optarg;
			break;
		case 'j':
			json = 1;
			break;
		default:
			goto usage;
		}
	}
	if (stacks) {
		if (argc - optind > 1 || as != NULL || message != NULL)
			goto usage;
		req = json_pack("{s:s}", "command", "stacks");
		if (optind < argc)
			json_object_set_new(req, "app",
			    json_string(argv[optind]));
	} else {
		if (argc - optind != 2)
			goto usage;
		if (ctl_blank(message)) {
			fprintf(stderr,
			    "shipgatectl: %s needs a comment "
			    "saying why (-m)\n",
			    command);
			goto usage;
		}
		req = ctl_env_request(cont ? "continue_rollback" :
					     "delete_failed_stack",
		    argv + optind, message, as);
		if (req == NULL) {
			fprintf(stderr, "shipgatectl: arguments must be "
					"UTF-8\n");
			rc = 2;
			goto out;
		}
		if (json_array_size(skip) > 0)
			json_object_set(req, "skip", skip);
	}
	if ((config = ctl_config(config_path)) == NULL ||
	    ctl_exchange(config, req, json, &reply, &line) != 0)
		goto out;
	if (!json) {
		if (stacks) {
			a = json_object_get(reply, "stuck");
			if (json_array_size(a) == 0)
				printf("no stack is stuck\n");
			for (i = 0; i < json_array_size(a); i++)
				ctl_print_stuck(stdout, json_array_get(a, i));
		} else
			printf("%s %s: %s requested by %s; shipgated carries "
			       "it out and waits for CloudFormation (see "
			       "shipgatectl stacks)\n",
			    argv[optind], argv[optind + 1], command,
			    json_string_value(json_object_get(reply, "as")));
	}
	rc = 0;
	goto out;
usage:
	fprintf(stderr, "usage: shipgatectl [-c CONFIG] [--json] %s\n", use);
	rc = 2;
out:
	json_decref(skip);
	json_decref(req);
	json_decref(reply);
	config_free(config);
	free(line);
	return (rc);
}

/*
 * token create USER [--label LABEL] | token list | token revoke ID:
 * API tokens, kept by the daemon (only their SHA-256).
 */
static int
cmd_token(const char *config_path, int json, int argc, char **argv)
{
	static const char use[] =
	    "usage: shipgatectl [-c CONFIG] "
	    "[--json] token create USER [--label LABEL] | token list | "
	    "token revoke ID\n";
	struct config *config = NULL;
	json_t	      *req = NULL, *reply = NULL, *a, *t;
	const char    *label = NULL, *sub;
	char	      *line = NULL, *cause = NULL;
	int64_t	       id = 0;
	size_t	       i;
	int	       rc = 1;

	if (argc < 2) {
		fprintf(stderr, "%s", use);
		return (2);
	}
	sub = argv[1];
	if (strcmp(sub, "create") == 0) {
		if (argc == 5 && strcmp(argv[3], "--label") == 0)
			label = argv[4];
		else if (argc != 3) {
			fprintf(stderr, "%s", use);
			return (2);
		}
		req = json_pack("{s:s, s:s}", "command", "token_create", "user",
		    argv[2]);
		if (req != NULL && label != NULL)
			json_object_set_new(req, "label", json_string(label));
	} else if (strcmp(sub, "list") == 0 && argc == 2)
		req = json_pack("{s:s}", "command", "token_list");
	else if (strcmp(sub, "revoke") == 0 && argc == 3) {
		if (ctl_parse_id(argv[2], &id) != 0) {
			fprintf(stderr, "shipgatectl: not a token id: %s\n%s",
			    argv[2], use);
			return (2);
		}
		req = json_pack("{s:s, s:I}", "command", "token_revoke", "id",
		    (json_int_t)id);
	} else {
		fprintf(stderr, "%s", use);
		return (2);
	}
	if (req == NULL ||
	    (label != NULL && json_object_get(req, "label") == NULL)) {
		fprintf(stderr, "shipgatectl: arguments must be UTF-8\n");
		json_decref(req);
		return (2);
	}
	if ((config = ctl_config(config_path)) == NULL)
		goto out;
	/* The people an identity provider signed in only the daemon
	 * knows: it checks them. */
	if (strcmp(sub, "create") == 0 &&
	    config_find_user(config, argv[2]) == NULL &&
	    config->oidc.issuer == NULL && config->alb.arn == NULL) {
		fprintf(stderr, "shipgatectl: %s is not a user of %s\n",
		    argv[2], config_path);
		goto out;
	}
	if (ctl_exchange(config, req, 0, &reply, &line) != 0)
		goto out;
	if (json)
		printf("%s\n", line);
	else if (strcmp(sub, "create") == 0) {
		printf("%s\n",
		    json_string_value(json_object_get(reply, "token")));
		fprintf(stderr,
		    "token %lld for %s: shown this once; send it "
		    "as \"Authorization: Bearer TOKEN\"\n",
		    (long long)json_integer_value(json_object_get(reply, "id")),
		    argv[2]);
	} else if (strcmp(sub, "list") == 0) {
		a = json_object_get(reply, "tokens");
		printf("%-5s %-12s %-20s %-20s %-20s %s\n", "ID", "USER",
		    "CREATED", "LAST USED", "REVOKED", "LABEL");
		for (i = 0; i < json_array_size(a); i++) {
			t = json_array_get(a, i);
			printf("%-5lld %-12s %-20s %-20s %-20s %s\n",
			    (long long)json_integer_value(
				json_object_get(t, "id")),
			    ctl_dash(t, "user"), ctl_dash(t, "created_at"),
			    ctl_dash(t, "last_used_at"),
			    ctl_dash(t, "revoked_at"), ctl_dash(t, "label"));
		}
	} else
		printf("token %lld revoked\n", (long long)id);
	rc = 0;
out:
	if (line != NULL)
		explicit_bzero(line, strlen(line));
	json_decref(req);
	json_decref(reply);
	config_free(config);
	free(line);
	free(cause);
	return (rc);
}

/*
 * sessions list [--user USER] | sessions revoke ID | sessions revoke
 * --user USER: the portal's live sign-ins (one's own, or anyone's for an
 * admin of the control socket).
 */
static int
cmd_sessions(const char *config_path, int json, int argc, char **argv)
{
	static const char use[] =
	    "usage: shipgatectl [-c CONFIG] "
	    "[--json] sessions list [--user USER] | sessions revoke ID | "
	    "sessions revoke --user USER\n";
	struct config *config = NULL;
	json_t	      *req = NULL, *reply = NULL, *a, *t;
	const char    *sub;
	char	      *line = NULL, *cause = NULL;
	size_t	       i;
	int	       rc = 1;

	if (argc < 2) {
		fprintf(stderr, "%s", use);
		return (2);
	}
	sub = argv[1];
	if (strcmp(sub, "list") == 0 && argc == 2)
		req = json_pack("{s:s}", "command", "sessions_list");
	else if (strcmp(sub, "list") == 0 && argc == 4 &&
		 strcmp(argv[2], "--user") == 0)
		req = json_pack("{s:s, s:s}", "command", "sessions_list",
		    "user", argv[3]);
	else if (strcmp(sub, "revoke") == 0 && argc == 3 && argv[2][0] != '-')
		req = json_pack("{s:s, s:s}", "command", "sessions_revoke",
		    "id", argv[2]);
	else if (strcmp(sub, "revoke") == 0 && argc == 4 &&
		 strcmp(argv[2], "--user") == 0)
		req = json_pack("{s:s, s:s}", "command", "sessions_revoke",
		    "user", argv[3]);
	else {
		fprintf(stderr, "%s", use);
		return (2);
	}
	if ((rc = ctl_send(config_path, req, 0, &config, &reply, &line)) != 0)
		goto out;
	if (json)
		printf("%s\n", line);
	else if (strcmp(sub, "list") == 0) {
		a = json_object_get(reply, "sessions");
		printf("%-16s %-12s %-20s %-20s %-20s %s\n", "ID", "USER",
		    "CREATED", "LAST SEEN", "EXPIRES", "ADDRESS");
		for (i = 0; i < json_array_size(a); i++) {
			t = json_array_get(a, i);
			printf("%-16s %-12s %-20s %-20s %-20s %s\n",
			    ctl_dash(t, "id"), ctl_dash(t, "user"),
			    ctl_dash(t, "created_at"),
			    ctl_dash(t, "last_seen_at"),
			    ctl_dash(t, "expires_at"),
			    ctl_dash(t, "remote_addr"));
		}
	} else
		printf("%lld session(s) of %s ended\n",
		    (long long)json_integer_value(
			json_object_get(reply, "sessions")),
		    json_string_value(json_object_get(reply, "user")));
	rc = 0;
out:
	json_decref(req);
	json_decref(reply);
	config_free(config);
	free(line);
	free(cause);
	return (rc);
}

/*
 * people list | people forget NAME: the people the identity provider or
 * the load balancer signed in (admins of the control socket only).
 */
static int
cmd_people(const char *config_path, int json, int argc, char **argv)
{
	static const char use[] = "usage: shipgatectl [-c CONFIG] "
				  "[--json] people list | people forget NAME\n";
	struct config	 *config = NULL;
	json_t		 *req = NULL, *reply = NULL, *a, *t, *g;
	const char	 *sub;
	char		 *line = NULL;
	size_t		  i, j;
	int		  rc = 1;

	if (argc < 2) {
		fprintf(stderr, "%s", use);
		return (2);
	}
	sub = argv[1];
	if (strcmp(sub, "list") == 0 && argc == 2)
		req = json_pack("{s:s}", "command", "people_list");
	else if (strcmp(sub, "forget") == 0 && argc == 3)
		req = json_pack("{s:s, s:s}", "command", "people_forget",
		    "name", argv[2]);
	else {
		fprintf(stderr, "%s", use);
		return (2);
	}
	if ((rc = ctl_send(config_path, req, 0, &config, &reply, &line)) != 0)
		goto out;
	if (json)
		printf("%s\n", line);
	else if (strcmp(sub, "list") == 0) {
		a = json_object_get(reply, "people");
		printf("%-24s %-6s %-20s %-20s %-24s %s\n", "NAME", "VIA",
		    "FIRST SEEN", "LAST SEEN", "EMAIL", "GROUPS");
		for (i = 0; i < json_array_size(a); i++) {
			t = json_array_get(a, i);
			printf("%-24s %-6s %-20s %-20s %-24s ",
			    ctl_dash(t, "name"), ctl_dash(t, "source"),
			    ctl_dash(t, "first_seen"), ctl_dash(t, "last_seen"),
			    ctl_dash(t, "email"));
			g = json_object_get(t, "groups");
			for (j = 0; j < json_array_size(g); j++)
				printf("%s%s", j > 0 ? "," : "",
				    json_string_value(json_array_get(g, j)));
			printf("%s\n", json_array_size(g) == 0 ? "-" : "");
		}
	} else
		printf("%s forgotten, %lld session(s) and %lld token(s) "
		       "ended\n",
		    json_string_value(json_object_get(reply, "name")),
		    (long long)json_integer_value(
			json_object_get(reply, "sessions")),
		    (long long)json_integer_value(
			json_object_get(reply, "tokens")));
	rc = 0;
out:
	json_decref(req);
	json_decref(reply);
	config_free(config);
	free(line);
	return (rc);
}

static int
ctl_is_control_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof ctl_commands / sizeof *ctl_commands; i++) {
		if (strcmp(ctl_commands[i].name, name) == 0)
			return (1);
	}
	return (0);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct config *config;
	const char    *config_path = config_default_path(), *command;
	int	       ch, json = 0, rc;

	log_init("shipgatectl");
	/* The command's own output is the report; logs only for trouble. */
	log_set_level(LOG_LEVEL_WARNING);
	/* Options stop at the command: its own arguments follow it. */
	while ((ch = getopt_long(argc, argv, "+c:jhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return (0);
		case 'V':
			printf("shipgatectl %s\n", PACKAGE_VERSION);
			return (0);
		default:
			usage(stderr);
			return (2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return (2);
	}
	command = argv[0];
	if (strcmp(command, "check-config") == 0) {
		if (argc > 2) {
			usage(stderr);
			return (2);
		}
		return (cmd_check_config(argc == 2 ? argv[1] : config_path));
	}
	if (strcmp(command, "passwd") == 0) {
		if (argc != 1) {
			usage(stderr);
			return (2);
		}
		return (cmd_passwd());
	}
	if (strcmp(command, "doctor") == 0) {
		if (argc != 1) {
			usage(stderr);
			return (2);
		}
		if ((config = ctl_config(config_path)) == NULL)
			return (1);
		rc = doctor_run(config, stdout, json);
		config_free(config);
		return (rc);
	}
	if (ctl_is_control_command(command))
		return (cmd_control(config_path, json, argc, argv));
	if (strcmp(command, "token") == 0)
		return (cmd_token(config_path, json, argc, argv));
	if (strcmp(command, "stacks") == 0 ||
	    strcmp(command, "continue-rollback") == 0 ||
	    strcmp(command, "delete-failed-stack") == 0)
		return (cmd_stack(config_path, json, argc, argv));
	if (strcmp(command, "sessions") == 0)
		return (cmd_sessions(config_path, json, argc, argv));
	if (strcmp(command, "people") == 0)
		return (cmd_people(config_path, json, argc, argv));
	if (strcmp(command, "freeze") == 0 ||
	    strcmp(command, "unfreeze") == 0 || strcmp(command, "freezes") == 0)
		return (cmd_freeze(config_path, json, argc, argv));
	if (strcmp(command, "version") == 0) {
		printf("shipgatectl %s\n", PACKAGE_VERSION);
		return (0);
	}
	fprintf(stderr, "shipgatectl: unknown command: %s\n", command);
	usage(stderr);
	return (2);
}
