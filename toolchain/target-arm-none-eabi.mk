# target-arm-none-eabi.mk — bare metal Cortex-A15 (QEMU virt), newlib-nano.
# Exports CC AR OBJCOPY SIZE NM TARGET_CFLAGS TARGET_LDFLAGS RUNNER.
# The board's image.mk adds its linker script and startup; nothing here
# picks syscalls (no nosys/rdimon specs): the board supplies them.
CROSS := arm-none-eabi-
CC := $(CROSS)gcc
AR := $(CROSS)ar
OBJCOPY := $(CROSS)objcopy
SIZE := $(CROSS)size
NM := $(CROSS)nm
TARGET_ARCH_FLAGS := -mcpu=cortex-a15 -mfpu=neon-vfpv4 -mfloat-abi=hard -mthumb
# nano.specs at compile time too: it puts newlib-nano's newlib.h (reduced
# stdio, no long long in printf) on the include path so the headers agree
# with libc_nano.a. Sections per function/object so --gc-sections can drop
# what the image does not call (most of mbedTLS and ldns).
TARGET_CFLAGS := $(TARGET_ARCH_FLAGS) --specs=nano.specs -Os -g -ffunction-sections -fdata-sections
TARGET_LDFLAGS := $(TARGET_ARCH_FLAGS) --specs=nano.specs -Wl,--gc-sections
# No way to run a bare-metal binary by itself: the board's qemu-run does.
RUNNER :=
TARGET_TRIPLE := arm-none-eabi
