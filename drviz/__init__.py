"""drviz: explore disentangled representations and their transfer from synthetic to real images.

Pipeline (docs/architecture.md): ``drviz.data`` -> ``drviz.models`` -> ``drviz.training`` ->
``drviz.representations`` -> ``drviz.metrics`` -> ``drviz.viz``.
"""

from drviz.errors import DrvizError

__all__ = ["DrvizError"]
__version__ = "0.1.0"
