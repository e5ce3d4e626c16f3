"""Metrics (docs/architecture.md): one module per metric, pure numpy / scikit-learn.

- ``omes``: the paper's OMES (association matrix -> per-FoV OS / MES -> OMES(alpha));
- ``dci``: disentanglement, completeness, informativeness (disentanglement_lib);
- ``mig``: mutual information gap (disentanglement_lib);
- ``downstream``: per-FoV GBT / MLP accuracy on the full and the OMES-pruned representation;
- ``split``: the classifiers' train/test split (a seeded shuffle by default, the reference's
  first two thirds with ``"head"``), shared by DCI and the downstream accuracies;
- ``numerics``: the one rule for degenerate dims (a range that cannot hold 20 finite bins is one
  bin without information) and exact power-of-two scaling.

Inputs are plain arrays: codes ``z`` (n_samples, n_dims) and integer labels ``factors``
(n_samples, n_factors). Nothing here imports torch, a dataset class or Streamlit.
"""

from drviz.metrics.dci import DCIResult, compute_dci, dci_from_table
from drviz.metrics.downstream import DownstreamResult, FactorAccuracy, downstream_accuracy
from drviz.metrics.mig import MIGResult, compute_mig
from drviz.metrics.omes import (
    SYNTHETIC_KINDS,
    AssociationMatrix,
    FactorOMES,
    OMESComponents,
    OMESResult,
    association_from_pairs,
    association_matrix,
    components_from_matrix,
    compute_omes,
    omes_components,
    synthetic_association_matrix,
)
from drviz.metrics.split import SPLITS, Split, make_split

__all__ = [
    "SYNTHETIC_KINDS", "AssociationMatrix", "DCIResult", "DownstreamResult", "FactorAccuracy", "FactorOMES",
    "MIGResult", "OMESComponents", "OMESResult", "SPLITS", "Split", "association_from_pairs", "association_matrix",
    "components_from_matrix", "compute_dci", "compute_mig", "compute_omes", "dci_from_table", "downstream_accuracy",
    "make_split", "omes_components", "synthetic_association_matrix",
]
