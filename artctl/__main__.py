"""``python -m artctl`` runs the command-line tool."""

import sys

if __name__ == "__main__":
    try:  # a Ctrl-C while importing is still one line and exit 130, never a traceback
        from .cli.main import main
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
    main()
