"""Every disentanglement metric drviz computes, with what the paper's metric table says about it.

One ``MetricInfo`` per metric: its family (how it measures: by intervention, from mutual
information, or with a predictor), the classifier it trains and how many, the paper it comes
from, its CLI verb, and its headline scores, each with the property it measures (modularity:
each dim encodes one FoV; compactness: each FoV lives in one dim; explicitness: the FoVs can be
read from the code). The families and properties follow Carbonneau et al. (2022), "Measuring
Disentanglement: A Review of Metrics", as the OMES paper's (Dapueto et al. 2024) table does.

The pages and ``drviz.tables.metric_table`` generate the table from here, ``headline_scores``
reads the scores from a run's metrics.json by the (section, field) each ``Score`` names, and the
studies' agreement figure takes its columns from ``score_labels()``. Nothing here computes.
"""

from __future__ import annotations

from dataclasses import dataclass

FAMILIES = ("intervention", "information", "predictor")
PROPERTIES = ("modularity", "compactness", "explicitness")
FAMILY_TEXT = {
    "intervention": "Intervention-based: change (or hold) one FoV and watch the code.",
    "information": "Information-based: mutual information between dims and FoVs.",
    "predictor": "Predictor-based: classifiers read the FoVs from the code.",
}


@dataclass(frozen=True)
class Score:
    """One headline number: its label, where metrics.json keeps it, the property it measures."""

    label: str
    section: str
    field: str
    property: str


@dataclass(frozen=True)
class MetricInfo:
    """A metric and what the paper's table says about it (see the module docstring)."""

    name: str
    family: str
    classifier: str
    n_classifiers: str
    paper: str
    verb: str
    scores: tuple[Score, ...]

    @property
    def properties(self) -> tuple[str, ...]:
        return tuple(p for p in PROPERTIES if any(s.property == p for s in self.scores))


REGISTRY: tuple[MetricInfo, ...] = (
    MetricInfo("OMES", "intervention", "none", "0", "Dapueto et al., NeurIPS 2024", "omes", (
        Score("OMES", "omes", "omes", "modularity"),  # alpha * OS + (1 - alpha) * MES: both properties
        Score("OMES", "omes", "omes", "compactness"),
        Score("OS", "omes", "os", "modularity"),
        Score("MES", "omes", "mes", "compactness"),
    )),
    MetricInfo("BetaVAE score", "intervention", "logistic regression", "1", "Higgins et al., ICLR 2017", "betavae", (
        Score("BetaVAE", "betavae", "betavae", "modularity"),
    )),
    MetricInfo("FactorVAE score", "intervention", "majority vote", "1", "Kim & Mnih, ICML 2018", "factorvae", (
        Score("FactorVAE", "factorvae", "factorvae", "modularity"),
        Score("FactorVAE", "factorvae", "factorvae", "compactness"),
    )),
    MetricInfo("MIG", "information", "none", "0", "Chen et al., NeurIPS 2018", "mig", (
        Score("MIG", "mig", "mig", "compactness"),
    )),
    MetricInfo("Modularity", "information", "none", "0", "Ridgeway & Mozer, NeurIPS 2018", "modularity", (
        Score("Modularity", "modularity", "modularity", "modularity"),
    )),
    MetricInfo("InfoMEC", "information", "logistic regression (InfoE)", "K", "Hsu et al., NeurIPS 2023", "infomec", (
        Score("InfoM", "infomec", "infom", "modularity"),
        Score("InfoC", "infomec", "infoc", "compactness"),
        Score("InfoE", "infomec", "infoe", "explicitness"),
    )),
    MetricInfo("DCI", "predictor", "gradient-boosted trees", "K", "Eastwood & Williams, ICLR 2018", "dci", (
        Score("DCI D", "dci", "disentanglement", "modularity"),
        Score("DCI C", "dci", "completeness", "compactness"),
        Score("DCI I", "dci", "informativeness_test", "explicitness"),
    )),
    MetricInfo("SAP", "predictor", "linear SVM", "D x K", "Kumar et al., ICLR 2018", "sap", (
        Score("SAP", "sap", "sap", "compactness"),
    )),
    MetricInfo("Explicitness", "predictor", "logistic regression", "K", "Ridgeway & Mozer, NeurIPS 2018", "modularity", (
        Score("Explicitness", "modularity", "explicitness", "explicitness"),
    )),
)

def metric(name: str) -> MetricInfo:
    """The registry entry of ``name`` (a metric name or a score label)."""
    for m in REGISTRY:
        if name == m.name or any(name == s.label for s in m.scores):
            return m
    raise KeyError(name)


def score_labels() -> tuple[str, ...]:
    """Every headline score label, each once, in registry order (families grouped)."""
    out: list[str] = []
    for m in REGISTRY:
        for s in m.scores:
            if s.label not in out:
                out.append(s.label)
    return tuple(out)


def headline_fields() -> tuple[tuple[str, str, str], ...]:
    """(label, section, field) of every headline score, each label once."""
    seen: dict[str, tuple[str, str, str]] = {}
    for m in REGISTRY:
        for s in m.scores:
            seen.setdefault(s.label, (s.label, s.section, s.field))
    return tuple(seen.values())


def family_of(label: str) -> str:
    return metric(label).family


def properties_of(label: str) -> tuple[str, ...]:
    """What a score label measures (FactorVAE: modularity and compactness)."""
    m = metric(label)
    return tuple(p for p in PROPERTIES if any(s.label == label and s.property == p for s in m.scores))


__all__ = ["FAMILIES", "FAMILY_TEXT", "MetricInfo", "PROPERTIES", "REGISTRY", "Score", "family_of", "headline_fields",
           "metric", "properties_of", "score_labels"]
