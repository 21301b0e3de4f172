/*
 * shipgated: bootstrap placeholder, replaced by the daemon life cycle as
 * soon as config and store land.
 */
#include <stdio.h>

int
main(void)
{
	printf("shipgated %s\n", PACKAGE_VERSION);
	return (0);
}
