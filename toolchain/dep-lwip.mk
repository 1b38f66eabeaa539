# dep-lwip.mk — lwIP 2.2.1 (raw API, NO_SYS) from the pinned Debian source
# into $(BUILD)/lwip/liblwip.a, configured by $(LWIP_OPTS_DIR)/lwipopts.h.
# Exports LWIP_LIB, LWIP_CPPFLAGS; adds them to DEPS_CPPFLAGS / DEPS_LIBS and
# to `deps` when lwip is in $(BOARD_DEPS). Included by toolchain/deps.mk.

ifneq ($(filter lwip,$(BOARD_DEPS)),)

ifeq ($(LWIP_OPTS_DIR),)
$(error lwip is in BOARD_DEPS but LWIP_OPTS_DIR is not set by board/$(BOARD)/board.mk)
endif

LWIP_SRC ?= build/src/lwip-2.2.1+dfsg1
LWIP_DEB ?= lwip=2.2.1+dfsg1-1+deb13u1
LWIP_DIR := $(BUILD)/lwip
LWIP_LIB := $(LWIP_DIR)/liblwip.a

# What the board uses: core, IPv4 (DHCP; ACD compiles to nothing unless
# enabled), IPv6 (ND, SLAAC, MLD, fragmentation), Ethernet. No apps, no
# netconn/sockets API, no PPP; autoip.c and dhcp6.c are left out.
LWIP_CORE := init def dns inet_chksum ip mem memp netif pbuf raw stats sys tcp tcp_in tcp_out \
	timeouts udp
LWIP_CORE4 := acd dhcp etharp icmp ip4_frag ip4 ip4_addr igmp
LWIP_CORE6 := ethip6 icmp6 inet6 ip6 ip6_addr ip6_frag mld6 nd6
LWIP_C := $(LWIP_CORE:%=core/%.c) $(LWIP_CORE4:%=core/ipv4/%.c) $(LWIP_CORE6:%=core/ipv6/%.c) \
	netif/ethernet.c

LWIP_CPPFLAGS := -I$(LWIP_SRC)/src/include -I$(LWIP_OPTS_DIR)
# Third-party code: the project's -Werror set is not applied to it, but it
# is built with the target's ABI flags so it links with everything else.
LWIP_CFLAGS := -std=gnu11 $(TARGET_CFLAGS) -ffunction-sections -fdata-sections \
	-Wall -Wno-address -MMD -MP

LWIP_OBJS := $(LWIP_C:%.c=$(LWIP_DIR)/obj/%.o)

DEPS_CPPFLAGS += $(LWIP_CPPFLAGS)
ifeq ($(filter $(LWIP_LIB),$(DEPS_LIBS)),)
DEPS_LIBS += $(LWIP_LIB)
endif

deps: $(LWIP_LIB)

# fetch.sh is idempotent (stamp file); a private stamp here keeps this rule
# from clashing with deps.mk's own fetch rules.
$(LWIP_DIR)/.src-ok:
	bash toolchain/fetch.sh $(LWIP_DEB) $(LWIP_SRC)
	@mkdir -p $(@D)
	@touch $@

# On a fresh tree the sources appear with the fetch.
$(addprefix $(LWIP_SRC)/src/,$(LWIP_C)): | $(LWIP_DIR)/.src-ok ;

$(LWIP_DIR)/obj/%.o: $(LWIP_SRC)/src/%.c $(LWIP_OPTS_DIR)/lwipopts.h | $(LWIP_DIR)/.src-ok
	@mkdir -p $(@D)
	$(CC) $(LWIP_CPPFLAGS) $(LWIP_CFLAGS) -c $< -o $@

$(LWIP_LIB): $(LWIP_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

-include $(LWIP_OBJS:.o=.d)

endif
