/*
 * An LD_PRELOAD shim for tests/chaos/chaos.py: fsync(2) and fdatasync(2)
 * fail with EIO while the file named by $FAILSYNC_FILE exists, as a
 * dying disk's would.  Otherwise they are the C library's.  The file is
 * looked at on every call, so the driver turns the fault on and off
 * without touching the process.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static int
failsync_on(void)
{
	const char	*path;

	if ((path = getenv("FAILSYNC_FILE")) == NULL || *path == '\0')
		return (0);
	return (access(path, F_OK) == 0);
}

int
fsync(int fd)
{
	static int	(*real)(int);

	if (failsync_on()) {
		errno = EIO;
		return (-1);
	}
	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	return (real(fd));
}

int
fdatasync(int fd)
{
	static int	(*real)(int);

	if (failsync_on()) {
		errno = EIO;
		return (-1);
	}
	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	return (real(fd));
}
