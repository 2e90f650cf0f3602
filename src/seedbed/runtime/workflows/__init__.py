"""GitHub-style workflows (``.github/workflows/*.yml``) for repositories behind a connection:
run on push and on ``workflow_dispatch``, each job in a fresh checkout folder with bash."""
