# VidZo build. Flavors live in build/<flavor>/ so flags never mix (debug, asan, release).
# `make run` and `make test` install what a fresh Debian 12 machine lacks first.
FLAVOR ?= release
B      := build/$(FLAVOR)
CC     ?= cc

PKGS    := libuv1-dev libhttp-parser-dev libwslay-dev libjansson-dev libsodium-dev \
           libssl-dev libsqlite3-dev libpq-dev libhiredis-dev libcurl4-openssl-dev zlib1g-dev \
           libvips-dev pkg-config curl ca-certificates nginx libnginx-mod-rtmp ffmpeg
TESTPKGS := postgresql postgresql-client redis-server clang libclang-rt-14-dev haproxy procps sqlite3 iproute2 \
            libvips-tools

WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers -Wstrict-prototypes
CFLAGS_COMMON := -std=c11 -D_GNU_SOURCE -pthread $(WARN) -Isrc -I$(B)/gen -MMD -MP
# libvips (images, media/image.c only) brings glib: its headers as system headers, so our
# warning flags do not apply to them.
VIPS_CFLAGS := $(shell pkg-config --cflags vips 2>/dev/null | sed 's/-I/-isystem /g')
VIPS_LIBS   := $(shell pkg-config --libs vips 2>/dev/null || echo -lvips -lgobject-2.0 -lglib-2.0)
LIBS    := -luv -lhttp_parser -lwslay -ljansson -lsodium -lssl -lcrypto -lsqlite3 -lpq \
           -lhiredis -lcurl -lz $(VIPS_LIBS) -lpthread -lm

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

.PHONY: all run test deps test-deps clean lint fuzz bench unit contract node
all: $(B)/vidzo

# redoc.o is named here, not archived: contract.c refers to it weakly, which would not
# pull it out of an archive (the unit tests and fuzzers go without: /docs answers 503).
$(B)/vidzo: $(B)/src/main.o $(B)/gen/redoc.o $(B)/libvidzo.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/libvidzo.a: $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/unit: $(UNIT_OBJS) $(B)/libvidzo.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/src/services/media/image.o: CFLAGS += $(VIPS_CFLAGS)
$(B)/tests/unit/services/media/%.o: CFLAGS += $(VIPS_CFLAGS)

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

# The API reference page at /docs is Redoc's standalone bundle, linked into the binary.
# Fetched once with npm (only the package's tarball, no dependencies) and checked
# against the pinned digest; bump both together.
REDOC_VERSION := 2.5.2
REDOC_SHA256  := 6beb5aea23b71d09122ee35de8f326e38aec050e774f3bfba1f34e5c36608986
REDOC_JS      := build/redoc-$(REDOC_VERSION)/redoc.standalone.js
$(REDOC_JS):
	@command -v npm >/dev/null || $(MAKE) -s node
	@mkdir -p $(dir $@)
	cd $(dir $@) && npm pack --silent redoc@$(REDOC_VERSION) >/dev/null && \
	  tar -xzf redoc-$(REDOC_VERSION).tgz package/bundles/redoc.standalone.js package/bundles/redoc.standalone.js.LICENSE.txt && \
	  mv package/bundles/* . && rm -rf package redoc-$(REDOC_VERSION).tgz
	@echo "$(REDOC_SHA256)  $@" | sha256sum -c --quiet || { rm -f $@; echo "redoc bundle digest mismatch"; exit 1; }

$(B)/gen/redoc.o: $(REDOC_JS)
	@mkdir -p $(dir $@)
	printf '\t.section .rodata\n\t.global vz_redoc_js\n\t.global vz_redoc_js_end\nvz_redoc_js:\n\t.incbin "%s"\nvz_redoc_js_end:\n\t.byte 0\n\t.section .note.GNU-stack,"",@progbits\n' $< > $(B)/gen/redoc.S
	$(CC) -c -o $@ $(B)/gen/redoc.S

node:
	@command -v node >/dev/null && command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }

unit: $(B)/unit

# The contract documents are the binary's output (docs/internals/contract.md); the test
# run fails when they differ. This writes them again and shows what the generator says.
contract: $(B)/vidzo
	$(B)/vidzo openapi --data-dir /tmp/vidzo-contract > docs/openapi.yaml || true
	$(B)/vidzo asyncapi --data-dir /tmp/vidzo-contract > docs/asyncapi.yaml || true

deps:
	@missing=""; for p in $(PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

test-deps: deps
	@missing=""; for p in $(TESTPKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	@$(MAKE) -s node
	@cd tests && [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error

run: deps
	$(MAKE) FLAVOR=release all
	./build/release/vidzo migrate
	./build/release/vidzo admin create --email admin@vidzo.local --password 'VidZo-admin-2026' --if-missing
	VIDZO_TOTP_OPTIONAL=1 ./build/release/vidzo serve --rtmp

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
