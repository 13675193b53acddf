"""The aot engine's code generator: .tflite -> C calling firmware/engines/aot/ kernels.

    from hil.firmware.aot import generate, AotInfo
    info = generate(Path("export/model.tflite"), Path("build/aot-model"))
"""

from hil.firmware.aot.generate import AotInfo, TensorInfo, generate
from hil.firmware.aot.lower import SUPPORTED_OPS

__all__ = ["AotInfo", "TensorInfo", "generate", "SUPPORTED_OPS"]
