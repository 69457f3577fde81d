"""``python -m ddsolver``: the same as the ``ddsolver`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
