"""``python -m artctl`` runs the command-line tool."""

from artctl.cli.entry import main

if __name__ == "__main__":
    main()
