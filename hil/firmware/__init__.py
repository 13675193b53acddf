"""Host side of the firmware: build driver and the aot engine code generator."""
