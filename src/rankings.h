/*-------------------------------------------------------------------------
 *
 * rankings.h
 *	  Rankings kept by the ranked-ballot aggregates: the compact state of
 *	  decisions_irv.c (dense option indexes, flat entries), shared by instant runoff
 *	  (decisions_irv.c), single transferable vote (decisions_stv.c) and the Condorcet methods
 *	  (decisions_condorcet.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENSPIRAL_RANKINGS_H
#define ENSPIRAL_RANKINGS_H

#include "postgres.h"

#include "utils/array.h"
#include "utils/jsonb.h"

/* Transition state: ballots as dense option indexes */
typedef struct IrvState
{
	MemoryContext ctx;
	/* option ids: ids[i] is the id of dense index i */
	int64	   *ids;
	int32		nopts;
	int32		optcap;
	/* hash table id -> dense index + 1 (0 = empty slot) */
	int64	   *hkeys;
	int32	   *hvals;
	uint32		hsize;			/* power of two */
	/* ballots: entries[offsets[b] .. offsets[b + 1]) */
	int32	   *entries;
	Size		nentries;
	Size		entcap;
	Size	   *offsets;
	Size		nballots;
	Size		ballcap;
	/* weighted instant runoff: weights[b] of ballot b and their sum (NULL: 1 each) */
	int64	   *weights;
	int64		total_weight;
} IrvState;

/* decisions_irv.c */
extern IrvState *irv_new(MemoryContext ctx);
extern int32 irv_index(IrvState *st, int64 id);
extern void irv_check_duplicates(const int64 *v, int n, const char *aggname);
extern void irv_append(IrvState *st, const int64 *v, int n);

/* decisions_rankings.c: helpers of the ranked aggregates */
extern ArrayType *ranking_arg(FunctionCallInfo fcinfo, int argno, const char *aggname);
extern bool ranking_weight_arg(FunctionCallInfo fcinfo, int argno, const char *aggname,
							   int64 *w);
extern void ranking_add_weight(int64 *total, int64 w, const char *aggname);
extern ArrayType *ranking_labels_arg(FunctionCallInfo fcinfo, int argno, MemoryContext ctx,
									 ArrayType *prev, const char *aggname);
extern char **ranking_names(const IrvState *st, ArrayType *labels);
extern void ranking_push_key(JsonbParseState **ps, const char *key);
extern void ranking_push_option(JsonbParseState **ps, const IrvState *st,
								char **names, bool labeled, int32 idx, bool elem);
extern void ranking_push_string(JsonbParseState **ps, const char *key, const char *val);
extern void ranking_push_int(JsonbParseState **ps, const char *key, int64 val);
extern void ranking_push_fixed(JsonbParseState **ps, int64 val, int scale);
extern int	ranking_cmp_ids(const IrvState *st, int32 a, int32 b);

#endif							/* ENSPIRAL_RANKINGS_H */
