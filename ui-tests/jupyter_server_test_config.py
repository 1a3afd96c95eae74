"""JupyterLab server configuration for nbrepro's galata tests.

Everything the server, kernels and nbrepro write goes to a temporary folder
(``NBREPRO_UI_TMP``, set by the Makefile/CI, else a new one), never to $HOME.
"""

import os
import tempfile
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

c = get_config()  # type: ignore[name-defined] # noqa: F821

root = Path(os.environ.get("NBREPRO_UI_TMP") or tempfile.mkdtemp(prefix="nbrepro-ui-"))
for name in ("nbrepro-home", "notebooks", "runtime", "ipython"):
    (root / name).mkdir(parents=True, exist_ok=True)
# Kernels inherit the server's environment: one store for the server, kernels and reruns.
home = root / "nbrepro-home"
if os.environ.get("NBREPRO_SCREENSHOTS"):
    # README pictures show a user's setup: nbrepro's store where it is by default, under a
    # home folder (the card says "~/.local/share/nbrepro/mlflow.db"), not the test tree.
    os.environ["HOME"] = str(root / "home")
    home = root / "home" / ".local" / "share" / "nbrepro"
home.mkdir(parents=True, exist_ok=True)
os.environ["NBREPRO_HOME"] = str(home)
os.environ.pop("MLFLOW_TRACKING_URI", None)
os.environ["JUPYTER_RUNTIME_DIR"] = str(root / "runtime")
os.environ["IPYTHONDIR"] = str(root / "ipython")

configure_jupyter_server(c)
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.allow_root = True
# The Makefile names the root (JUPYTERLAB_GALATA_ROOT_DIR): ~/projects for README pictures.
notebooks = Path(os.environ.get("JUPYTERLAB_GALATA_ROOT_DIR") or root / "notebooks")
notebooks.mkdir(parents=True, exist_ok=True)
c.ServerApp.root_dir = str(notebooks)
c.FileContentsManager.delete_to_trash = False
c.ServerApp.jpserver_extensions = {"nbrepro": True}

# A local Spark Connect server (Sail) for the Spark test; kernels find it via SPARK_REMOTE.
# It stops when this server exits (it waits on a pipe from this process).
from nbrepro.cli.sail import SailServer  # noqa: E402

(root / "sail").mkdir(exist_ok=True)
_sail = SailServer(root / "sail", log=root / "sail.log").start()
os.environ["SPARK_REMOTE"] = _sail.remote
