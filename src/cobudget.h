/*-------------------------------------------------------------------------
 *
 * cobudget.h
 *	  Declarations shared by the co-budgeting files: cobudget_ledger.c (accounts and
 *	  transfers), cobudget_rounds.c (rounds, allocation, close and matching) and
 *	  cobudget_buckets.c (buckets and contributions).
 *
 * Lock order (doc/cobudgeting.md, Concurrency and the lock order): every function that writes takes row locks
 * in this order and never goes back to an earlier rank:
 *	  1. the round row (enspiral.rounds),
 *	  2. bucket rows (enspiral.buckets), ascending bucket_id,
 *	  3. account rows (enspiral.accounts), ascending account_id.
 * All row locks are FOR NO KEY UPDATE or FOR SHARE, so the FOR KEY SHARE
 * locks taken by foreign keys never wait for them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENSPIRAL_COBUDGET_H
#define ENSPIRAL_COBUDGET_H

#include "postgres.h"

#include "storage/itemptr.h"

#include "executor/spi.h"
#include "utils/rel.h"

#include "alloc.h"

/* Kinds of transfers, as stored in enspiral.transfers.kind */
#define XFER_FUND		"fund"
#define XFER_ALLOCATE	"allocate"
#define XFER_CONTRIBUTE "contribute"
#define XFER_REFUND		"refund"
#define XFER_MATCH_FUND "match_fund"
#define XFER_MATCH		"match"
#define XFER_DEALLOCATE "deallocate"

/* One locked account: its id and its balance when locked */
typedef struct LedgerAccount
{
	int64		account_id;
	int64		balance;
} LedgerAccount;

/* cobudget_ledger.c */
extern int64 ledger_insert(int64 group_id, int64 round_id, const char *kind,
						   int64 from_account, int64 to_account, int64 amount,
						   const char *idempotency_key, int64 reverses,
						   bool *inserted);
/* A transfer between two account rows the caller has locked (ledger_insert_applied) */
typedef struct LedgerMove
{
	int64		group_id;
	int64		round_id;
	const char *kind;
	int64		from_account;
	HeapTuple	from_row;		/* the locked version of from_account's row */
	int64		to_account;
	HeapTuple	to_row;			/* the locked version of to_account's row */
	int64		amount;
	int64		from_owner;		/* the owners of both accounts (the member, */
	int64		to_owner;		/* the bucket), handed to the event trigger */
} LedgerMove;

/* actors_events.c: the owners of the accounts of the transfer row being inserted */
extern void hot_event_set_owners(int64 group_id, const int64 *accounts, const int64 *owners);

extern int64 ledger_insert_applied(const LedgerMove *mv);
extern int	ledger_lock_accounts(int64 group_id, int64 *ids, int n,
								 LedgerAccount *out);
extern int64 ledger_find_balance(LedgerAccount *locked, int n, int64 account_id);
extern int	ledger_refund_buckets(int64 group_id, int64 round_id,
								  int64 *bucket_accounts, int n);
extern int64 ledger_add(int64 a, int64 b, const char *what);

/* cobudget_match.c */
extern int	match_compute(int64 group_id, int64 round_id, int64 pool,
						  const char *method, bool has_cap, int64 cap,
						  Datum threshold, bool threshold_null, Datum options,
						  bool options_null, Datum bucket_ids, bool all_funded,
						  int64 mark, EnspiralMatch **rows);
extern void match_record(int64 group_id, int64 round_id, int64 pool,
						 const char *method, Datum cap, bool cap_null,
						 Datum threshold, bool threshold_null, Datum options,
						 bool options_null);

/* cobudget_buckets.c */
extern void bucket_set_state(int64 group_id, int64 bucket_id, int state);

#endif							/* ENSPIRAL_COBUDGET_H */
