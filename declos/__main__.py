import sys

from declos.cli.main import main

sys.exit(main())
