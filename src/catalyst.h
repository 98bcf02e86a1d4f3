/*-------------------------------------------------------------------------
 *
 * catalyst.h
 *	  Declarations shared by the catalyst rotation files: the calendar of
 *	  terms (catalyst_terms.c), the coverage sweep and the commit-time rule
 *	  check (catalyst_coverage.c) and the rotation planner
 *	  (catalyst_plan.c).  doc/catalysts.md describes the rules.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENSPIRAL_CATALYST_H
#define ENSPIRAL_CATALYST_H

#include "postgres.h"

#include "utils/date.h"
#include "utils/numeric.h"

/* The catalyst settings of one group (enspiral.groups.settings) */
typedef struct CatalystSettings
{
	int32		min_catalysts;
	int32		term_months;
	int32		max_months;
	Numeric		min_days_per_week;
} CatalystSettings;

/*
 * A half-open date interval [lo, hi) with a weight: +1 or -1 for the
 * catalysts it adds to "after" and "before" counts of a sweep.
 */
typedef struct CatalystSpan
{
	DateADT		lo;
	DateADT		hi;
	int32		after;			/* weight in the "after" count */
	int32		before;			/* weight in the "before" count */
} CatalystSpan;

/* One segment of a sweep: [lo, hi) with constant counts */
typedef struct CatalystSegment
{
	DateADT		lo;
	DateADT		hi;
	int32		after;
	int32		before;
} CatalystSegment;

/* catalyst_terms.c: calendar */
extern DateADT catalyst_add_months(DateADT start, int32 months);
extern int32 catalyst_months_begun(DateADT start, DateADT end);
extern char *catalyst_date_str(DateADT d);

/* catalyst_terms.c: settings and the per-group lock; inside SPI */
extern void catalyst_load_settings(int64 group_id, CatalystSettings *s);
extern void catalyst_lock_group(int64 group_id);

/* catalyst_terms.c: this transaction's changes */
extern CatalystSpan *catalyst_undo_spans(int64 group_id, DateADT from,
										 int *nspans);

/* catalyst_coverage.c: sweep and queries; inside SPI */
extern CatalystSegment *catalyst_sweep(CatalystSpan *spans, int nspans,
									   DateADT from, DateADT to,
									   int *nsegments);
extern CatalystSpan *catalyst_load_spans(int64 group_id, DateADT from,
										 DateADT to, int *nspans);
extern void catalyst_check_coverage(int64 group_id);

#endif							/* ENSPIRAL_CATALYST_H */
