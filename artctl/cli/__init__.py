"""The command-line interface: parse, call the library, render. No logic lives here."""
