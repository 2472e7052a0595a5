"""The fixed drawing behind notebook 00's message-flow animation: boxes, lanes and paths per architecture.

:func:`layout` places OrderSvc, the Event Bus (EDA) and each handler; :mod:`eda_sim.lab.flow` turns a
run into markers that move between its spots.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import validate as v

MAX_HANDLERS = 3
MAX_WORKERS = 4  # per handler: worker slots drawn in a handler's box
MAX_ENTRY_WORKERS = 8  # R/R OrderSvc worker slots


# -- the drawing ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spot:
    """Where a station draws its markers.

    ``kind="lane"``: a queue, head at ``(x, y)``, the i-th in line ``gap`` to the left, at most ``cap``
    shown. ``kind="grid"``: slots in rows of ``cols`` from the top-left ``(x, y)``, ``gap`` apart.
    """

    kind: str
    x: float
    y: float
    gap: float = 0.3
    cap: int = 12
    cols: int = 1

    def offsets(self, slot) -> tuple[np.ndarray, np.ndarray]:
        """Positions of ``slot`` numbers (NaN for negative slots and slots beyond ``cap``)."""
        slot = np.asarray(slot)
        x = np.full(slot.shape, np.nan)
        y = np.full(slot.shape, np.nan)
        ok = (slot >= 0) & (slot < self.cap)
        s = slot[ok].astype(np.int64)
        if self.kind == "lane":
            x[ok], y[ok] = self.x - self.gap * s, self.y
        else:
            x[ok], y[ok] = self.x + self.gap * (s % self.cols), self.y - self.gap * (s // self.cols)
        return x, y


@dataclass(frozen=True)
class Box:
    """A node of the drawing: a rectangle ``(x0, y0, x1, y1)`` and its label."""

    name: str
    label: str
    x0: float
    y0: float
    x1: float
    y1: float
    dashed: bool = False

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2


@dataclass(frozen=True)
class Layout:
    """The fixed drawing of one architecture in a 12 × 4 box: nodes, where stations draw, the paths.

    ``boxes`` are the nodes (client, OrderSvc, Event Bus, handlers, done); ``spots`` map each station
    to a :class:`Spot`; ``paths`` are arrows ``(x0, y0, x1, y1, label, dashed)`` (dashed: an answer or
    acknowledgement going back); ``texts`` map a station to ``(x, y, side, label)``, where its live count
    is written (queue lengths, clients waiting); ``start`` is where a new order leaves the client.
    """

    arch: str
    boxes: tuple
    spots: dict
    paths: tuple
    texts: dict = field(default_factory=dict)
    start: tuple = (0.0, 0.0)
    width: float = 12.0
    height: float = 4.0


def layout(arch: str, handlers: tuple[str, ...], *, entry: str = "orders", workers: int = 1,
           entry_workers: int = 1) -> Layout:
    """The drawing for ``arch`` ("rr" or "eda") with these handler names (top to bottom)."""
    v.choice("arch", arch, ("rr", "eda"))
    if not 1 <= len(handlers) <= MAX_HANDLERS:
        raise ValueError(f"the drawing has room for 1 to {MAX_HANDLERS} handlers, got {len(handlers)}")
    v.integer("workers", workers, 1, MAX_WORKERS)
    v.integer("entry_workers", entry_workers, 1, MAX_ENTRY_WORKERS)
    n = len(handlers)
    ys = [2.0] if n == 1 else list(np.linspace(3.05, 0.95, n))
    boxes = [Box("client", "Client", 0.1, 1.15, 1.15, 2.85)]
    spots = {"client": Spot("grid", 0.25, 2.6, gap=0.25, cap=20, cols=4)}
    texts = {"client": (0.625, 1.07, "center", "")}
    ex0, ex1 = 2.55, 3.75
    if arch == "eda":
        boxes.append(Box(entry, "OrderSvc<br>(producer)", ex0, 1.5, ex1, 2.5))
        spots[entry] = Spot("grid", 3.15, 2.0, gap=0.3, cap=4, cols=4)
        boxes.append(Box("bus", f"Event Bus · topic '{entry}'", 4.3, 0.45, 8.65, 3.55))
        paths = [(1.15, 2.3, ex0, 2.3, "order", False), (ex0, 1.7, 1.15, 1.7, "ack", True)]
    else:
        cols = 2 if entry_workers > 4 else 1
        rows = math.ceil(entry_workers / cols)
        top = 2.0 + 0.15 * (rows - 1)
        boxes.append(Box(entry, f"OrderSvc<br>{entry_workers} worker{'s' * (entry_workers > 1)}", ex0,
                         min(1.5, top - 0.3 * (rows - 1) - 0.3), ex1, max(2.5, top + 0.3)))
        spots[entry] = Spot("grid", 3.15 - 0.15 * (cols - 1), top, gap=0.3, cap=entry_workers, cols=cols)
        spots[f"{entry}.queue"] = Spot("lane", 2.3, 2.0, gap=0.3, cap=4)
        texts[f"{entry}.queue"] = (1.85, 1.3, "center", "queue")
        paths = [(1.15, 2.3, ex0, 2.3, "request", False), (ex0, 1.7, 1.15, 1.7, "response", True)]
    for name, y in zip(handlers, ys, strict=True):
        label = name.capitalize()
        boxes.append(Box(name, f"{label} · {workers} {'consumer' if arch == 'eda' else 'worker'}"
                               f"{'s' * (workers > 1)}", 9.15, y - 0.6, 10.45, y + 0.6))
        spots[name] = Spot("grid", 9.8, y + 0.15 * (workers - 1), gap=0.3, cap=workers)
        spots[f"{name}.queue"] = Spot("lane", 8.35, y, gap=0.32, cap=12)
        if arch == "eda":
            texts[f"{name}.queue"] = (4.5, y + 0.3, "right", f"{name} subscription: a queue")
            spots[f"{name}.done"] = Spot("grid", 11.1, y, gap=0.3, cap=3, cols=3)
            boxes.append(Box(f"{name}.done", "done", 10.85, y - 0.3, 11.95, y + 0.3, dashed=True))
            paths += [(ex1, 2.0, 4.3, y, "publish" if y == ys[0] else "", False),
                      (8.65, y, 9.15, y, "deliver", False), (10.45, y, 10.85, y, "", False)]
        else:
            texts[f"{name}.queue"] = (4.75, y + 0.3, "right", f"calls waiting for a {label} worker")
            paths += [(ex1, 2.1 + 0.12 * (y - 2), 4.6, y + 0.1, "call", False),
                      (4.6, y - 0.1, ex1, 1.9 + 0.12 * (y - 2), "reply", True), (8.65, y, 9.15, y, "", False)]
    if arch == "rr":
        spots["answered"] = Spot("grid", 0.25, 0.5, gap=0.3, cap=4, cols=4)
        boxes.append(Box("answered", "answered", 0.1, 0.25, 1.15, 0.75, dashed=True))
    return Layout(arch, tuple(boxes), spots, tuple(paths), texts, start=(1.15, 2.3))
