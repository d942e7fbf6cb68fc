"""`python -m platform_assets.cli`: the same as the `platform` command."""

import sys

from platform_assets.cli import main

sys.exit(main())
