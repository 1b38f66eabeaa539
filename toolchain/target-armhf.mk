# target-armhf.mk — the host board cross-built for 32-bit ARM Linux
# (glibc, hard float), as on ARMv7 SOHO routers; run here under qemu-arm.
# Exports CC AR OBJCOPY SIZE NM TARGET_CFLAGS TARGET_LDFLAGS RUNNER.
CROSS := arm-linux-gnueabihf-
CC := $(CROSS)gcc
AR := $(CROSS)ar
OBJCOPY := $(CROSS)objcopy
SIZE := $(CROSS)size
NM := $(CROSS)nm
# ARMv7-A + VFPv3-D16 is Debian armhf's baseline: runs on any armhf CPU.
TARGET_CFLAGS := -O2 -g -D_GNU_SOURCE
# Static: one file that runs under qemu-arm (or is copied to a router)
# without an ARM dynamic loader and libraries beside it. -L stays in
# RUNNER so a dynamically linked binary (a test's choice) also runs.
TARGET_LDFLAGS := -static
RUNNER := qemu-arm -L /usr/arm-linux-gnueabihf
TARGET_TRIPLE := arm-linux-gnueabihf
