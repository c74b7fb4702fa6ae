"""``python -m kratos_conformance``: the same as the ``kratos-conformance`` command."""

import sys

from .cli import main

sys.exit(main())
