import sys

from vidstyle.cli import main

sys.exit(main())
