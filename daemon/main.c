/*
 * shipgated: command line, configuration check, and hand-over to the
 * daemon's life cycle (daemon.c).
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "iam.h"
#include "log.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: shipgated [--config FILE] [--check-config] [--foreground] "
	    "[-v] [--version] [--list-operations] [--help]\n"
	    "  -c, --config FILE   configuration (default %s)\n"
	    "  -n, --check-config  check the configuration, print every "
	    "error, exit\n"
	    "  -f, --foreground    stay in the foreground, log to stderr\n"
	    "  -v, --verbose       log at debug level\n"
	    "  -V, --version       print the version and exit\n"
	    "      --list-operations\n"
	    "                      print the IAM actions the AWS calls need "
	    "(ACTION, ACCOUNT,\n"
	    "                      RESOURCE, tab-separated) and exit\n"
	    "  -h, --help          print this help and exit\n",
	    config_default_path());
}

/*
 * Under systemd (Type=notify) the daemon never forks: systemd supervises
 * it and journald takes stderr.  Started by hand without --foreground it
 * detaches like a classic daemon and logs to syslog.
 */
static int
under_systemd(void)
{
	return (
	    getenv("NOTIFY_SOCKET") != NULL || getenv("INVOCATION_ID") != NULL);
}

static void
detach(void)
{
	int fd;

	switch (fork()) {
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		_exit(0);
	}
	if (setsid() == -1)
		fatal("setsid");
	if (chdir("/") == -1)
		fatal("chdir /");
	if ((fd = open("/dev/null", O_RDWR)) == -1)
		fatal("open /dev/null");
	(void)dup2(fd, STDIN_FILENO);
	(void)dup2(fd, STDOUT_FILENO);
	(void)dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	log_use_syslog();
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "list-operations", no_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon_options options = { 0 };
	struct config_errors  errors = { 0 };
	struct config	     *config;
	int		      ch, check_only = 0, foreground = 0;
	size_t		      i;

	log_init("shipgated");
	options.config_path = config_default_path();
	while (
	    (ch = getopt_long(argc, argv, "c:nfvVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			options.config_path = optarg;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'v':
			options.verbose = 1;
			break;
		case 'V':
			printf("shipgated %s\n", PACKAGE_VERSION);
			return (0);
		case 'O':
			/* Needs no configuration: the policies are written
			   before shipgated is installed. */
			if (iam_print(stdout) != 0) {
				fprintf(stderr, "shipgated: cannot write the "
						"operations\n");
				return (1);
			}
			return (0);
		case 'h':
			usage(stdout);
			return (0);
		default:
			usage(stderr);
			return (2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		return (2);
	}

	config = config_load(options.config_path, &errors);
	if (config == NULL) {
		for (i = 0; i < errors.n; i++)
			fprintf(stderr, "%s\n", errors.lines[i]);
		fprintf(stderr, "shipgated: %zu error%s in %s\n", errors.n,
		    errors.n == 1 ? "" : "s", options.config_path);
		config_errors_free(&errors);
		return (1);
	}
	if (check_only) {
		printf("%s: configuration OK\n", options.config_path);
		config_free(config);
		return (0);
	}
	if (!foreground && !under_systemd())
		detach();
	return (daemon_run(config, &options));
}
