"""`make bench`: run every benchmark and print each ratio against its baseline."""

from bench import (
    bench_cloudformation,
    bench_core,
    bench_events,
    bench_flow,
    bench_hosting,
    bench_iam,
    bench_jobs,
    bench_lambda,
    bench_pipelines,
    bench_projects,
    bench_s3,
)

if __name__ == "__main__":
    bench_core.run()
    bench_s3.run()
    bench_cloudformation.run()
    bench_iam.run()
    bench_projects.run()
    bench_events.run()
    bench_lambda.run()
    bench_jobs.run()
    bench_pipelines.run()
    bench_hosting.run()
    bench_flow.run()
