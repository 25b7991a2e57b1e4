"""``python -m voip.server`` runs the same CLI as ``voip-server``."""

import sys

from voip.server.cli import main

sys.exit(main())
