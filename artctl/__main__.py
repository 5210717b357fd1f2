"""``python -m artctl`` runs the command-line tool."""

from .cli.main import main

if __name__ == "__main__":
    main()
