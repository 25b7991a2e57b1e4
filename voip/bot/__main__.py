"""``python -m voip.bot``: the same as the `voip-bot` command."""

import sys

from voip.bot.cli import main

sys.exit(main())
