import sys

from declos.activation.main import main

sys.exit(main())
