"""``python -m kratos_conformance.mutation``: see :mod:`kratos_conformance.mutation.cli`."""

import sys

from kratos_conformance.mutation.cli import main

sys.exit(main())
