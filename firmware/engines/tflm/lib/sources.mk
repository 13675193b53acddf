# TFLM's library source lists, read from the tree's own make files (the lists
# behind its `list_library_sources` / `list_third_party_sources` targets),
# without its Makefile's download steps (pigweed, CMSIS), which need a network.
#
#   make -s -f sources.mk HIL_TFLM_ROOT=<tree> [HIL_CMSIS_NN_ROOT=<cmsis-nn>] library third_party
#
# With HIL_CMSIS_NN_ROOT the kernel list is specialised for kernels/cmsis_nn as
# TFLM's Makefile does for OPTIMIZED_KERNEL_DIR=cmsis_nn (specialize_files.py),
# and CMSIS-NN's sources come from ext_libs/cmsis_nn.inc.
ifeq ($(HIL_TFLM_ROOT),)
  $(error HIL_TFLM_ROOT is not set)
endif
TENSORFLOW_ROOT := $(patsubst %/,%,$(HIL_TFLM_ROOT))/
MAKEFILE_DIR := $(TENSORFLOW_ROOT)tensorflow/lite/micro/tools/make
DOWNLOADS_DIR := $(MAKEFILE_DIR)/downloads
BUILD_TYPE := release_with_logs

include $(MAKEFILE_DIR)/helper_functions.inc
include $(MAKEFILE_DIR)/sources.inc
THIRD_PARTY_CC_SRCS :=
THIRD_PARTY_KERNEL_CC_SRCS :=
include $(MAKEFILE_DIR)/additional_kernels.inc

MICROLITE_CC_SRCS := $(filter-out $(MICROLITE_TEST_SRCS), $(MICROLITE_CC_BASE_SRCS))
MICROLITE_CC_SRCS := $(filter-out $(MICROLITE_BENCHMARK_SRCS), $(MICROLITE_CC_SRCS))

ifneq ($(HIL_CMSIS_NN_ROOT),)
  # Given (override) paths that differ from the default download folders, so
  # cmsis_nn.inc runs no download script; CMSIS Core's path feeds only lists
  # of headers, which this file does not print.
  override CMSIS_NN_PATH := $(patsubst %/,%,$(HIL_CMSIS_NN_ROOT))/.
  override CMSIS_PATH := $(CMSIS_NN_PATH)/../cmsis
  include $(MAKEFILE_DIR)/ext_libs/cmsis_nn.inc
  MICROLITE_CC_KERNEL_SRCS := $(shell python3 $(MAKEFILE_DIR)/specialize_files.py \
    --base_files "$(MICROLITE_CC_KERNEL_SRCS)" \
    --specialize_directory $(TENSORFLOW_ROOT)tensorflow/lite/micro/kernels/cmsis_nn)
endif
MICROLITE_CC_KERNEL_SRCS += $(MICROLITE_CC_SIGNAL_KERNEL_SRCS)

.PHONY: library third_party
library:
	@echo $(MICROLITE_CC_SRCS) $(MICROLITE_CC_KERNEL_SRCS)
third_party:
	@echo $(THIRD_PARTY_CC_SRCS) $(THIRD_PARTY_KERNEL_CC_SRCS)
