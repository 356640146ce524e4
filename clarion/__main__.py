"""`python -m clarion`: the same as the `clarion` command."""

from clarion.cli import main

if __name__ == "__main__":
    main(prog_name="clarion")
