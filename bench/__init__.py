"""Seedbed's benchmarks: each measures Seedbed and its baseline in the same run and prints the ratio."""
