"""``python -m seedbed.runtime.monitoring``: the local stand-in for the Model Monitor analyzer image."""

import sys

from seedbed.runtime.monitoring.analyzer import main

sys.exit(main())
