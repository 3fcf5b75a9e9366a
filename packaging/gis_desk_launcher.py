"""Entry script of the frozen build: the same ``main`` as the ``gis-desk`` console script."""

import multiprocessing
import sys

from gis_desk.__main__ import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # worker processes of a frozen app start through here
    sys.exit(main())
