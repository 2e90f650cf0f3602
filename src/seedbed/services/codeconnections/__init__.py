"""AWS CodeConnections (and its older name, CodeStar Connections): connections to a git provider,
played locally by Seedbed's own git server."""
