"""`python -m service.cli` runs the visitator command."""
import sys

from service.cli import main

sys.exit(main())
