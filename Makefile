# enspiral: PGXS build.  See README.md for the two commands that build,
# install and test it on a throwaway cluster.

EXTENSION   = enspiral
EXTVERSION  = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big  = enspiral
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

# The install script of the current version is built from the ordered parts
# in sql/install/ (one part per concern).  Scripts of earlier versions and
# update scripts (enspiral--A--B.sql) are committed as they are in sql/.
DATA_built  = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA        = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*.sql))

PG_CPPFLAGS = -I$(srcdir)/src -DENSPIRAL_VERSION='"$(EXTVERSION)"'
PG_CFLAGS   = -Wall -Wextra -Werror -Wno-unused-parameter \
              -Wno-missing-field-initializers -Wno-sign-compare
SHLIB_LINK  = -lm

EXTRA_CLEAN = build

# Bitcode for JIT inlining is not needed and would require clang.
override with_llvm = no

PG_CONFIG ?= $(shell test -x /usr/lib/postgresql/15/bin/pg_config && \
               echo /usr/lib/postgresql/15/bin/pg_config || echo pg_config)
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: $(sort $(wildcard sql/install/*.sql)) $(EXTENSION).control
	cat $(sort $(wildcard sql/install/*.sql)) > $@

$(OBJS): $(wildcard src/*.h)

.PHONY: test demo cppcheck
test:
	bash tools/test.sh
demo:
	bash tools/demo.sh
cppcheck:
	cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem --suppress=missingInclude \
	  --library=tools/cppcheck.cfg --std=c99 -DENSPIRAL_VERSION='"$(EXTVERSION)"' \
	  -I src src

# proof harness (docs/proof.md)
.PHONY: bench fuzz crash backup upgrade sanitize
bench:
	bash bench/run.sh
fuzz:
	bash tools/fuzz.sh
crash:
	bash tools/crash.sh
backup:
	bash tools/backup.sh
upgrade:
	bash tools/upgrade.sh
sanitize:
	bash tools/sanitize.sh
