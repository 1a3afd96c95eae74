"""``python -m nbrepro.cli``: the same as the ``nbrepro`` command."""

from nbrepro.cli.commands import main

if __name__ == "__main__":
    main()
