"""``python -m kratos_conformance.mutation``: see :mod:`kratos_conformance.mutation.cli`."""

import sys

from .cli import main

sys.exit(main())
