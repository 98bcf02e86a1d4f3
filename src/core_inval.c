/*-------------------------------------------------------------------------
 *
 * core_inval.c
 *	  One relcache invalidation callback for the whole library.
 *
 * Several modules keep per-backend caches that a relcache invalidation
 * must empty: the relation OIDs and column positions of core_relaccess.c,
 * the compiled expressions of core_exprcache.c, the Citus answers of
 * core_citus.c, the group notify settings of actors_events.c.  PostgreSQL
 * 15 keeps at most ten relcache callbacks per backend (MAX_RELCACHE_CALLBACKS
 * in utils/cache/inval.c) for every loaded library together, and Citus
 * alone registers several: with one callback per module, a backend that
 * had loaded Citus and used every enspiral cache ran out of slots ("out of
 * relcache_callback_list slots").  So enspiral registers one callback with
 * PostgreSQL, here, and calls each module's callback from it, in the order
 * they were added.  Syscache callbacks have a limit of 64 and stay
 * registered by each module.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/inval.h"

#include "enspiral.h"

/* the modules' callbacks; one per caching module of the library */
#define MAX_ENSPIRAL_RELCACHE_CALLBACKS 8

static RelcacheCallbackFunction relcache_callbacks[MAX_ENSPIRAL_RELCACHE_CALLBACKS];
static int	relcache_callback_count = 0;

/* The one callback PostgreSQL calls: pass the invalidation to every module */
static void
relcache_dispatch(Datum arg, Oid relid)
{
	for (int i = 0; i < relcache_callback_count; i++)
		relcache_callbacks[i] ((Datum) 0, relid);
}

/*
 * enspiral_relcache_callback(func): call func(0, relid) on every relcache
 * invalidation from now on in this backend (as CacheRegisterRelcacheCallback,
 * sharing one of PostgreSQL's slots); callers register once per backend
 */
void
enspiral_relcache_callback(RelcacheCallbackFunction func)
{
	if (relcache_callback_count >= MAX_ENSPIRAL_RELCACHE_CALLBACKS)
		elog(FATAL, "out of enspiral relcache callback slots");
	if (relcache_callback_count == 0)
		CacheRegisterRelcacheCallback(relcache_dispatch, (Datum) 0);
	relcache_callbacks[relcache_callback_count++] = func;
}
