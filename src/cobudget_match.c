/*-------------------------------------------------------------------------
 *
 * cobudget_match.c
 *	  The matches of a co-budgeting round, computed from the ledger and
 *	  recorded with their parameters so that enspiral.verify_match() can
 *	  recompute them (doc/matching.md).
 *
 * The counted contributions of a match are the contributions to the buckets
 * that were funded or completed when it ran, not reversed, summed per
 * (bucket, member); "when it ran" is the round's last transfer before the
 * match (ledger_mark in enspiral.round_matches), so later refunds (a funded
 * bucket cancelled after the match) do not change what verify_match
 * recomputes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"

#include "enspiral.h"
#include "alloc.h"
#include "cobudget.h"

#if PG_VERSION_NUM < 150001
#define InitMaterializedSRF SetSingleFuncCall
#endif

PG_FUNCTION_INFO_V1(enspiral_recompute_match);

/* The counted contributions of a round, with each bucket's author */
typedef struct MatchInput
{
	int			n;
	int64	   *buckets;
	int64	   *members;
	int64	   *amounts;
	int64	   *authors;
} MatchInput;

/*
 * Read the counted contributions into *in: to the given buckets (NULL: the
 * funded and completed ones), transfers up to mark, not reversed by then.
 */
static void
match_read_input(int64 group_id, int64 round_id, Datum bucket_ids,
				 bool all_funded, int64 mark, MatchInput *in)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[5] = {INT8OID, INT8OID, INT8ARRAYOID, BOOLOID, INT8OID};
	Datum		args[5];
	char		nulls[5] = {' ', ' ', all_funded ? 'n' : ' ', ' ', ' '};

	args[0] = Int64GetDatum(group_id);
	args[1] = Int64GetDatum(round_id);
	args[2] = bucket_ids;
	args[3] = BoolGetDatum(all_funded);
	args[4] = Int64GetDatum(mark);
	enspiral_plan(&plan,
				  "SELECT b.bucket_id, fa.owner_id, sum(t.amount)::bigint, b.author_id"
				  "  FROM enspiral.buckets b"
				  "  JOIN enspiral.accounts ba ON ba.group_id = b.group_id AND ba.round_id = b.round_id"
				  "   AND ba.kind = 'bucket' AND ba.owner_id = b.bucket_id"
				  "  JOIN enspiral.transfers t ON t.group_id = b.group_id"
				  "   AND t.to_account = ba.account_id AND t.kind = 'contribute'"
				  "   AND t.transfer_id <= $5"
				  "  JOIN enspiral.accounts fa ON fa.group_id = t.group_id AND fa.account_id = t.from_account"
				  " WHERE b.group_id = $1 AND b.round_id = $2"
				  "   AND CASE WHEN $4 THEN b.state::text IN ('funded', 'completed')"
				  "            ELSE b.bucket_id = ANY ($3) END"
				  "   AND NOT EXISTS (SELECT 1 FROM enspiral.transfers x"
				  "                    WHERE x.group_id = t.group_id AND x.reverses = t.transfer_id"
				  "                      AND x.transfer_id <= $5)"
				  " GROUP BY b.bucket_id, fa.owner_id, b.author_id"
				  " ORDER BY b.bucket_id, fa.owner_id",
				  5, argtypes);
	if (SPI_execute_plan(plan, args, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "counted contributions query failed");
	in->n = (int) SPI_processed;
	in->buckets = palloc(sizeof(int64) * (in->n + 1));
	in->members = palloc(sizeof(int64) * (in->n + 1));
	in->amounts = palloc(sizeof(int64) * (in->n + 1));
	in->authors = palloc(sizeof(int64) * (in->n + 1));
	for (int i = 0; i < in->n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		CHECK_FOR_INTERRUPTS();
		in->buckets[i] = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		in->members[i] = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		in->amounts[i] = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		in->authors[i] = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
	}
}

/* The (bucket, author) pairs of the input, for exclude_self_funding */
static void
match_authors(const MatchInput *in, EnspiralMatchOptions *opt)
{
	opt->author_projects = palloc(sizeof(int64) * (in->n + 1));
	opt->author_members = palloc(sizeof(int64) * (in->n + 1));
	opt->nauthors = 0;
	for (int i = 0; i < in->n; i++)
		if (opt->nauthors == 0 ||
			opt->author_projects[opt->nauthors - 1] != in->buckets[i])
		{
			opt->author_projects[opt->nauthors] = in->buckets[i];
			opt->author_members[opt->nauthors++] = in->authors[i];
		}
}

/* The method name as the enum; the pairwise threshold as a double */
static EnspiralQfMethod
match_method(const char *method, Datum threshold, bool threshold_null,
			 double *m)
{
	*m = 0;
	if (strcmp(method, "standard") == 0)
		return ENSPIRAL_QF_STANDARD;
	if (strcmp(method, "pairwise") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_UNKNOWN_MODE),
				 errmsg("unknown quadratic funding method"),
				 errdetail("The method given is \"%s\".", method),
				 errhint("Use \"standard\" or \"pairwise\"."),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "method")));
	if (threshold_null)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("method \"pairwise\" needs a positive threshold"),
				 errdetail("The threshold is NULL.")));
	*m = enspiral_qf_threshold(DatumGetNumeric(threshold));
	return ENSPIRAL_QF_PAIRWISE;
}

