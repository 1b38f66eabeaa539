# image.mk — links build/qemu-virt/danegate.elf with link.ld (RAM at
# 0x40000000, stacks, 256 KiB heap) and a map file; `qemu-run` boots it
# with the flash file and user networking; `size-report` prints the
# per-component size table and the budget from the map file.
QV_LDSCRIPT := board/qemu-virt/link.ld
QV_MAP := $(BUILD)/danegate.map
QV_FLASH_IMG := $(BUILD)/flash.img
QV_FLASH_BYTES := 67108864

# The group lets the libraries and the board's newlib syscalls resolve
# each other whatever the order of first use.
$(BUILD)/$(IMAGE): $(BUILD)/libdanegate.a $(BUILD)/libboard.a $(BOARD_MAIN_OBJ) $(QV_LDSCRIPT) | deps
	@mkdir -p $(@D)
	$(CC) $(TARGET_LDFLAGS) -nostartfiles -T $(QV_LDSCRIPT) -Wl,-Map=$(QV_MAP) \
		-Wl,-u,_start -Wl,--no-warn-rwx-segments -o $@ \
		-Wl,--start-group $(BOARD_MAIN_OBJ) $(BUILD)/libdanegate.a $(BUILD)/libboard.a \
		$(DEPS_LIBS) -lc -lm -lgcc -Wl,--end-group
	$(SIZE) $@

# Erased NOR reads 0xFF: a zero-filled file would look fully programmed.
$(QV_FLASH_IMG):
	@mkdir -p $(@D)
	head -c $(QV_FLASH_BYTES) /dev/zero | tr '\000' '\377' >$@

QEMU_SYSTEM_ARM ?= qemu-system-arm
QV_HOSTFWD ?= hostfwd=tcp:127.0.0.1:2525-:25,hostfwd=tcp:127.0.0.1:8080-:80
QV_QEMU_ARGS = -M virt -cpu cortex-a15 -m 128M -nographic \
	-kernel $(BUILD)/$(IMAGE) \
	-drive if=pflash,unit=1,format=raw,file=$(QV_FLASH_IMG) \
	-global virtio-mmio.force-legacy=false \
	-netdev user,id=n0,$(QV_HOSTFWD) -device virtio-net-device,netdev=n0 \
	-device virtio-rng-device

.PHONY: qemu-run size-report
qemu-run: $(BUILD)/$(IMAGE) | $(QV_FLASH_IMG)
	@echo "qemu-virt: SMTP on 127.0.0.1:2525 (swaks --server 127.0.0.1:2525), web console https://127.0.0.1:8080/ (the gateway's self-signed certificate)"
	@echo "qemu-virt: serial console below; Ctrl-A X quits QEMU. Flash: $(QV_FLASH_IMG)"
	$(QEMU_SYSTEM_ARM) $(QV_QEMU_ARGS)

# QV_HEAP_PEAK=<bytes> (from the boot log's "heap high-water") adds the
# runtime heap to the RAM budget line.
size-report: $(BUILD)/$(IMAGE)
	python3 board/qemu-virt/size-report.py $(QV_MAP) $(if $(QV_HEAP_PEAK),--heap-peak $(QV_HEAP_PEAK)) \
		--tls-arena $(QV_TLS_ARENA) --tls-bench build/bench/ram/result.txt
