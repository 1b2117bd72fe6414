import sys

from unlock_app.cli import main

sys.exit(main())
