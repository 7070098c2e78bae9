"""``python -m jupyter_masking`` runs the command line."""

import sys

from jupyter_masking.cli import main

sys.exit(main())
