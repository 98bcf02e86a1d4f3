/*-------------------------------------------------------------------------
 *
 * core_api_write.c
 *	  The one way a guard trigger learns that the API itself is writing.
 *
 * Some tables are written only by enspiral's own C code: account balances
 * change only while a transfer is applied, the vote tables only inside
 * vote() and its siblings, a departing catalyst's terms only inside
 * catalyst_member_left().  Their guard triggers refuse every other write.
 * The code that makes such a write brackets it:
 *
 *		enspiral_write_begin(ENSPIRAL_WRITE_VOTES);
 *		... SPI or table_tuple_insert() writes that fire the guard ...
 *		enspiral_write_end(ENSPIRAL_WRITE_VOTES);
 *
 * and the guard asks enspiral_writing(ENSPIRAL_WRITE_VOTES).
 *
 * The open writes are a stack in backend memory, each entry tagged with
 * the subtransaction that opened it.  An error between begin and end needs
 * no PG_TRY: when the (sub)transaction that opened a write aborts, the
 * transaction callbacks below close it, so a write can never stay open
 * after the statement that opened it failed (a PL/pgSQL EXCEPTION block
 * that catches the error finds the guard closed again).  end() closes the
 * innermost open write of its kind together with anything opened inside
 * it, so a PG_FINALLY that calls it is harmless too.
 *
 * Nothing here is visible to SQL: a session cannot open a write except by
 * calling the API function that does.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"

#include "enspiral.h"

/* Deepest nesting of API writes (vote() inside a trigger inside vote() ...) */
#define MAX_OPEN_WRITES 32

/* One open write: its kind and the subtransaction that opened it */
typedef struct OpenWrite
{
	EnspiralWrite what;
	SubTransactionId subid;
} OpenWrite;

static OpenWrite open_writes[MAX_OPEN_WRITES];
static int	nopen = 0;

/* Open a write of kind what: guards of that kind let writes through */
void
enspiral_write_begin(EnspiralWrite what)
{
	if (nopen >= MAX_OPEN_WRITES)
		ereport(ERROR,
				(errcode(ERRCODE_STATEMENT_TOO_COMPLEX),
				 errmsg("API writes are nested too deeply"),
				 errdetail("At most %d API writes can be open at once.",
						   MAX_OPEN_WRITES)));
	open_writes[nopen].what = what;
	open_writes[nopen].subid = GetCurrentSubTransactionId();
	nopen++;
}

/* Close the innermost open write of kind what and anything opened inside it */
void
enspiral_write_end(EnspiralWrite what)
{
	for (int i = nopen - 1; i >= 0; i--)
		if (open_writes[i].what == what)
		{
			nopen = i;
			return;
		}
}

/* True while a write of kind what is open */
bool
enspiral_writing(EnspiralWrite what)
{
	for (int i = nopen - 1; i >= 0; i--)
		if (open_writes[i].what == what)
			return true;
	return false;
}

/* End of the transaction: nothing stays open */
static void
write_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			Assert(nopen == 0 || event == XACT_EVENT_ABORT ||
				   event == XACT_EVENT_PARALLEL_ABORT);
			nopen = 0;
			break;
		default:
			break;
	}
}

/* A subtransaction ends: an abort closes what it opened, a commit hands it up */
static void
write_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		while (nopen > 0 && open_writes[nopen - 1].subid == mySubid)
			nopen--;
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		for (int i = 0; i < nopen; i++)
			if (open_writes[i].subid == mySubid)
				open_writes[i].subid = parentSubid;
	}
}

/* Register the transaction callbacks; called by _PG_init */
void
enspiral_write_init(void)
{
	RegisterXactCallback(write_xact_callback, NULL);
	RegisterSubXactCallback(write_subxact_callback, NULL);
}
