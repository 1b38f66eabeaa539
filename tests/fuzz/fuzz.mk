# tests/fuzz/fuzz.mk — libFuzzer targets (clang, ASan + UBSan) for every
# parser that reads untrusted bytes. Included by the top Makefile; exports
# fuzz-build, fuzz-smoke (CI: FUZZ_SECONDS=20 per target + seed replay) and
# fuzz-long (FUZZ_SECONDS=600). Native only: the deps come from
# build/deps/native (gcc, uninstrumented, which libFuzzer tolerates).
#
# Each target is tests/fuzz/fuzz_<name>.c plus the sources in FUZZ_SRCS_<name>,
# compiled into build/fuzz/obj/ with -fsanitize=fuzzer-no-link,address,undefined.
# Seeds: tests/fuzz/seeds/<name>/ (committed; `make fuzz-seeds` rebuilds
# the generated ones with tests/fuzz/gen/). Top Makefile, after tests.mk:
#   include tests/fuzz/fuzz.mk

FUZZ_CC ?= clang
FUZZ_BUILD := build/fuzz
FUZZ_SECONDS ?= 20
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -g -O1 $(FUZZ_SAN) -Wall -Wextra -Wno-unused-parameter \
	-ffunction-sections -fdata-sections -MMD -MP
FUZZ_CPPFLAGS = -Ifirmware -Iboard/host -Itests/unit -Itests/fuzz $(DEPS_CPPFLAGS)

# The targets. Future parsers get a fuzz_<name>.c, their name here and
# FUZZ_SRCS_/FUZZ_MAXLEN_ lines below: nothing else changes. Waiting for
# their code (see README.md):
#   (none left: see README.md)
FUZZ_TARGETS := smtp_server smtp_client smtp_reply dns_answer dns_resolver dane tlsa queue settings addr policy mx dsn retry
FUZZ_TARGETS += http
FUZZ_TARGETS += config console
FUZZ_TARGETS += tls_import

FUZZ_COMMON := tests/fuzz/fuzz_platform.c
# Targets with a seed generator tests/fuzz/gen/<target>_seedgen.c.
FUZZ_GENS := dns_answer queue settings mx
FUZZ_SRCS_smtp_server := firmware/smtp/smtp_server.c firmware/smtp/smtp_addr.c firmware/port_common.c
FUZZ_SRCS_smtp_reply := firmware/smtp/smtp_reply.c
FUZZ_SRCS_smtp_client := firmware/smtp/smtp_client.c firmware/smtp/smtp_reply.c firmware/smtp/smtp_addr.c \
	firmware/port_common.c
FUZZ_SRCS_dns_answer := firmware/dns/dns_msg.c
FUZZ_SRCS_dns_resolver := firmware/dns/dns_resolver.c firmware/dns/dns_msg.c firmware/dns/dns_cache.c \
	firmware/log/log.c firmware/port_common.c
FUZZ_SRCS_dane := firmware/dane/dane.c firmware/dane/dane_verify.c
FUZZ_SRCS_tlsa := firmware/dane/dane.c firmware/dane/dane_verify.c
FUZZ_SRCS_queue := firmware/queue/queue.c firmware/util/crc32c.c board/host/flashsim.c
FUZZ_SRCS_settings := firmware/config/settings.c firmware/config/store.c firmware/util/crc32c.c \
	board/host/flashsim.c
FUZZ_SRCS_addr := firmware/smtp/smtp_addr.c firmware/port_common.c
FUZZ_SRCS_policy := firmware/relay/policy.c firmware/port_common.c
FUZZ_SRCS_retry := firmware/relay/retry.c
FUZZ_SRCS_http := firmware/web/http.c firmware/util/hex.c
FUZZ_SRCS_dsn := firmware/relay/dsn.c firmware/queue/queue.c firmware/util/crc32c.c board/host/flashsim.c
FUZZ_SRCS_mx := firmware/relay/mx.c firmware/relay/policy.c firmware/dns/dns_msg.c firmware/dane/dane.c \
	firmware/dane/dane_verify.c firmware/port_common.c
# config text and console lines: config.c reaches the relay's own
# parsers (policy, retry, resolver list); fuzz_port_stubs.c answers the
# rest of port.h (no network, fake clock, deterministic random).
FUZZ_CONFIG_SRCS := firmware/config/config.c firmware/config/settings.c firmware/config/store.c \
	firmware/util/crc32c.c board/host/flashsim.c firmware/relay/policy.c firmware/relay/retry.c \
	firmware/dns/dns_resolver.c firmware/dns/dns_msg.c firmware/dns/dns_cache.c firmware/log/log.c \
	firmware/port_common.c tests/fuzz/fuzz_port_stubs.c
