"""(c) Today's way with a `run` step: one interpreter per file, paying the
imports every time. Usage: plot_cli.py INPUT OUT"""

import sys

from plotting import plot_file

plot_file(sys.argv[1], sys.argv[2])
