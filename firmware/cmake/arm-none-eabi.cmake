# Toolchain file: arm-none-eabi-gcc for a Cortex-M4F (hard float, FPv4-SP).
# Usage: cmake -DCMAKE_TOOLCHAIN_FILE=firmware/cmake/arm-none-eabi.cmake ...
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(HIL_TOOLCHAIN_PREFIX "arm-none-eabi-" CACHE STRING "Prefix of the cross tools")
set(CMAKE_C_COMPILER ${HIL_TOOLCHAIN_PREFIX}gcc)
set(CMAKE_CXX_COMPILER ${HIL_TOOLCHAIN_PREFIX}g++)
set(CMAKE_ASM_COMPILER ${HIL_TOOLCHAIN_PREFIX}gcc)
set(CMAKE_OBJCOPY ${HIL_TOOLCHAIN_PREFIX}objcopy CACHE FILEPATH "objcopy")
set(CMAKE_SIZE ${HIL_TOOLCHAIN_PREFIX}size CACHE FILEPATH "size")

# No OS to link test programs against.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(HIL_CPU_FLAGS "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
set(CMAKE_C_FLAGS_INIT "${HIL_CPU_FLAGS} -ffunction-sections -fdata-sections")
set(CMAKE_CXX_FLAGS_INIT "${HIL_CPU_FLAGS} -ffunction-sections -fdata-sections -fno-exceptions -fno-rtti")
set(CMAKE_ASM_FLAGS_INIT "${HIL_CPU_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${HIL_CPU_FLAGS} -Wl,--gc-sections --specs=nano.specs --specs=nosys.specs")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