FUZZ_SRCS_config := $(FUZZ_CONFIG_SRCS)
FUZZ_SRCS_console := $(FUZZ_CONFIG_SRCS) firmware/console/console.c firmware/queue/queue.c \
	firmware/tls/tls.c firmware/tls/tls_import.c firmware/tls/tls_live.c firmware/relay/rollover.c \
	firmware/relay/trust.c
FUZZ_SRCS_tls_import := firmware/tls/tls.c firmware/tls/tls_import.c firmware/tls/tls_live.c \
	tests/fuzz/fuzz_port_stubs.c firmware/port_common.c firmware/log/log.c
# Largest input per target (-max_len).
FUZZ_MAXLEN_smtp_server := 8192
FUZZ_MAXLEN_smtp_reply := 4096
FUZZ_MAXLEN_smtp_client := 8192
FUZZ_MAXLEN_dns_answer := 4096
FUZZ_MAXLEN_dns_resolver := 8192
FUZZ_MAXLEN_dane := 8192
FUZZ_MAXLEN_tlsa := 4096
FUZZ_MAXLEN_queue := 24578
FUZZ_MAXLEN_settings := 24581
FUZZ_MAXLEN_addr := 1024
FUZZ_MAXLEN_policy := 2048
FUZZ_MAXLEN_retry := 512
FUZZ_MAXLEN_dsn := 9000
FUZZ_MAXLEN_mx := 8192
FUZZ_MAXLEN_http := 8192
FUZZ_MAXLEN_config := 8193
FUZZ_MAXLEN_console := 4096
FUZZ_MAXLEN_tls_import := 6200

FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_ALL_SRCS := $(sort $(FUZZ_COMMON) $(foreach t,$(FUZZ_TARGETS),tests/fuzz/fuzz_$(t).c $(FUZZ_SRCS_$(t))) \
	$(FUZZ_GENS:%=tests/fuzz/gen/%_seedgen.c))

$(FUZZ_BUILD)/obj/%.o: %.c | deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) $(if $(filter tests/fuzz/%,$<),-Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes) \
		-fsanitize=fuzzer-no-link -c $< -o $@

fuzz_objs = $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,tests/fuzz/fuzz_$(1).c $(FUZZ_COMMON) $(FUZZ_SRCS_$(1)))
define fuzz_link
$(FUZZ_BUILD)/fuzz_$(1): $(call fuzz_objs,$(1)) $(DEPS_LIB_FILES) | deps
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $$@ $(call fuzz_objs,$(1)) $(DEPS_LIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_link,$(t))))

# Seed generators: tests/fuzz/gen/<target>_seedgen.c, linked with the
# target's sources (real queue, settings and DNS wire code), write the
# seeds that are images or binary messages. Run by `make fuzz-seeds`.
define fuzz_gen
$(FUZZ_BUILD)/gen_$(1): $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,tests/fuzz/gen/$(1)_seedgen.c $(FUZZ_COMMON) $(FUZZ_SRCS_$(1))) $(DEPS_LIB_FILES) | deps
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -o $$@ $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,tests/fuzz/gen/$(1)_seedgen.c $(FUZZ_COMMON) $(FUZZ_SRCS_$(1))) $(DEPS_LIBS)
endef
$(foreach t,$(FUZZ_GENS),$(eval $(call fuzz_gen,$(t))))

.PHONY: fuzz-build fuzz-smoke fuzz-long fuzz-seeds
ifneq ($(TARGET),native)
fuzz-build fuzz-smoke fuzz-long fuzz-seeds:
	@echo "fuzz targets are native only (TARGET=$(TARGET)): run them with TARGET=native" >&2; false
else
fuzz-build: $(FUZZ_BINS)
# Regenerates the committed seeds that come from programs (queue and
# settings flash images, DANE chains); run after a format change, commit.
fuzz-seeds: $(FUZZ_GENS:%=$(FUZZ_BUILD)/gen_%)
	@set -e; for t in $(FUZZ_GENS); do mkdir -p tests/fuzz/seeds/$$t; \
		$(FUZZ_BUILD)/gen_$$t tests/fuzz/seeds/$$t; done
	python3 tests/fuzz/gen/dane_seeds.py tests/fuzz/seeds/dane tests/fuzz/seeds/tlsa

# Runs every target for FUZZ_SECONDS after replaying its seeds; one line
# per target and "fuzz: N passed, M failed"; non-zero exit on a crash.
fuzz-smoke: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run-fuzz.sh $(foreach t,$(FUZZ_TARGETS),$(t):$(FUZZ_MAXLEN_$(t)))
fuzz-long: fuzz-build
	FUZZ_SECONDS=$(if $(filter command line,$(origin FUZZ_SECONDS)),$(FUZZ_SECONDS),600) \
		bash tests/fuzz/run-fuzz.sh $(foreach t,$(FUZZ_TARGETS),$(t):$(FUZZ_MAXLEN_$(t)))

endif

-include $(FUZZ_ALL_SRCS:%.c=$(FUZZ_BUILD)/obj/%.d)
