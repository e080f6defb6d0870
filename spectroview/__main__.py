"""``python -m spectroview``: the same as the ``spectroview`` command."""

import sys

from spectroview.cli import main

sys.exit(main())
