"""A study file: the grid of a study, declared once in TOML (``studies/<name>.toml`` for presets).

The schema (README, "Studies") has three tables, every key optional but the datasets::

    name = "smoke"                 # default: the file's stem
    description = "..."

    [sources]                      # datasets x methods x betas x seeds, each a source run
    datasets = ["color_dsprites"]
    methods = ["ada_gvae", "beta_vae"]
    betas = [1.0]
    seeds = [0, 1]
    steps = 2000                   # and lr, batch_size, kl_warmup, latent_dim, k,
                                   # checkpoint_every, precision: RunConfig's fields

    [transfers]                    # every source x every target
    targets = ["noisy_dsprites", "real_objects"]
    steps = 1000
    lr = 1e-4                      # and method (beta_vae: unsupervised), batch_size

    [evaluation]                   # one evaluation per (run, dataset)
    n = 3000                       # line-sampled rows encoded
    seed = 0
    alpha = 0.5
    pooling = "avg"
    n_train = 1000                 # classifier rows (2/3 - 1/3 split, capped)
    n_test = 500
    gbt_estimators = 20            # boosting stages of DCI's and the accuracies' GBTs
    classifiers = ["gbt", "mlp"]
    metrics = ["omes", "dci", "mig", "accuracy"]   # + "sap", "modularity", "infomec",
                                                   #   "betavae", "factorvae"

Reading validates everything into frozen dataclasses; a mistake is a one-line ``DrvizError``
naming the key. Nothing here trains or imports torch.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from drviz.config import METHODS, PRECISIONS, RunConfig
from drviz.errors import DrvizError

REPO = Path(__file__).resolve().parents[2]
# The metrics a study can ask for; OMES, DCI, MIG and the accuracies always come together.
CORE_METRICS = ("omes", "dci", "mig", "accuracy")
OTHER_METRICS = ("sap", "modularity", "infomec")
INTERVENTION_METRICS = ("betavae", "factorvae")
METRICS = CORE_METRICS + OTHER_METRICS + INTERVENTION_METRICS


def presets_root() -> Path:
    """Where the presets live: the repository's ``studies/<name>.toml``."""
    return REPO / "studies"


def studies_root() -> Path:
    """Where study folders live by default (``<name>/``): ``$DRVIZ_STUDIES`` or the repository's ``studies/``."""
    env = os.environ.get("DRVIZ_STUDIES")
    return Path(env) if env else presets_root()


@dataclass(frozen=True)
class Sources:
    datasets: tuple[str, ...]
    methods: tuple[str, ...] = ("ada_gvae", "beta_vae")
    betas: tuple[float, ...] = (1.0,)
    seeds: tuple[int, ...] = (0,)
    steps: int = 2000
    lr: float = 5e-4
    batch_size: int = 64
    kl_warmup: int = 0
    latent_dim: int = 10
    k: int = 1
    checkpoint_every: int = 500
    precision: str = "auto"


@dataclass(frozen=True)
class Transfers:
    targets: tuple[str, ...] = ()
    steps: int = 1000
    lr: float = 1e-4
    method: str = "beta_vae"
    batch_size: int | None = None  # None: the source's


@dataclass(frozen=True)
class Evaluation:
    n: int = 3000
    seed: int = 0
    alpha: float = 0.5
    pooling: str = "avg"
    n_train: int = 1000
    n_test: int = 500
    gbt_estimators: int = 100
    classifiers: tuple[str, ...] = ("gbt", "mlp")
    metrics: tuple[str, ...] = CORE_METRICS
    elbo_images: int = 512  # images the final ELBO / reconstruction loss of each row averages over


@dataclass(frozen=True)
class Study:
    """A parsed study file. ``source`` is the file it came from (None: built in code)."""

    name: str
    sources: Sources
    transfers: Transfers
    evaluation: Evaluation
    description: str = ""
    source: Path | None = None

    def to_json(self) -> dict:
        out = asdict(self)
        out.pop("source")
        return out


def _section(data: dict, cls, where: str, required: tuple[str, ...] = ()):
    if not isinstance(data, dict):
        raise DrvizError(f"[{where}] must be a table of settings")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise DrvizError(f"[{where}] has unknown key(s) {', '.join(unknown)}; known: {', '.join(known)}")
    missing = [k for k in required if k not in data]
    if missing:
        raise DrvizError(f"[{where}] needs {', '.join(missing)}")
    values = {}
    for key, value in data.items():
        if isinstance(getattr(cls, key, None), tuple) or key in ("datasets", "targets"):
            if not isinstance(value, list) or not value and key != "targets":
                raise DrvizError(f"[{where}] {key} must be a non-empty list")
            value = tuple(value)
        values[key] = value
    try:
        return cls(**values)
    except TypeError as exc:
        raise DrvizError(f"[{where}] {exc}") from None


