"""Studies: the paper's experiments as one declared grid, run as idempotent jobs on joblib or Dask.

``spec`` reads a study file (TOML), ``plan`` expands it into train / transfer / evaluate jobs with
dependencies and estimates their cost, ``execute`` runs one job in a worker, ``runner`` runs them
all (joblib locally, Dask on a cluster) and reports where a study stands, ``results`` turns the
evaluations into ``results.csv`` and the findings, ``figures`` draws them (plotly).
"""

from drviz.study.spec import Study, load_study, parse_study, studies_root

__all__ = ["Study", "load_study", "parse_study", "studies_root"]
