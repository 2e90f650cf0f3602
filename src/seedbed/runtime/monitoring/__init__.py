"""The SageMaker Model Monitor analyzer without Docker: what the ``sagemaker-model-monitor-analyzer``
image does inside a processing job, run locally by ``python -m seedbed.runtime.monitoring``.

- :mod:`.dataset` reads the dataset the job was given (CSV or JSON Lines for baselining, the
  endpoint's data-capture JSON Lines for monitoring executions, filtered to the analysis window);
- :mod:`.stats` profiles it into ``statistics.json``, suggests ``constraints.json`` and checks a
  dataset against a baseline, writing ``constraint_violations.json``;
- :mod:`.drift` measures the distribution distance between two feature profiles (also used by the
  server to publish the ``feature_baseline_drift_<feature>`` CloudWatch metrics);
- :mod:`.quality` computes the model quality metrics (regression, binary classification) from
  predictions merged with ground truth;
- :mod:`.analyzer` is the entry point: it reads the container contract's environment
  (``dataset_source``, ``dataset_format``, ``output_path``, ``baseline_constraints``,
  ``baseline_statistics``, ``analysis_type``, ``start_time``/``end_time``, ...).

:mod:`.drift` and :mod:`.stats` use the standard library only, so the server may import them.
"""
