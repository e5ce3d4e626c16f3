"""Metrics (docs/architecture.md): one module per metric, pure numpy / scikit-learn.

- ``omes``: the paper's OMES (association matrix -> per-FoV OS / MES -> OMES(alpha));
- ``dci``: disentanglement, completeness, informativeness (disentanglement_lib);
- ``mig``: mutual information gap (disentanglement_lib);
- ``betavae``, ``factorvae``: the other intervention-based scores (Higgins 2017, Kim & Mnih 2018),
  drawn through ``intervention`` (fresh images from a model, or rows of a table);
- ``sap``: separated attribute predictability (Kumar 2018, as disentanglement_lib);
- ``modularity``: Modularity and Explicitness (Ridgeway & Mozer 2018, as disentanglement_lib);
- ``infomec``: InfoM, InfoE, InfoC (Hsu et al. 2023, as the authors' code);
- ``registry``: every metric's family, classifier and the property each score measures;
- ``agreement``: Spearman agreement between metrics across runs;
- ``downstream``: per-FoV GBT / MLP accuracy on the full and the OMES-pruned representation;
- ``split``: the classifiers' train/test split (a seeded shuffle by default, the reference's
  first two thirds with ``"head"``), shared by DCI and the downstream accuracies;
- ``numerics``: the one rule for degenerate dims (a range that cannot hold 20 finite bins is one
  bin without information) and exact power-of-two scaling.

Inputs are plain arrays: codes ``z`` (n_samples, n_dims) and integer labels ``factors``
(n_samples, n_factors). Nothing here imports torch, a dataset class or Streamlit.
"""

from drviz.metrics.agreement import Agreement, metric_agreement
from drviz.metrics.betavae import BetaVAEResult, betavae_from_table
from drviz.metrics.dci import DCIResult, compute_dci, dci_from_table
from drviz.metrics.downstream import DownstreamResult, FactorAccuracy, downstream_accuracy
from drviz.metrics.factorvae import FactorVAEResult, factorvae_from_table
from drviz.metrics.infomec import InfoMECResult, compute_infomec
from drviz.metrics.mig import MIGResult, compute_mig
from drviz.metrics.modularity import ModularityResult, compute_modularity
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
from drviz.metrics.registry import REGISTRY, MetricInfo
from drviz.metrics.sap import SAPResult, compute_sap
from drviz.metrics.split import SPLITS, Split, make_split

__all__ = [
    "REGISTRY", "Agreement", "BetaVAEResult", "FactorVAEResult", "InfoMECResult", "MetricInfo", "ModularityResult",
    "SAPResult", "betavae_from_table", "compute_infomec", "compute_modularity", "compute_sap", "factorvae_from_table",
    "metric_agreement",
    "SYNTHETIC_KINDS", "AssociationMatrix", "DCIResult", "DownstreamResult", "FactorAccuracy", "FactorOMES",
    "MIGResult", "OMESComponents", "OMESResult", "SPLITS", "Split", "association_from_pairs", "association_matrix",
    "components_from_matrix", "compute_dci", "compute_mig", "compute_omes", "dci_from_table", "downstream_accuracy",
    "make_split", "omes_components", "synthetic_association_matrix",
]
