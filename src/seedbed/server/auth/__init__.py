"""Request authentication: SigV4 verification and credential lookup."""
