"""``python -m seedbed.runtime.clarify``: the local stand-in for the SageMaker Clarify processing image."""

import sys

from seedbed.runtime.clarify.analyzer import main

sys.exit(main())
