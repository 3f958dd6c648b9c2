"""Progress of long stages as log records of the ``"drl_np"`` logger.

:func:`step` logs "stage i/n" at INFO with ``record.progress = (i, n)``; the
command line draws such records as one progress bar on a terminal and as
plain lines in a log file. Library users see ordinary log records.
"""
import logging

__all__ = ["step", "time_left"]

logger = logging.getLogger("drl_np")


def step(stage, i, n, detail=""):
    """Log step ``i`` of ``n`` of ``stage`` (``detail`` appended after a colon)."""
    text = f"{stage} {i}/{n}" + (f": {detail}" if detail else "")
    logger.info(text, extra={"progress": (i, n)})


def time_left(done, total, elapsed):
    """'about 3 min left' for ``done`` of ``total`` items after ``elapsed``
    seconds, at the mean rate so far ('' before the first item is done)."""
    if done <= 0 or done >= total:
        return ""
    left = elapsed / done * (total - done)
    if left < 90:
        return f"about {left:.0f} s left"
    if left < 5400:
        return f"about {left / 60:.0f} min left"
    return f"about {left / 3600:.1f} h left"
