"""``python -m voip.admin`` runs the same CLI as ``voip-admin``."""

import sys

from voip.admin.cli import main

sys.exit(main())
