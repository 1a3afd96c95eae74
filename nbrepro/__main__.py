"""``python -m nbrepro``: the ``nbrepro`` command line (used by rerun jobs)."""

from nbrepro.cli import main

if __name__ == "__main__":
    main(prog_name="nbrepro")