def _check(study: Study) -> None:
    s, t, e = study.sources, study.transfers, study.evaluation

    def bad(where, key, why):
        raise DrvizError(f"[{where}] {key} = {getattr({'sources': s, 'transfers': t, 'evaluation': e}[where], key)!r}: {why}")

    for m in s.methods:
        if m not in METHODS:
            bad("sources", "methods", f"choose from {', '.join(METHODS)}")
    if s.precision not in PRECISIONS:
        bad("sources", "precision", f"choose one of {', '.join(PRECISIONS)}")
    if len(set(s.seeds)) != len(s.seeds) or not all(isinstance(x, int) and not isinstance(x, bool) for x in s.seeds):
        bad("sources", "seeds", "must be distinct integers")
    if len(set(s.betas)) != len(s.betas):
        bad("sources", "betas", "must be distinct numbers")
    if t.method not in METHODS:
        bad("transfers", "method", f"choose one of {', '.join(METHODS)}")
    for name in ("datasets",):
        if any(not isinstance(d, str) or not d for d in s.datasets):
            bad("sources", name, "must be dataset names")
    if any(not isinstance(d, str) or not d for d in t.targets):
        bad("transfers", "targets", "must be dataset names")
    # The run settings are validated by RunConfig itself: build one of each kind.
    for beta in s.betas:
        for method in s.methods:
            RunConfig(dataset=s.datasets[0], method=method, beta=beta, latent_dim=s.latent_dim, steps=s.steps,
                      batch_size=s.batch_size, lr=s.lr, seed=s.seeds[0], k=s.k, kl_warmup=s.kl_warmup,
                      checkpoint_every=s.checkpoint_every, precision=s.precision)
    if t.targets:
        RunConfig(dataset=t.targets[0], method=t.method, steps=t.steps, lr=t.lr, batch_size=t.batch_size or s.batch_size,
                  latent_dim=s.latent_dim, init_from="source")
    ints = (("n", 10, 1_000_000), ("seed", 0, 2**31 - 1), ("n_train", 10, 10_000_000), ("n_test", 10, 10_000_000),
            ("gbt_estimators", 1, 10_000), ("elbo_images", 1, 100_000))
    for key, lo, hi in ints:
        v = getattr(e, key)
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            bad("evaluation", key, f"must be an integer in [{lo:,}, {hi:,}]")
    if not isinstance(e.alpha, (int, float)) or not math.isfinite(e.alpha) or not 0 <= e.alpha <= 1:
        bad("evaluation", "alpha", "must be in [0, 1]")
    if e.pooling not in ("avg", "max"):
        bad("evaluation", "pooling", "choose avg or max")
    if not e.classifiers or any(c not in ("gbt", "mlp") for c in e.classifiers):
        bad("evaluation", "classifiers", "choose from gbt, mlp")
    unknown = [m for m in e.metrics if m not in METRICS]
    if unknown:
        bad("evaluation", "metrics", f"choose from {', '.join(METRICS)}")


def parse_study(text: str, name: str, source: Path | None = None) -> Study:
    """A study from TOML text (``name``: used when the file has no ``name`` key)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DrvizError(f"{source or name} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"name", "description", "sources", "transfers", "evaluation"})
    if unknown:
        raise DrvizError(f"{source or name}: unknown key(s) {', '.join(unknown)}; "
                         "a study has name, description, [sources], [transfers], [evaluation]")
    if "sources" not in data:
        raise DrvizError(f"{source or name} has no [sources] table")
    study_name = data.get("name", name)
    if not isinstance(study_name, str) or not study_name or any(c in study_name for c in "/\\") or study_name.startswith("."):
        raise DrvizError(f"study name {study_name!r} must be a plain folder name")
    study = Study(
        name=study_name,
        sources=_section(data["sources"], Sources, "sources", required=("datasets",)),
        transfers=_section(data.get("transfers", {}), Transfers, "transfers"),
        evaluation=_section(data.get("evaluation", {}), Evaluation, "evaluation"),
        description=str(data.get("description", "")),
        source=source,
    )
    _check(study)
    return study


def find_study_file(file_or_preset: str | Path) -> Path:
    """A study file from a path, or a preset's name (``studies/<name>.toml``)."""
    p = Path(file_or_preset)
    if p.is_file():
        return p
    if p.is_dir() and (p / "study.toml").is_file():  # a study folder: the copy it was run with
        return p / "study.toml"
    preset = presets_root() / f"{file_or_preset}.toml"
    if preset.is_file():
        return preset
    names = ", ".join(sorted(x.stem for x in presets_root().glob("*.toml"))) or "none"
    raise DrvizError(f"no study file or preset {str(file_or_preset)!r} (presets: {names})")


def load_study(file_or_preset: str | Path) -> Study:
    """Read and validate a study file or preset (see the module docstring for the schema)."""
    path = find_study_file(file_or_preset)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise DrvizError(f"cannot read {path}: {exc}") from None
    stem = path.parent.name if path.name == "study.toml" else path.stem
    return parse_study(text, stem, path)


__all__ = ["CORE_METRICS", "Evaluation", "INTERVENTION_METRICS", "METRICS", "OTHER_METRICS", "Sources", "Study",
           "Transfers", "find_study_file", "load_study", "parse_study", "presets_root", "studies_root"]
