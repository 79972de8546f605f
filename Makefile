# VidZo build. Flavors live in build/<flavor>/ so flags never mix (debug, asan, release).
# `make run` and `make test` install what a fresh Debian 12 machine lacks first.
FLAVOR ?= release
B      := build/$(FLAVOR)
CC     ?= cc

PKGS    := libuv1-dev libhttp-parser-dev libwslay-dev libjansson-dev libsodium-dev \
           libssl-dev libsqlite3-dev libpq-dev libhiredis-dev libcurl4-openssl-dev zlib1g-dev \
           pkg-config curl ca-certificates
TESTPKGS := postgresql postgresql-client redis-server clang libclang-rt-14-dev haproxy procps sqlite3 iproute2

WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers -Wstrict-prototypes
CFLAGS_COMMON := -std=c11 -D_GNU_SOURCE -pthread $(WARN) -Isrc -I$(B)/gen -MMD -MP
LIBS    := -luv -lhttp_parser -lwslay -ljansson -lsodium -lssl -lcrypto -lsqlite3 -lpq \
           -lhiredis -lcurl -lz -lpthread -lm

ifeq ($(FLAVOR),release)
  CFLAGS_FLAVOR := -O2 -g
else ifeq ($(FLAVOR),debug)
  CFLAGS_FLAVOR := -O0 -g3 -DVZ_DEBUG
else ifeq ($(FLAVOR),asan)
  CC := clang
  CFLAGS_FLAVOR := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                   -fno-sanitize-recover=undefined -DVZ_DEBUG
  LDFLAGS_FLAVOR := -fsanitize=address,undefined
endif

CFLAGS  += $(CFLAGS_COMMON) $(CFLAGS_FLAVOR)
LDFLAGS += $(LDFLAGS_FLAVOR)

SRCS      := $(shell find src -name '*.c' ! -name main.c | sort)
OBJS      := $(SRCS:%.c=$(B)/%.o) $(B)/gen/migrations.o $(B)/gen/schemas.o
UNIT_SRCS := $(shell find tests/unit -name '*.c' | sort)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(B)/%.o)
MIGRATIONS := $(wildcard src/db/migrations/*.sql src/services/*/migrations/*.sql)
SCHEMAS   := src/core/schemas.json $(sort $(wildcard src/services/*/schemas.json))

.PHONY: all run test deps test-deps clean lint fuzz bench unit
all: $(B)/vidzo

$(B)/vidzo: $(B)/src/main.o $(B)/libvidzo.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/libvidzo.a: $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/unit: $(UNIT_OBJS) $(B)/libvidzo.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# Migrations are compiled into the binary so `vidzo migrate` needs no files beside it.
$(B)/gen/migrations.c: $(MIGRATIONS) scripts/embed-migrations.sh
	@mkdir -p $(dir $@)
	sh scripts/embed-migrations.sh $(MIGRATIONS) > $@

$(B)/gen/migrations.o: $(B)/gen/migrations.c
	$(CC) $(CFLAGS) -c -o $@ $<

# The contract's component schemas, compiled in the same way (core/contract.h).
$(B)/gen/schemas.c: $(SCHEMAS) scripts/embed-schemas.sh
	@mkdir -p $(dir $@)
	sh scripts/embed-schemas.sh $(SCHEMAS) > $@

$(B)/gen/schemas.o: $(B)/gen/schemas.c
	$(CC) $(CFLAGS) -c -o $@ $<

unit: $(B)/unit

deps:
	@missing=""; for p in $(PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

test-deps: deps
	@missing=""; for p in $(TESTPKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	@command -v node >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	@cd tests && [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error

run: deps
	$(MAKE) FLAVOR=release all
	./build/release/vidzo migrate
	./build/release/vidzo admin create --email admin@vidzo.local --password 'VidZo-admin-2026' --if-missing
	VIDZO_TOTP_OPTIONAL=1 ./build/release/vidzo serve

test: test-deps
	bash tests/run.sh

lint:
	@! grep -rnE '\b(strcpy|sprintf|strcat|atoi|gets)\s*\(' src tests/unit || (echo "banned call"; exit 1)

fuzz:
	bash tests/fuzz/build.sh

bench:
	bash bench/run.sh

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
