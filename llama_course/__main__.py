"""``python -m llama_course``: the ``llama-course`` command (what ``torchrun -m llama_course`` runs)."""

import sys

from .cli import main

sys.exit(main())
