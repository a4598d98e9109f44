"""The class catalogue: ids, names, colours and training-set counts, loaded from a JSON file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

DEFAULT_CLASSES_FILE = "clara.json"


class ClassConfigError(ValueError):
    """Raised when a class file is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class ModelClass:
    """One output class of the classifier."""

    id: int
    name: str
    color: str
    training_count: int


@dataclass(frozen=True)
class ClassCatalog:
    """The classifier's classes, in id order, with look-ups both ways."""

    classes: tuple[ModelClass, ...]

    def __post_init__(self) -> None:
        if not self.classes:
            raise ClassConfigError("a class file must list at least one class")
        ids = [c.id for c in self.classes]
        names = [c.name for c in self.classes]
        if len(set(ids)) != len(ids):
            raise ClassConfigError(f"class ids must be unique, got {ids}")
        if len(set(names)) != len(names):
            raise ClassConfigError(f"class names must be unique, got {names}")

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(c.id for c in self.classes)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.classes)

    def __contains__(self, class_id: object) -> bool:
        return class_id in self._by_id

    def __len__(self) -> int:
        return len(self.classes)

    @cached_property
    def _by_id(self) -> dict[int, ModelClass]:
        return {c.id: c for c in self.classes}

    def name_of(self, class_id: int) -> str:
        """Return the name of a class id; KeyError for an unknown id."""
        return self._by_id[class_id].name

    def id_of(self, name: str) -> int:
        """Return the id of a class name; KeyError for an unknown name."""
        for c in self.classes:
            if c.name == name:
                return c.id
        raise KeyError(name)

    def color_dict(self) -> dict[str, str]:
        """Return class name -> colour, the shape the dashboard expects."""
        return {c.name: c.color for c in self.classes}

    def training_counts(self) -> dict[str, int]:
        """Return class name -> number of training images."""
        return {c.name: c.training_count for c in self.classes}


def _parse_class(entry: object, position: int) -> ModelClass:
    if not isinstance(entry, dict):
        raise ClassConfigError(f"classes[{position}] must be an object, got {type(entry).__name__}")
    missing = {"id", "name", "color"} - entry.keys()
    if missing:
        raise ClassConfigError(f"classes[{position}] lacks {sorted(missing)}")
    class_id, name, color = entry["id"], entry["name"], entry["color"]
    training_count = entry.get("training_count", 0)
    if not isinstance(class_id, int) or isinstance(class_id, bool) or class_id < 0:
        raise ClassConfigError(f"classes[{position}].id must be a non-negative integer, got {class_id!r}")
    if not isinstance(name, str) or not name:
        raise ClassConfigError(f"classes[{position}].name must be a non-empty string")
    if not isinstance(color, str) or not color:
        raise ClassConfigError(f"classes[{position}].color must be a non-empty string")
    if not isinstance(training_count, int) or isinstance(training_count, bool) or training_count < 0:
        raise ClassConfigError(f"classes[{position}].training_count must be a non-negative integer")
    return ModelClass(id=class_id, name=name, color=color, training_count=training_count)


def parse_catalog(data: object) -> ClassCatalog:
    """Build a catalogue from the decoded JSON of a class file."""
    if not isinstance(data, dict) or not isinstance(data.get("classes"), list):
        raise ClassConfigError('a class file must be an object with a "classes" list')
    parsed = [_parse_class(entry, i) for i, entry in enumerate(data["classes"])]
    return ClassCatalog(tuple(sorted(parsed, key=lambda c: c.id)))


def load_catalog(path: str | Path | None = None) -> ClassCatalog:
    """Load the catalogue from `path`, or the packaged CLARA classes when None."""
    try:
        if path is None:
            text = resources.files(__package__).joinpath(DEFAULT_CLASSES_FILE).read_text("utf-8")
        else:
            text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise ClassConfigError(f"cannot read class file {path}: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ClassConfigError(f"class file {path or DEFAULT_CLASSES_FILE} is not valid JSON: {exc}") from exc
    return parse_catalog(data)
