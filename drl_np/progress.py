"""Progress of long stages as log records of the ``"drl_np"`` logger.

:func:`step` logs "stage i/n" at INFO with ``record.progress = (i, n)``; the
command line draws such records as one progress bar on a terminal and as
plain lines in a log file. Library users see ordinary log records.
"""
import logging

__all__ = ["step"]

logger = logging.getLogger("drl_np")


def step(stage, i, n, detail=""):
    """Log step ``i`` of ``n`` of ``stage`` (``detail`` appended after a colon)."""
    text = f"{stage} {i}/{n}" + (f": {detail}" if detail else "")
    logger.info(text, extra={"progress": (i, n)})
