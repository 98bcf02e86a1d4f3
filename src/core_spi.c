/*-------------------------------------------------------------------------
 *
 * core_spi.c
 *	  Small helpers around SPI and tuples: saved plans prepared once per
 *	  backend, and columns read by name.
 *
 * Saved plans are generic from the first call (CURSOR_OPT_GENERIC_PLAN):
 * every query enspiral keeps is keyed by group and row ids, whose best plan
 * does not depend on the parameter values, so planning again for each of
 * the first calls, as the plan cache would by default, is waste.  Not in
 * a database with Citus (core_citus.c): Citus plans a query that reads more than
 * one distributed table only with the values of its parameters known, and
 * gives its generic plans a prohibitive cost so that the plan cache keeps
 * custom plans.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "utils/builtins.h"
#include "utils/datum.h"

#include "enspiral.h"

/* Prepare sql once per backend and keep the plan (generic, without Citus) in *cache */
SPIPlanPtr
enspiral_plan(SPIPlanPtr *cache, const char *sql, int nargs, const Oid *argtypes)
{
	SPIPlanPtr	plan;

	if (*cache != NULL)
		return *cache;
	plan = SPI_prepare_cursor(sql, nargs, (Oid *) argtypes,
							  enspiral_citus_present() ? 0 : CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s",
			 sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	*cache = plan;
	return plan;
}

/* SPI_connect, failing loudly */
void
enspiral_spi_connect(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

/* SPI_finish, failing loudly */
void
enspiral_spi_finish(void)
{
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
}

/*
 * Where a column name was found last: the hot paths name columns by string
 * constants, several times per row, and SPI_fnumber compares the name with
 * every column before it.  A hint is keyed by the name's address and the
 * row type of the descriptor, and only trusted after comparing the name at
 * the position it gives, so it is never wrong, only sometimes missing.
 */
#define ATTNUM_HINTS 256

typedef struct AttnumHint
{
	const char *name;
	Oid			typid;
	AttrNumber	attnum;
} AttnumHint;

static AttnumHint attnum_hints[ATTNUM_HINTS];

/* Attribute number of the user column name of desc; can't-happen if none */
AttrNumber
enspiral_attnum(TupleDesc desc, const char *name)
{
	AttnumHint *hint = &attnum_hints[(((uintptr_t) name >> 3) ^ desc->tdtypeid) % ATTNUM_HINTS];
	int			attnum;

	/* a row type of a table (not RECORD, whose columns may repeat a name) */
	if (desc->tdtypeid != RECORDOID && hint->name == name && hint->typid == desc->tdtypeid &&
		hint->attnum <= desc->natts)
	{
		Form_pg_attribute att = TupleDescAttr(desc, hint->attnum - 1);

		if (!att->attisdropped && namestrcmp(&att->attname, name) == 0)
			return hint->attnum;
	}
	attnum = SPI_fnumber(desc, name);
	if (attnum <= 0)
		elog(ERROR, "column \"%s\" not found", name);
	hint->name = name;
	hint->typid = desc->tdtypeid;
	hint->attnum = (AttrNumber) attnum;
	return (AttrNumber) attnum;
}

/* Value of the column name of tuple tup */
Datum
enspiral_column(HeapTuple tup, TupleDesc desc, const char *name, bool *isnull)
{
	return heap_getattr(tup, enspiral_attnum(desc, name), desc, isnull);
}

/* Value of the NOT NULL bigint column name of tuple tup */
int64
enspiral_column_int64(HeapTuple tup, TupleDesc desc, const char *name)
{
	bool		isnull;
	Datum		d = enspiral_column(tup, desc, name, &isnull);

	if (isnull)
		elog(ERROR, "column \"%s\" is null", name);
	return DatumGetInt64(d);
}

/* Value of the column name of the row in slot */
Datum
enspiral_slot_column(TupleTableSlot *slot, const char *name, bool *isnull)
{
	return slot_getattr(slot, enspiral_attnum(slot->tts_tupleDescriptor, name), isnull);
}

/* bigint column name of the row in slot (NOT NULL columns) */
int64
enspiral_slot_int64(TupleTableSlot *slot, const char *name)
{
	bool		isnull;
	Datum		d = enspiral_slot_column(slot, name, &isnull);

	if (isnull)
		elog(ERROR, "column \"%s\" is null", name);
	return DatumGetInt64(d);
}

/* True when column name has the same value in both tuples (binary equality) */
bool
enspiral_column_unchanged(TupleDesc desc, HeapTuple a, HeapTuple b, const char *name)
{
	AttrNumber	attnum = enspiral_attnum(desc, name);
	Form_pg_attribute att = TupleDescAttr(desc, attnum - 1);
	bool		na,
				nb;
	Datum		da = heap_getattr(a, attnum, desc, &na);
	Datum		db = heap_getattr(b, attnum, desc, &nb);

	if (na || nb)
		return na == nb;
	if (att->attlen == -1)
	{
		struct varlena *va = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(da));
		struct varlena *vb = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(db));

		return VARSIZE_ANY_EXHDR(va) == VARSIZE_ANY_EXHDR(vb) &&
			memcmp(VARDATA_ANY(va), VARDATA_ANY(vb), VARSIZE_ANY_EXHDR(va)) == 0;
	}
	return datumIsEqual(da, db, att->attbyval, att->attlen);
}
