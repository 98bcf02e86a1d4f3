/*-------------------------------------------------------------------------
 *
 * core_citus_prepare.c
 *	  A worker refuses to prepare a transaction that reached other nodes.
 *
 * When a transaction of the coordinator writes on two nodes, Citus commits
 * it with two-phase commit: PREPARE TRANSACTION on each node, then COMMIT
 * PREPARED.  On a node, the coordinator's statements may call enspiral's
 * functions, and a query of such a function on a distributed table can
 * itself reach shards on other nodes (a lookup by an id without its group
 * reads every shard).  The node's backend then coordinates remote
 * transactions of its own, nested in the coordinator's.  Citus 13.2.2 does
 * not finish them when that backend prepares (its transaction callback does
 * nothing about them at XACT_EVENT_PREPARE), and it keeps their placement
 * records, which point into the prepared transaction's freed memory: the
 * next commit in the backend, the COMMIT PREPARED that follows, reads them
 * and the backend crashed with a segmentation fault (found by test
 * citus_notify, one run in five under load).  Whatever the nested
 * transactions wrote would not be part of the two-phase commit either.
 *
 * enspiral's functions keep every query of a group-first call on the
 * group's node (relaccess_group_of() in core_relaccess.c: a group noted
 * instead of a read of every shard).  This file is the guard for anything
 * left: at XACT_EVENT_PRE_PREPARE, when this backend still has remote
 * transactions open (Citus's list InProgressTransactions, read through the
 * dynamic loader: Citus exports it, and has no function that answers this),
 * the PREPARE fails with an error, so the coordinator rolls the whole
 * transaction back instead of a node crashing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "lib/ilist.h"

#include "enspiral.h"

/* Citus's list of this backend's open remote transactions; NULL without Citus */
static dlist_head *
citus_remote_transactions(void)
{
	static dlist_head *list = NULL;
	static bool looked_up = false;

	if (!looked_up)
	{
		list = (dlist_head *) load_external_function("citus", "InProgressTransactions",
													 false, NULL);
		looked_up = true;
	}
	return list;
}

/* Before PREPARE TRANSACTION: refuse when this backend opened remote transactions */
static void
prepare_xact_callback(XactEvent event, void *arg)
{
	dlist_head *remote;

	if (event != XACT_EVENT_PRE_PREPARE || !enspiral_citus_present())
		return;
	remote = citus_remote_transactions();
	if (remote == NULL || dlist_is_empty(remote))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cannot prepare a transaction that reached other nodes from this node"),
			 errdetail("A statement of this transaction ran on this node and read or wrote shards on other nodes; Citus does not finish those transactions when this one is prepared."),
			 errhint("Call the group-first form of the function, which keeps to the group's node, or run the call outside a transaction that writes on several nodes.")));
}

/* Module load: register the PREPARE guard */
void
enspiral_citus_prepare_init(void)
{
	RegisterXactCallback(prepare_xact_callback, NULL);
}
