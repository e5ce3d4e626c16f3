"""The one typed, frozen configuration of a training run (source training or transfer).

Validated on construction, saved as ``config.json`` beside the weights, never exec'd.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from drviz.errors import DrvizError


# The objectives (drviz.models.objectives); kept here, torch-free, so the CLI starts fast.
METHODS = ("beta_vae", "ada_gvae", "gvae_labels")
WEAK_METHODS = ("ada_gvae", "gvae_labels")
# "auto" resolves to bf16 autocast where the device has fast bf16 (drviz.training.resolve_precision).
PRECISIONS = ("auto", "fp32", "bf16")
LR_SCHEDULES = ("constant", "plateau")


@dataclass(frozen=True)
class RunConfig:
    """A run: what to train on, how, and from what.

    ``init_from`` names the run whose weights initialise this one; None trains from scratch.
    With ``init_step == 0`` that is a transfer (fine-tuning, usually on another dataset); with
    ``init_step = S > 0`` the run *continues* ``init_from`` from its step S under new settings
    (a branch: fresh optimizer, the step count and data stream go on from S).
    ``k`` is the number of factors redrawn in weak pairs. ``kl_warmup`` linearly ramps beta
    from 0 over that many steps; ``grad_clip`` (max gradient norm, 0 = off).
    ``precision``: fp32, bf16 autocast of the network (loss terms stay fp32), or auto.
    ``lr_schedule``: constant, or plateau = torch's ReduceLROnPlateau fed the mean loss of every
    ``plateau_every`` steps (lr times ``plateau_factor`` after ``plateau_patience`` windows
    without a 0.1% improvement), as the paper's Adam with reduce-on-plateau.
    """

    dataset: str
    method: str = "beta_vae"
    beta: float = 1.0
    latent_dim: int = 10
    width: int = 1
    steps: int = 2000
    batch_size: int = 64
    lr: float = 5e-4
    seed: int = 0
    init_from: str | None = None
    k: int = 1
    kl_warmup: int = 0
    grad_clip: float = 0.0
    checkpoint_every: int = 500
    precision: str = "auto"
    lr_schedule: str = "constant"
    plateau_every: int = 1000
    plateau_patience: int = 5
    plateau_factor: float = 0.5
    init_step: int = 0

    def __post_init__(self):
        def bad(name, why):
            raise DrvizError(f"invalid {name}={getattr(self, name)!r}: {why}")

        if not isinstance(self.dataset, str) or not self.dataset or len(self.dataset) > 4096:
            bad("dataset", "give a dataset name (see `python -m drviz datasets`)")
        if self.init_from is not None and (not isinstance(self.init_from, str) or not self.init_from
                                           or len(self.init_from) > 4096):
            bad("init_from", "give the run to start from, by name or folder")
        if self.method not in METHODS:
            bad("method", f"choose one of {', '.join(METHODS)}")
        if self.precision not in PRECISIONS:
            bad("precision", f"choose one of {', '.join(PRECISIONS)}")
        if self.lr_schedule not in LR_SCHEDULES:
            bad("lr_schedule", f"choose one of {', '.join(LR_SCHEDULES)}")
        checks = (
            ("beta", lambda v: isinstance(v, (int, float)) and math.isfinite(v) and 0 <= v <= 1000, "must be a number in [0, 1000]"),
            ("latent_dim", lambda v: isinstance(v, int) and 1 <= v <= 256, "must be an integer in [1, 256]"),
            ("width", lambda v: isinstance(v, int) and 1 <= v <= 8, "must be an integer in [1, 8]"),
            ("steps", lambda v: isinstance(v, int) and 1 <= v <= 10_000_000, "must be an integer in [1, 10,000,000]"),
            ("batch_size", lambda v: isinstance(v, int) and 2 <= v <= 4096, "must be an integer in [2, 4096]"),
            ("lr", lambda v: isinstance(v, (int, float)) and math.isfinite(v) and 0 < v <= 1, "must be in (0, 1]"),
            ("seed", lambda v: isinstance(v, int) and 0 <= v < 2**31, "must be an integer in [0, 2^31)"),
            ("k", lambda v: isinstance(v, int) and 1 <= v <= 64, "must be an integer in [1, 64]"),
            ("kl_warmup", lambda v: isinstance(v, int) and 0 <= v <= 10_000_000, "must be an integer in [0, 10,000,000]"),
            ("grad_clip", lambda v: isinstance(v, (int, float)) and math.isfinite(v) and 0 <= v <= 1e6, "must be in [0, 1e6] (0 disables clipping)"),
            ("checkpoint_every", lambda v: isinstance(v, int) and 1 <= v <= 10_000_000, "must be an integer in [1, 10,000,000]"),
            ("plateau_every", lambda v: isinstance(v, int) and 1 <= v <= 10_000_000, "must be an integer in [1, 10,000,000]"),
            ("plateau_patience", lambda v: isinstance(v, int) and 0 <= v <= 10_000, "must be an integer in [0, 10,000]"),
            ("plateau_factor", lambda v: isinstance(v, (int, float)) and 0 < v < 1, "must be in (0, 1)"),
            ("init_step", lambda v: isinstance(v, int) and 0 <= v < self.steps, "must be an integer in [0, steps)"),
        )
        for name, ok, why in checks:
            if isinstance(getattr(self, name), bool) or not ok(getattr(self, name)):
                bad(name, why)
        if self.init_step and not self.init_from:
            bad("init_step", "a continuation needs init_from (the run it continues)")

    @property
    def weak(self) -> bool:
        return self.method != "beta_vae"

    @property
    def continued(self) -> bool:
        """A branch of ``init_from`` (same task, new settings), not a transfer."""
        return bool(self.init_from) and self.init_step > 0

    @property
    def is_transfer(self) -> bool:
        return bool(self.init_from) and self.init_step == 0

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "RunConfig":
        if not isinstance(data, dict):
            raise DrvizError("config.json must hold a JSON object of run settings")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DrvizError(f"config.json has unknown settings {unknown}; is it a drviz run?")
        try:
            return cls(**data)
        except TypeError as exc:
            raise DrvizError(f"config.json is incomplete: {exc}") from None
