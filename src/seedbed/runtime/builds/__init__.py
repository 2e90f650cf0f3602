"""Builds without Docker: a CodeBuild build runs its buildspec phases with the local bash, in a
working folder of its own, with the service role's credentials (see :mod:`.shell`), and packs its
artifacts from file globs (see :mod:`.artifacts`). The build image a project names is recorded only:
the language runtimes are the machine's (Python from Seedbed's own environment, in a per-build
virtual environment layered over it so ``pip install`` in a build never changes Seedbed's)."""