/*
 * The matches of a round: (bucket, match) per counted bucket, by bucket.
 * bucket_ids NULL (all_funded) means the funded and completed buckets now.
 */
int
match_compute(int64 group_id, int64 round_id, int64 pool, const char *method,
			  bool has_cap, int64 cap, Datum threshold, bool threshold_null,
			  Datum options, bool options_null, Datum bucket_ids,
			  bool all_funded, int64 mark, EnspiralMatch **rows)
{
	MatchInput	in;
	EnspiralMatchOptions opt;
	EnspiralQfMethod m;
	double		t;

	enspiral_match_options_parse(options, options_null, true, &opt);
	m = match_method(method, threshold, threshold_null, &t);
	match_read_input(group_id, round_id, bucket_ids, all_funded, mark, &in);
	if (opt.exclude_self_funding)
		match_authors(&in, &opt);
	return enspiral_match_with_options(pool, in.buckets, in.members,
									   in.amounts, in.n, has_cap, cap, m, t,
									   &opt, rows);
}

/* Record a round's match with its parameters (once: the primary key) */
void
match_record(int64 group_id, int64 round_id, int64 pool, const char *method,
			 Datum cap, bool cap_null, Datum threshold, bool threshold_null,
			 Datum options, bool options_null)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[7] = {INT8OID, INT8OID, INT8OID, TEXTOID, INT8OID,
	NUMERICOID, JSONBOID};
	Datum		args[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', cap_null ? 'n' : ' ',
	threshold_null ? 'n' : ' ', options_null ? 'n' : ' '};

	args[0] = Int64GetDatum(group_id);
	args[1] = Int64GetDatum(round_id);
	args[2] = Int64GetDatum(pool);
	args[3] = CStringGetTextDatum(method);
	args[4] = cap;
	args[5] = threshold;
	args[6] = options;
	enspiral_plan(&plan,
				  "INSERT INTO enspiral.round_matches (group_id, round_id, matching_pool,"
				  "       method, cap, threshold, options, ledger_mark, bucket_ids)"
				  " SELECT $1, $2, $3, $4, $5, $6, $7,"
				  "       (SELECT COALESCE(max(t.transfer_id), 0) FROM enspiral.transfers t"
				  "         WHERE t.group_id = $1 AND t.round_id = $2),"
				  "       (SELECT COALESCE(array_agg(b.bucket_id ORDER BY b.bucket_id), '{}')"
				  "          FROM enspiral.buckets b"
				  "         WHERE b.group_id = $1 AND b.round_id = $2"
				  "           AND b.state::text IN ('funded', 'completed'))",
				  7, argtypes);
	if (SPI_execute_plan(plan, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "round match record failed");
}

/*
 * enspiral.recompute_match(group_id, round_id) RETURNS TABLE(bucket_id
 * bigint, match bigint): the recorded match of a round computed again from
 * the ledger with its recorded parameters (internal; verify_match).
 */
Datum
enspiral_recompute_match(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2];
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull[7];
	Datum		v[7];
	EnspiralMatch *rows;
	int			n;
	MemoryContext outer = CurrentMemoryContext;

	InitMaterializedSRF(fcinfo, 0);
	args[0] = PG_GETARG_DATUM(0);
	args[1] = PG_GETARG_DATUM(1);
	enspiral_spi_connect();
	enspiral_plan(&plan,
				  "SELECT m.matching_pool, m.method, m.cap, m.threshold, m.options,"
				  "       m.bucket_ids, m.ledger_mark"
				  "  FROM enspiral.round_matches m WHERE m.group_id = $1 AND m.round_id = $2",
				  2, argtypes);
	if (SPI_execute_plan(plan, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "round match lookup failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ENSPIRAL_MATCH_NOT_RECORDED),
				 errmsg("round has no recorded match"),
				 errdetail("Round " INT64_FORMAT " of group " INT64_FORMAT " was not matched, or was matched before 0.2.0 recorded match parameters.",
						   PG_GETARG_INT64(1), PG_GETARG_INT64(0))));
	tup = SPI_copytuple(SPI_tuptable->vals[0]);
	desc = CreateTupleDescCopy(SPI_tuptable->tupdesc);
	for (int i = 0; i < 7; i++)
		v[i] = SPI_getbinval(tup, desc, i + 1, &isnull[i]);
	n = match_compute(PG_GETARG_INT64(0), PG_GETARG_INT64(1),
					  DatumGetInt64(v[0]), TextDatumGetCString(v[1]),
					  !isnull[2], isnull[2] ? 0 : DatumGetInt64(v[2]),
					  v[3], isnull[3], v[4], isnull[4], v[5], false,
					  DatumGetInt64(v[6]), &rows);
	{
		EnspiralMatch *copy = MemoryContextAlloc(outer, sizeof(EnspiralMatch) * (n + 1));

		memcpy(copy, rows, sizeof(EnspiralMatch) * n);
		rows = copy;
	}
	enspiral_spi_finish();
	for (int i = 0; i < n; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = Int64GetDatum(rows[i].project);
		values[1] = Int64GetDatum(rows[i].match);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
