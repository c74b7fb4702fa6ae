"""``python -m kratos_conformance``: the same as the ``kratos-conformance`` command."""

import sys

from kratos_conformance.cli import main

sys.exit(main())
