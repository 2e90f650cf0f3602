"""Running Lambda functions without Docker: deployment packages unpacked on disk
(:mod:`.packages`), warm worker processes that run the Python handlers (:mod:`.pool`, the child
side in :mod:`.worker`), and the ``cfnresponse`` module CloudFormation adds to inline code."""
