# TEST PLUG-IN (tests/plugins/toy_engine.py): the aot kernels under the name
# "toy". The model sources in ${HIL_MODEL_DIR} are aot's, renamed by the toy
# generator; this folder is reached through HIL_ENGINE_DIR.
include(${HIL_FIRMWARE_DIR}/engines/aot/engine.cmake)
message(STATUS "toy engine: aot kernels, model sources from ${HIL_MODEL_DIR}")
