"""SageMaker hyperparameter tuning jobs: trials as training jobs, Random, Grid and Bayesian search (issue #7)."""
