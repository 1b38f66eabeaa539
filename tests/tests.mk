# tests/: unit tests (cmocka, host board, ASan + UBSan; plain under
# qemu-arm for TARGET=armhf), QEMU board tests, end-to-end tests.
# Each tests/unit/test_*.c is one cmocka program linked against the
# firmware library, the host board library (without its main) and the deps.

UNIT_TESTS := $(sort $(basename $(notdir $(wildcard tests/unit/test_*.c))))
ifeq ($(TARGET),native)
TEST_BUILD := build/test
TEST_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
TEST_BUILD := build/test-$(TARGET)
TEST_SAN :=
endif
TEST_CFLAGS = $(CFLAGS) $(TEST_SAN) -g -Itests/unit $(CMOCKA_CPPFLAGS)
TEST_SUPPORT := $(sort $(wildcard tests/unit/support/*.c))
TEST_LIB_OBJS := $(FW_SRCS:%.c=$(TEST_BUILD)/obj/%.o) $(BOARD_SRCS:%.c=$(TEST_BUILD)/obj/%.o) \
	$(TEST_SUPPORT:%.c=$(TEST_BUILD)/obj/%.o)

TEST_FLAGS_STAMP := $(call flags_stamp,$(TEST_BUILD)/flags,$(CC) $(CPPFLAGS) $(TEST_CFLAGS))
$(TEST_BUILD)/obj/%.o: %.c $(TEST_FLAGS_STAMP) | deps
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(TEST_CFLAGS) -c $< -o $@
$(TEST_BUILD)/libtest.a: $(TEST_LIB_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^
$(TEST_BUILD)/%: $(TEST_BUILD)/obj/tests/unit/%.o $(TEST_BUILD)/libtest.a | deps
	$(CC) $(TEST_SAN) -o $@ $< $(TEST_BUILD)/libtest.a $(DEPS_LIBS) $(CMOCKA_LIBS) $(TARGET_LDFLAGS) $(BOARD_HOST_LIBS)

UNIT_BINS := $(UNIT_TESTS:%=$(TEST_BUILD)/%)
.PHONY: unit-build unit-run
unit-build: $(UNIT_BINS)
# Runs every unit test; tests/run-unit.sh prints one summary line.
unit-run: unit-build
	DG_LABEL=$(TARGET) bash tests/run-unit.sh "$(RUNNER)" $(UNIT_BINS)

# Test objects are not throwaway intermediates: keep them, or concurrent
# builds lose each other's files.
.SECONDARY:

-include $(TEST_LIB_OBJS:.o=.d) $(wildcard $(TEST_BUILD)/obj/tests/unit/*.d)

# The whole suite: machine set-up (idempotent), then every layer.
test:
	bash tests/run-all.sh
