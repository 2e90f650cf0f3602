"""`make bench`: run every benchmark and print each ratio against its baseline."""

from bench import bench_core

if __name__ == "__main__":
    bench_core.run()
