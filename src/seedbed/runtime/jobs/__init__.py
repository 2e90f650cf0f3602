"""SageMaker jobs without Docker: the job runner (:mod:`.container`), the ``/opt/ml`` sandbox
(:mod:`.sandbox`, :mod:`.shim_site`), the image runtimes (:mod:`.xgboost_algo`,
:mod:`.transform`) and the backends that place runners (:mod:`.backends` for local subprocesses,
:mod:`.ray_backend` for Ray).

Nothing here imports xgboost, pandas or ray at module level: the server imports the backends, the
runtimes run in child processes.
"""
