# dep-mbedtls.mk — mbedTLS 3.6 from the pinned Debian source plus our
# toolchain/patches/mbedtls/*.patch, compiled directly (no cmake) with
# toolchain/config/mbedtls/danegate_mbedtls_config.h into
# $(DEPS)/mbedtls/lib{mbedtls,mbedx509,mbedcrypto}.a.
# Exports MBEDTLS_CPPFLAGS, MBEDTLS_LIBS, MBEDTLS_LIB_FILES. Included by deps.mk.

MBEDTLS_DIR := $(DEPS)/mbedtls
MBEDTLS_CONFIG := toolchain/config/mbedtls/danegate_mbedtls_config.h
MBEDTLS_CPPFLAGS := -I$(MBEDTLS_SRC)/include -Itoolchain/config/mbedtls \
	'-DMBEDTLS_CONFIG_FILE="danegate_mbedtls_config.h"'

# Only the library files that hold code under our configuration (the
# others compile to nothing). Adding a feature to the config may need its
# file here: a link error naming an mbedtls_ symbol says which.
MBEDTLS_CRYPTO_C := aes asn1parse asn1write base64 bignum bignum_core chacha20 chachapoly \
	cipher cipher_wrap constant_time ctr_drbg ecdh ecdsa ecp ecp_curves entropy \
	entropy_poll error gcm hkdf hmac_drbg md memory_buffer_alloc oid pem pk pk_ecc \
	pk_wrap pkparse pkwrite platform platform_util poly1305 psa_crypto psa_crypto_aead \
	psa_crypto_cipher psa_crypto_client psa_crypto_driver_wrappers_no_static \
	psa_crypto_ecp psa_crypto_hash psa_crypto_mac psa_crypto_random psa_crypto_rsa \
	psa_crypto_slot_management psa_util rsa rsa_alt_helpers sha256 sha512 version
MBEDTLS_X509_C := x509 x509_create x509_crt x509write x509write_crt
MBEDTLS_TLS_C := mps_reader ssl_ciphersuites ssl_client ssl_msg ssl_tls ssl_tls12_client \
	ssl_tls12_server ssl_tls13_client ssl_tls13_generic ssl_tls13_keys ssl_tls13_server

# Third-party code: not our -Werror set, but the target's ABI and
# optimisation flags so it links with everything else.
MBEDTLS_CFLAGS := -std=gnu99 $(TARGET_CFLAGS) -ffunction-sections -fdata-sections -Wall -MMD -MP

mbedtls_objs = $(addprefix $(MBEDTLS_DIR)/obj/,$(addsuffix .o,$(1)))
MBEDTLS_LIB_FILES := $(MBEDTLS_DIR)/libmbedtls.a $(MBEDTLS_DIR)/libmbedx509.a \
	$(MBEDTLS_DIR)/libmbedcrypto.a
# Link order: TLS needs X.509 needs crypto.
MBEDTLS_LIBS := $(MBEDTLS_LIB_FILES)

$(MBEDTLS_SRC)/.danegate-fetched: toolchain/versions.mk
	bash toolchain/fetch.sh $(MBEDTLS_DEB) $(MBEDTLS_SRC)
	@touch $@

# Our fixes to the pinned release, each one explained in its header, applied
# once after the fetch (a fresh fetch drops the stamp with the old tree).
MBEDTLS_PATCHES := $(sort $(wildcard toolchain/patches/mbedtls/*.patch))
$(MBEDTLS_SRC)/.danegate-patched: $(MBEDTLS_SRC)/.danegate-fetched $(MBEDTLS_PATCHES)
	@set -e; for p in $(MBEDTLS_PATCHES); do \
		if patch -d $(MBEDTLS_SRC) -p1 -R --dry-run -s -f <$$p >/dev/null 2>&1; then \
			echo "mbedtls: $$p already applied"; \
		else echo "mbedtls: applying $$p"; patch -d $(MBEDTLS_SRC) -p1 -N -s <$$p; fi; \
	done
	@touch $@

$(addprefix $(MBEDTLS_SRC)/library/,$(addsuffix .c,$(MBEDTLS_CRYPTO_C) $(MBEDTLS_X509_C) \
	$(MBEDTLS_TLS_C))): | $(MBEDTLS_SRC)/.danegate-patched ;

# The patch stamp is a real prerequisite: a new patch (or a new fetch)
# rebuilds every object, also those whose file it touched after make had
# looked at that file's time.
$(MBEDTLS_DIR)/obj/%.o: $(MBEDTLS_SRC)/library/%.c $(MBEDTLS_CONFIG) $(MBEDTLS_SRC)/.danegate-patched
	@mkdir -p $(@D)
	$(CC) $(MBEDTLS_CPPFLAGS) -I$(MBEDTLS_SRC)/library $(MBEDTLS_CFLAGS) -c $< -o $@

$(MBEDTLS_DIR)/libmbedcrypto.a: $(call mbedtls_objs,$(MBEDTLS_CRYPTO_C))
$(MBEDTLS_DIR)/libmbedx509.a: $(call mbedtls_objs,$(MBEDTLS_X509_C))
$(MBEDTLS_DIR)/libmbedtls.a: $(call mbedtls_objs,$(MBEDTLS_TLS_C))
$(MBEDTLS_LIB_FILES):
	@rm -f $@
	$(AR) rcs $@ $^

-include $(patsubst %.o,%.d,$(call mbedtls_objs,$(MBEDTLS_CRYPTO_C) $(MBEDTLS_X509_C) $(MBEDTLS_TLS_C)))
