#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillibrium.settings")
    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(sys.argv)
    except KeyboardInterrupt:
        # Ctrl-C is how a command is stopped (make demo while it starts, a long sync): not a crash whose
        # traceback anyone needs. 130 is the shell's status for a command stopped by Ctrl-C.
        sys.exit(130)
