# enspiral: PGXS build.  See README.md for the two commands that build,
# install and test it on a throwaway cluster (tools/demo.sh, tools/test.sh),
# and for the usual PGXS way into an existing server:
#
#   make && make install && make installcheck     (PG_CONFIG=... if needed)
#   make dist                                     (the archive for PGXN)

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

# User documentation, installed under $(docdir)/extension/enspiral/ (see
# docmoduledir below): the README and one file per capability in doc/.
DOCS        = README.md CHANGELOG.md LICENSE $(sort $(wildcard doc/*.md))

# make installcheck against a running server (PGHOST/PGPORT/PGUSER as for
# psql; the user must be a superuser): every pg_regress file in test/sql and
# every isolation spec in test/specs.  Expected outputs are in expected/,
# which test/expected links to, so --inputdir=test finds them.
REGRESS        = $(sort $(basename $(notdir $(wildcard test/sql/*.sql))))
REGRESS_OPTS   = --inputdir=test
ISOLATION      = $(sort $(basename $(notdir $(wildcard test/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test

# The SQLSTATE list: src/errcodes.txt is the one source; the C header is
# generated from it (tools/errcodes.sh also writes doc/errors.md's table and
# checks that nothing drifted).
ERRCODES_H  = src/enspiral_errcodes.h

PG_CPPFLAGS = -I$(srcdir)/src -DENSPIRAL_VERSION='"$(EXTVERSION)"'
PG_CFLAGS   = -Wall -Wextra -Werror -Wno-unused-parameter \
              -Wno-missing-field-initializers -Wno-sign-compare
SHLIB_LINK  = -lm

# ENSPIRAL_ASSERT=1 (make or tools/test.sh) compiles enspiral's Assert()s
# in, also against a server built without assertions (Debian's): only the
# extension's own code checks them (ExceptionalCondition is always in the
# server).  Switching modes rebuilds every object.
ifeq ($(ENSPIRAL_ASSERT),1)
PG_CPPFLAGS += -DUSE_ASSERT_CHECKING
endif
# the objects are rebuilt when the assertion mode changes
ASSERT_STAMP = build/.assert-$(if $(filter 1,$(ENSPIRAL_ASSERT)),on,off)

EXTRA_CLEAN = build $(ERRCODES_H) $(EXTENSION)-*.zip

# Bitcode for JIT inlining is not needed and would require clang.
override with_llvm = no

PG_CONFIG ?= $(shell test -x /usr/lib/postgresql/15/bin/pg_config && \
               echo /usr/lib/postgresql/15/bin/pg_config || echo pg_config)
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Documentation goes to its own directory: doc/errors.md and friends must not
# collide with other extensions' files in $(docdir)/extension.
docmoduledir := extension/$(EXTENSION)
uninstall: uninstall-docs
.PHONY: uninstall-docs
uninstall-docs:
	rm -rf '$(DESTDIR)$(docdir)/$(docmoduledir)'

$(ERRCODES_H): src/errcodes.txt tools/errcodes.sh
	bash tools/errcodes.sh header > $@.tmp && mv $@.tmp $@

sql/$(EXTENSION)--$(EXTVERSION).sql: $(sort $(wildcard sql/install/*.sql)) $(EXTENSION).control
	cat $(sort $(wildcard sql/install/*.sql)) > $@

# update_rule DIR: the update script DIR is the concatenation of its parts.
# The update to the current version is assembled by tools/update_parts.pl,
# which expands each `-- @function enspiral.name(params)` line of a part into
# that function as the install script defines it (a part that needs a
# function early names it instead of copying its body), and then gets,
# before its 99_ parts, every function of the install script as CREATE OR
# REPLACE (tools/update_functions.pl), so function bodies and comments
# always end exactly as a fresh install's.  When a version is released, its
# update script is frozen: the generated file replaces the parts of its
# directory (HACKING.md, Releasing).
INSTALL_PARTS = $(sort $(wildcard sql/install/*.sql))
UPDATE_TOOLS  = tools/update_functions.pl tools/update_parts.pl tools/sqlstmt.pm
define update_rule
sql/$(EXTENSION)--$(1).sql: $$(sort $$(wildcard sql/update/$(1)/*.sql)) $(if $(filter %--$(EXTVERSION),$(1)),$$(INSTALL_PARTS) $$(UPDATE_TOOLS))
	$(if $(filter %--$(EXTVERSION),$(1)),\
	{ perl tools/update_parts.pl --install $$(INSTALL_PARTS) --parts $$(filter-out sql/update/$(1)/99_%,$$(sort $$(wildcard sql/update/$(1)/*.sql))) && \
	  perl tools/update_functions.pl $$(INSTALL_PARTS) && \
	  cat $$(filter sql/update/$(1)/99_%,$$(sort $$(wildcard sql/update/$(1)/*.sql))) /dev/null; } > $$@ || { rm -f $$@; exit 1; },\
	cat $$(sort $$(wildcard sql/update/$(1)/*.sql)) > $$@)
endef
$(foreach d,$(UPDATE_DIRS),$(eval $(call update_rule,$(d))))

$(OBJS): $(wildcard src/*.h) $(ERRCODES_H) $(EXTENSION).control $(ASSERT_STAMP)

$(ASSERT_STAMP):
	mkdir -p build && rm -f build/.assert-* && touch $@

# make dist: the release archive PGXN takes, $(EXTENSION)-$(EXTVERSION).zip
# with one top-level directory $(EXTENSION)-$(EXTVERSION)/, made by git
# archive from the committed HEAD (files marked export-ignore in
# .gitattributes are left out).
DISTNAME = $(EXTENSION)-$(EXTVERSION)
.PHONY: dist
dist:
	@test -z "$$(git status --porcelain --untracked-files=no)" || \
	  { echo "make dist: commit your changes first (git archive packs HEAD)" >&2; exit 1; }
	git archive --format=zip --prefix=$(DISTNAME)/ -o $(DISTNAME).zip HEAD
	@echo "wrote $(DISTNAME).zip"

.PHONY: test demo cppcheck
test:
	bash tools/test.sh
demo:
	bash tools/demo.sh
cppcheck: $(ERRCODES_H)
	cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem --suppress=missingInclude \
	  --library=tools/cppcheck.cfg --std=c99 -DENSPIRAL_VERSION='"$(EXTVERSION)"' \
	  -I src src

# proof harness (doc/proof-and-benchmarks.md)
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
