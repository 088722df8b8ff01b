"""``python -m arfilter`` runs the command line."""

import sys

from arfilter.cli.main import main

sys.exit(main())
