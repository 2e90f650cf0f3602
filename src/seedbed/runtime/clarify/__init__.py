"""SageMaker Clarify without Docker: what the ``sagemaker-clarify-processing`` image does inside a
processing job, run locally by ``python -m seedbed.runtime.clarify``.

- :mod:`.config` reads ``analysis_config.json`` (as ``sagemaker.clarify`` writes it) and refuses,
  by name, the options the local runtime does not run;
- :mod:`.dataset` reads the CSV or JSON Lines dataset and resolves the label, facets and features;
- :mod:`.metrics` is the bias metric math (pre-training CI, DPL, KL, JS, LP, TVD, KS, CDDL;
  post-training DPPL, DI, DCA, DCR, RD, SD, DAR, DRR, AD, CDDPL, TE, FT, GE) and
  :mod:`.bias` builds analysis.json's bias sections from it;
- :mod:`.predictor` gets predictions from a shadow endpoint it creates for ``predictor.model_name``
  (and deletes afterwards), or from an existing endpoint;
- :mod:`.shap` is Kernel SHAP over a given or k-means baseline;
- :mod:`.violations` checks results against a baseline (``constraint_violations.json``);
- :mod:`.monitor` turns a ModelBias or ModelExplainability monitoring execution's captured data
  (and ground truth) into the dataset and completes the schedule's analysis config;
- :mod:`.analyzer` is the entry point.
"""
