/*
 * The schema's migrations, compiled in from sql/NNN_name.sql by
 * sql/embed.sh into the build directory's daemon/store-migrations.c.
 * Private to store*.c: everyone else asks store_schema_latest().
 */
#ifndef SHIPGATE_STORE_MIGRATIONS_H
#define SHIPGATE_STORE_MIGRATIONS_H

#include <stddef.h>

struct store_migration {
	int	    version; /* 1, 2, ...: index + 1 */
	const char *name;    /* "001_init.sql" */
	const char *sql;
};

extern const struct store_migration store_migrations[];
extern const size_t		    store_nmigrations;

#endif
