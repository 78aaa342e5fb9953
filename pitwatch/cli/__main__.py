"""``python -m pitwatch.cli``: how the stack starts its components."""

import sys

from pitwatch.cli import main

sys.exit(main())
