# board/host — links $(BUILD)/danegate. The board calls the firmware
# (danegate_main) and the firmware calls the board (port_*), so the two
# archives and the deps are one link group.
$(BUILD)/$(IMAGE): $(BOARD_MAIN_OBJ) $(BUILD)/libdanegate.a $(BUILD)/libboard.a | deps
	@mkdir -p $(@D)
	$(CC) -o $@ $(BOARD_MAIN_OBJ) -Wl,--start-group $(BUILD)/libdanegate.a \
		$(BUILD)/libboard.a $(DEPS_LIBS) -Wl,--end-group $(TARGET_LDFLAGS) $(BOARD_HOST_LIBS)
