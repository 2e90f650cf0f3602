"""AWS CodeCommit: repositories served over git smart HTTP by :mod:`seedbed.gitserver`."""
