/*-------------------------------------------------------------------------
 *
 * base_members.c
 *	  Membership lookups: "was this person a member of the group at time T",
 *	  answered from enspiral.memberships through its primary key index.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "enspiral.h"

PG_FUNCTION_INFO_V1(enspiral_is_member);

/* True when member_id belonged to group_id at time at; inside SPI_connect */
bool
enspiral_is_member_at(int64 group_id, int64 member_id, TimestampTz at)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, TIMESTAMPTZOID};
	Datum		args[3] = {Int64GetDatum(group_id), Int64GetDatum(member_id),
	TimestampTzGetDatum(at)};

	/* the latest period that began at or before "at" decides */
	enspiral_plan(&plan,
				  "SELECT 1 FROM enspiral.memberships"
				  " WHERE group_id = $1 AND member_id = $2 AND joined_at <= $3"
				  "   AND (left_at IS NULL OR left_at > $3)"
				  " LIMIT 1",
				  3, argtypes);
	if (SPI_execute_plan(plan, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "membership lookup failed");
	return SPI_processed > 0;
}

/* Raise NS004 unless member_id is a member of group_id now (NS003 when unknown); inside SPI */
void
enspiral_require_current_member(int64 group_id, int64 member_id)
{
	if (enspiral_is_member_at(group_id, member_id, GetCurrentTransactionStartTimestamp()))
		return;
	enspiral_require_member(group_id, member_id);	/* NS002, NS003 */
	ereport(ERROR,
			(errcode(ERRCODE_ENSPIRAL_NOT_A_MEMBER),
			 errmsg("member is not a current member of the group"),
			 errdetail("Member %lld is not a current member of group %lld.",
					   (long long) member_id, (long long) group_id)));
}

/* Raise NS002 for an unknown group, NS003 for an unknown member; inside SPI */
void
enspiral_require_member(int64 group_id, int64 member_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2] = {Int64GetDatum(group_id), Int64GetDatum(member_id)};

	enspiral_require_group(group_id);
	enspiral_plan(&plan,
				  "SELECT 1 FROM enspiral.members WHERE group_id = $1 AND member_id = $2",
				  2, argtypes);
	if (SPI_execute_plan(plan, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "member lookup failed");
	if (SPI_processed == 0)
		enspiral_not_found(ENSPIRAL_MEMBER, group_id, member_id);
}

/*
 * enspiral.is_member(group_id, member_id, at): membership at a time; an
 * unknown group or member is an error (NS002, NS003), not "false".
 */
Datum
enspiral_is_member(PG_FUNCTION_ARGS)
{
	int64		group_id = PG_GETARG_INT64(0);
	int64		member_id = PG_GETARG_INT64(1);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(2);
	bool		result;

	enspiral_spi_connect();
	result = enspiral_is_member_at(group_id, member_id, at);
	if (!result)
		enspiral_require_member(group_id, member_id);
	enspiral_spi_finish();
	PG_RETURN_BOOL(result);
}
