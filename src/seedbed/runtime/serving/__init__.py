"""Model servers for SageMaker endpoints: worker processes that load a model once and answer
invocations over a Unix socket.

- :mod:`.protocol`: the frame format both sides speak (standard library only).
- :mod:`.worker`: the child process (``python -m seedbed.runtime.serving.worker``); it imports
  the model's libraries (xgboost, scikit-learn, ...), the server process never does.
- :mod:`.handlers`: the model runtimes a worker can host (XGBoost algorithm, inference scripts).
- :mod:`.fleet`: the server side: start, health-check, call and stop a variant's workers.
"""
