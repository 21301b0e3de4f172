/*
 * shipgatectl: bootstrap placeholder.
 */
#include <stdio.h>

int
main(void)
{
	printf("shipgatectl %s\n", PACKAGE_VERSION);
	return (0);
}
