# dep-cmocka.mk — cmocka for the unit tests of the host targets.
# native: Debian's libcmocka-dev (same 1.1.5 as the pinned source).
# armhf: the pinned Debian source (versions.mk), src/cmocka.c compiled with
# toolchain/config/cmocka/config.h into $(DEPS)/cmocka/libcmocka.a.
# bare metal: none (unit tests run on the host board only).
# Exports CMOCKA_CPPFLAGS, CMOCKA_LIBS, CMOCKA_LIB_FILES. Included by deps.mk.

CMOCKA_LIB_FILES :=
ifeq ($(TARGET),native)
CMOCKA_CPPFLAGS :=
CMOCKA_LIBS := -lcmocka
else ifeq ($(TARGET),armhf)
CMOCKA_DIR := $(DEPS)/cmocka
CMOCKA_LIB_FILES := $(CMOCKA_DIR)/libcmocka.a
CMOCKA_CPPFLAGS := -isystem $(CMOCKA_SRC)/include
CMOCKA_LIBS := $(CMOCKA_LIB_FILES)

$(CMOCKA_SRC)/.danegate-fetched: toolchain/versions.mk
	bash toolchain/fetch.sh $(CMOCKA_DEB) $(CMOCKA_SRC)
	@touch $@
$(CMOCKA_SRC)/src/cmocka.c: | $(CMOCKA_SRC)/.danegate-fetched ;

$(CMOCKA_DIR)/obj/cmocka.o: $(CMOCKA_SRC)/src/cmocka.c toolchain/config/cmocka/config.h \
		| $(CMOCKA_SRC)/.danegate-fetched
	@mkdir -p $(@D)
	$(CC) -DHAVE_CONFIG_H -Itoolchain/config/cmocka -I$(CMOCKA_SRC)/include \
		-std=gnu99 $(TARGET_CFLAGS) -Wall -c $< -o $@
$(CMOCKA_LIB_FILES): $(CMOCKA_DIR)/obj/cmocka.o
	@rm -f $@
	$(AR) rcs $@ $^
else
CMOCKA_CPPFLAGS :=
CMOCKA_LIBS :=
endif
