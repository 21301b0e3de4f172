/*
 * shipgatectl: the operator's command line.  Commands that act on runs
 * talk to the running daemon through its control socket; check-config
 * and passwd work alone.
 */
#include <sys/random.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <argon2.h>

#include "config.h"
#include "doctor.h"
#include "log.h"
#include "xmalloc.h"

/* argon2id cost: the OWASP-recommended class, ~0.1 s on a small VM. */
#define PASSWD_T_COST	3
#define PASSWD_M_COST	65536
#define PASSWD_LANES	4
#define PASSWD_SALT_LEN	16
#define PASSWD_HASH_LEN	32
#define PASSWD_MAX	1024

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: shipgatectl [-c CONFIG] [--json] COMMAND ...\n"
	    "commands:\n"
	    "  check-config [FILE]   check a configuration, print every "
	    "error\n"
	    "  doctor                pre-flight of credentials, roles, "
	    "buckets, queues,\n"
	    "                        stacks and registries\n"
	    "  passwd                read a password, print an argon2id "
	    "hash\n"
	    "  version               print the version\n");
}

static int
cmd_check_config(const char *path)
{
	struct config_errors	 errors = { 0 };
	struct config		*config;
	size_t			 i;

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
	struct termios	 old, quiet;
	int		 tty = isatty(STDIN_FILENO), rc = -1;
	size_t		 len;

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
			fprintf(stderr, "shipgatectl: password too long "
			    "(at most %zu bytes)\n", size - 2);
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
	char		 pass[PASSWD_MAX], again[PASSWD_MAX];
	unsigned char	 salt[PASSWD_SALT_LEN];
	char		*encoded = NULL;
	size_t		 enclen;
	int		 len, rc, status = 1;

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
	struct config_errors	 errors = { 0 };
	struct config		*config;
	const char		*config_path = config_default_path(), *command;
	int			 ch, json = 0, rc;
	size_t			 i;

	log_init("shipgatectl");
	/* The command's own output is the report; logs only for trouble. */
	log_set_level(LOG_LEVEL_WARNING);
	/* Options stop at the command: its own arguments follow it. */
	while ((ch = getopt_long(argc, argv, "+c:jhV", longopts,
	    NULL)) != -1) {
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
		if ((config = config_load(config_path, &errors)) == NULL) {
			for (i = 0; i < errors.n; i++)
				fprintf(stderr, "%s\n", errors.lines[i]);
			config_errors_free(&errors);
			return (1);
		}
		rc = doctor_run(config, stdout, json);
		config_free(config);
		return (rc);
	}
	if (strcmp(command, "version") == 0) {
		printf("shipgatectl %s\n", PACKAGE_VERSION);
		return (0);
	}
	fprintf(stderr, "shipgatectl: unknown command: %s\n", command);
	usage(stderr);
	return (2);
}
