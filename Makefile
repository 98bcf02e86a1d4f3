# enspiral: PGXS build.  See README.md for the two commands that build,
# install and test it on a throwaway cluster.

EXTENSION   = enspiral
EXTVERSION  = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big  = enspiral
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

# The install script of the current version is built from the ordered parts
# in sql/install/ (one part per concern); each update script
# enspiral--A--B.sql is built the same way from the parts in
# sql/update/A--B/.  Install scripts of released versions are committed as
# they shipped (sql/enspiral--A.sql).
UPDATE_DIRS    = $(sort $(notdir $(wildcard sql/update/*--*)))
UPDATE_SCRIPTS = $(patsubst %,sql/$(EXTENSION)--%.sql,$(UPDATE_DIRS))
DATA_built  = sql/$(EXTENSION)--$(EXTVERSION).sql $(UPDATE_SCRIPTS)
DATA        = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*.sql))

PG_CPPFLAGS = -I$(srcdir)/src -DENSPIRAL_VERSION='"$(EXTVERSION)"'
PG_CFLAGS   = -Wall -Wextra -Werror -Wno-unused-parameter \
              -Wno-missing-field-initializers -Wno-sign-compare
SHLIB_LINK  = -lm

# ENSPIRAL_ASSERT=1 (make or tools/test.sh) compiles enspiral's Assert()s
# in, also against a server built without assertions (Debian's): only the
# extension's own code checks them (ExceptionalCondition is always in the
# server).  Build from clean when switching (make clean).
ifeq ($(ENSPIRAL_ASSERT),1)
PG_CPPFLAGS += -DUSE_ASSERT_CHECKING
endif
# the objects are rebuilt when the assertion mode changes
ASSERT_STAMP = build/.assert-$(if $(filter 1,$(ENSPIRAL_ASSERT)),on,off)

EXTRA_CLEAN = build

# Bitcode for JIT inlining is not needed and would require clang.
override with_llvm = no

PG_CONFIG ?= $(shell test -x /usr/lib/postgresql/15/bin/pg_config && \
               echo /usr/lib/postgresql/15/bin/pg_config || echo pg_config)
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: $(sort $(wildcard sql/install/*.sql)) $(EXTENSION).control
	cat $(sort $(wildcard sql/install/*.sql)) > $@

# update_rule DIR: the update script DIR is the concatenation of its parts
define update_rule
sql/$(EXTENSION)--$(1).sql: $$(sort $$(wildcard sql/update/$(1)/*.sql))
	cat $$^ > $$@
endef
$(foreach d,$(UPDATE_DIRS),$(eval $(call update_rule,$(d))))

$(OBJS): $(wildcard src/*.h) $(EXTENSION).control $(ASSERT_STAMP)

$(ASSERT_STAMP):
	mkdir -p build && rm -f build/.assert-* && touch $@

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
