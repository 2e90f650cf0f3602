"""The abalone model-build pipeline, written for Seedbed in the style of the classic SageMaker
project example: preprocess, train XGBoost, evaluate, register if the MSE is good enough."""
