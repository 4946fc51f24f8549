"""Course machinery: notebook set-up, exercise checks, student copies, the JupyterLab launcher."""
