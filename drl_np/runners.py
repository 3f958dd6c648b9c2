"""Who runs the per-tile work: in this process one tile after another, or a
Dask cluster (``docs/scenes.md``).

A runner has one method, ``map(fn, items, shared)``: it calls
``fn(shared, item)`` for every item and yields ``(item, result)`` pairs as
they finish, in any order. ``shared`` (the fitted model and the source) is
sent to a cluster once, not once per tile. Nothing random happens in ``fn``,
so the order of completion cannot change a result.
"""
__all__ = ["LocalRunner", "DaskRunner", "make_runner"]


class LocalRunner:
    """Tiles one after another in this process (no Dask needed)."""

    workers = 1
    description = "in-process"

    def map(self, fn, items, shared):
        for item in items:
            yield item, fn(shared, item)

    def close(self):
        pass


class DaskRunner:
    """Tiles as a graph of ``dask.delayed`` tasks on a ``distributed`` client.

    Parameters
    ----------
    client : distributed.Client
    own_cluster : object, optional
        A cluster this runner started and closes with :meth:`close`.
    """

    def __init__(self, client, own_cluster=None):
        self.client = client
        self._cluster = own_cluster
        self.workers = len(client.scheduler_info().get("workers", {})) or 1
        self.description = f"Dask, {self.workers} worker(s) at {client.scheduler.address}"

    def map(self, fn, items, shared):
        import dask
        from distributed import as_completed

        items = list(items)
        # the model and the source go to every worker once (broadcast), each
        # task then carries only its window
        shared_future = self.client.scatter(shared, broadcast=True, hash=False)
        tasks = [dask.delayed(fn, pure=False)(shared_future, item) for item in items]
        futures = self.client.compute(tasks)
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for future in as_completed(futures):
                result = future.result()          # a task's exception is raised here
                yield items[index[future.key]], result
                future.release()
        finally:
            for f in futures:
                f.cancel()

    def close(self):
        # the client is always this runner's own (make_runner opens it); left
        # open, it keeps reconnecting to a scheduler that may have gone
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def make_runner(workers=None, scheduler=None):
    """The runner of ``workers`` / ``scheduler``: in-process when neither is
    given; else a Dask client, to a new local cluster of ``workers``
    single-threaded worker processes or to the scheduler at ``scheduler``.

    Raises
    ------
    InputError
        When Dask is asked for and not installed, or the scheduler cannot be
        reached.
    """
    from ._validation import InputError, check_positive_int

    if workers is None and scheduler is None:
        return LocalRunner()
    if workers is not None and scheduler is not None:
        raise InputError("give either workers (a new local cluster) or scheduler (an existing "
                         "one), not both")
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("Dask is not installed: pip install 'drl_np[dask]' (dask and "
                         "distributed), or run without --workers/--scheduler") from None
    if scheduler is not None:
        _probe(scheduler)
        try:
            return DaskRunner(Client(scheduler, timeout="20s"))
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler!r}: "
                             f"{' '.join(str(exc).split())}; check the address") from None
    workers = check_positive_int(workers, "workers")
    # one thread per worker process: the kernels are single-threaded by
    # design (drl_np.clustering), processes sidestep the GIL, and a Numba
    # budget of one keeps drl_np._threads from doubling up inside a worker
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=50,
                           env={"NUMBA_NUM_THREADS": "1"})
    return DaskRunner(Client(cluster), own_cluster=cluster)


def _probe(address, seconds=5.0):
    """InputError at once when nothing listens at a ``tcp://host:port``
    scheduler address (the client itself retries for its whole timeout)."""
    import socket
    from urllib.parse import urlsplit

    from ._validation import InputError

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp" or parts.port is None:
        return                      # another protocol: let the client judge
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=seconds).close()
    except OSError as exc:
        raise InputError(f"cannot reach the Dask scheduler at {address!r}: {exc.strerror or exc}; "
                         "check the address and that the scheduler runs") from None
