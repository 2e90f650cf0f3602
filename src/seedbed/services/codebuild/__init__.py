"""AWS CodeBuild: projects, builds run locally by :mod:`seedbed.runtime.builds`."""
