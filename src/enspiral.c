/*-------------------------------------------------------------------------
 *
 * enspiral.c
 *	  Module entry point and version check of the enspiral extension.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"

#include "enspiral.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

PG_FUNCTION_INFO_V1(enspiral_library_version);
PG_FUNCTION_INFO_V1(enspiral_version);

/* Module load: hooks that tell restores from nested writes; API write state; commit-time rules and the acting member on Citus */
void
_PG_init(void)
{
	enspiral_restore_init();
	enspiral_write_init();
	enspiral_commit_rules_init();
	enspiral_citus_prepare_init();
	enspiral_citus_actor_init();
}

/* Version of the installed SQL objects (pg_extension.extversion), or NULL */
static char *
installed_sql_version(void)
{
	Oid			extoid = get_extension_oid("enspiral", true);
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	char	   *result = NULL;

	if (!OidIsValid(extoid))
		return NULL;
	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(extoid));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_pg_extension_extversion,
									 RelationGetDescr(rel), &isnull);

		if (!isnull)
			result = text_to_cstring(DatumGetTextPP(d));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/* enspiral.library_version(): the version compiled into the loaded library */
Datum
enspiral_library_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(ENSPIRAL_VERSION));
}

/* enspiral.version(): the version, after checking SQL and library agree */
Datum
enspiral_version(PG_FUNCTION_ARGS)
{
	char	   *sqlver = installed_sql_version();

	if (sqlver == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_VERSION_MISMATCH),
				 errmsg("extension \"enspiral\" is not installed in this database")));
	if (strcmp(sqlver, ENSPIRAL_VERSION) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_VERSION_MISMATCH),
				 errmsg("enspiral SQL objects and library versions differ"),
				 errdetail("The SQL objects are version %s; the loaded library is version %s.",
						   sqlver, ENSPIRAL_VERSION),
				 errhint("Run ALTER EXTENSION enspiral UPDATE, or install the matching library, then reconnect.")));
	PG_RETURN_TEXT_P(cstring_to_text(ENSPIRAL_VERSION));
}
