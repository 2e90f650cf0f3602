"""Git hosting: bare repositories under the data dir, served over smart HTTP on the main port.

For CodeBuild and CodePipeline source actions: :func:`repository_path` finds a repository and
:func:`archive` zips the tree of a ref.
"""

from seedbed.gitserver.repos import archive, repository_path

__all__ = ["archive", "repository_path"]
