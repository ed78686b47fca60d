import sys

from vrrptui.cli import main

sys.exit(main())
