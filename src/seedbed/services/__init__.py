"""One package per AWS service. ``registry`` says which exist and which Seedbed implements."""
