import sys

from vocwatch.cli import main

sys.exit(main())
