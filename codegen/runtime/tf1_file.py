"""TF1 graph family: one object per model file, routing its marks and its module functions."""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable
from typing import Any

from .core import TransferError, TransferReport, Variable, model_named
from .tf1 import ModelTransfer
from .tf1_graph import Graph, Session, default_graph, graph_state


class FileTransfer:
    """The models of one file: decorators and marks go to the model they name; saving, restoring
    and copying act on the one of the file's models built in the graph or session."""

    def __init__(self, models: dict[str, ModelTransfer]) -> None:
        if not models:
            raise TransferError("a file shim needs at least one model")
        self.models = dict(models)
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"FileTransfer({', '.join(self.models)})"

    def _named(self, root: str) -> ModelTransfer:
        return model_named(self.models, root)

    # -- building ---------------------------------------------------------------

    def model(self, root: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator for where model `root` is entered: constructor, build method, model_fn,
        create_model. Its layers count from the outermost entry; nested entries add nothing."""
        transfer = self._named(root)

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            built = transfer.build(fn)

            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                stack = self._stack()
                stack.append(transfer)
                try:
                    return built(*args, **kwargs)
                finally:
                    stack.pop()

            return wrapper

        return decorate

    def layer(self, root: str, position: int) -> contextlib.AbstractContextManager[None]:
        """`with layer(root, position):` around a shared inline layer of model `root`."""
        return self._named(root).layer(position)

    def shared_layer(self, builder: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator for a shared builder or method: routed as a layer of the model being built.

        Called outside every entry of this file's models (a unit test, another model that
        imports the builder), it is a plain call: none of this file's models is being built."""

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                stack = self._stack()
                if not stack:
                    return fn(*args, **kwargs)
                transfer = stack[-1]
                return transfer.call_layer(builder, fn, *args, **kwargs)

            return wrapper

        return decorate

    def _stack(self) -> list[ModelTransfer]:
        stack: list[ModelTransfer] | None = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    # -- moving weights: each model of the file has its own key map per build ---------

    def _built(self, graph: Graph | None) -> ModelTransfer:
        """The one of the file's models built in `graph`; two of them there are ambiguous."""
        state = graph_state(default_graph(graph))
        built = [m for m in self.models.values() if state.built(m.key)]
        if len(built) > 1:
            roots = [root for root, m in self.models.items() if m in built]
            raise TransferError(
                f"models {', '.join(roots)} of this file were all built in this graph, so the "
                f"file's functions cannot tell which one to use; call the shim's object named "
                f"after the model instead (e.g. `{roots[0]}.restore(...)`)"
            )
        return built[0] if built else next(iter(self.models.values()))

    def variable_map(
        self, graph: Graph | None = None, *, instance: int | None = None
    ) -> dict[str, Variable]:
        """{canonical checkpoint key: variable} of the model's transferable variables."""
        return self._built(graph).variable_map(graph, instance=instance)

    def transferable_variables(
        self, graph: Graph | None = None, *, instance: int | None = None
    ) -> list[Variable]:
        """The model's transferable variables (under their own names), sorted by key."""
        return self._built(graph).transferable_variables(graph, instance=instance)

    def trainable_variables(
        self,
        graph: Graph | None = None,
        exclude_transferred: bool = True,
        *,
        instance: int | None = None,
    ) -> list[Variable]:
        """The graph's trainable variables, without the model's transferable ones by default."""
        return self._built(graph).trainable_variables(graph, exclude_transferred, instance=instance)

    def saver(self, graph: Graph | None = None, *, instance: int | None = None) -> Any:
        """A Saver over the canonical map of the model's transferable variables."""
        return self._built(graph).saver(graph, instance=instance)

    def save(
        self, sess: Session, path: str | os.PathLike[str], *, instance: int | None = None
    ) -> str:
        """Save exactly the transferable variables under their keys; returns the prefix."""
        return self._built(sess.graph).save(sess, path, instance=instance)

    def restore(
        self,
        sess: Session,
        path: str | os.PathLike[str],
        *,
        freeze: bool = False,
        instance: int | None = None,
    ) -> TransferReport:
        """Check names, shapes and dtypes first, then load the intersection in one run."""
        return self._built(sess.graph).restore(sess, path, freeze=freeze, instance=instance)

    def init_from_checkpoint(
        self,
        path: str | os.PathLike[str],
        graph: Graph | None = None,
        *,
        freeze: bool = False,
        instance: int | None = None,
    ) -> TransferReport:
        """Check first, then make the variables' initializers load the intersection."""
        return self._built(graph).init_from_checkpoint(
            path, graph, freeze=freeze, instance=instance
        )

    def freeze(self, graph: Graph | None = None, *, instance: int | None = None) -> list[Variable]:
        """Keep the model's transferable variables out of training, or raise changing nothing."""
        return self._built(graph).freeze(graph, instance=instance)

    def copy(
        self, src_sess: Session, dst_sess: Session, *more_dst_sessions: Session
    ) -> TransferReport:
        """Copy in memory, all checked first: one run on the source, one per destination; each
        side is the model built in its session's graph."""
        sessions = (dst_sess, *more_dst_sessions)
        maps = [self._built(sess.graph).in_session(sess.graph) for sess in sessions]
        return self._built(dst_sess.graph).copy_into(src_sess, sessions, maps)
