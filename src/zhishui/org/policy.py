"""Tenancy: a staff member sees the rows of their own unit's subtree, nothing else."""

from __future__ import annotations

from dataclasses import dataclass


def child_path(parent_path: str, unit_id: int) -> str:
    """Materialised path of a unit: "/1/4/9/". The root's parent path is ""."""
    return f"{parent_path or '/'}{unit_id}/"


@dataclass(frozen=True)
class OrgScope:
    """The subtree a caller may see, by materialised path."""

    path: str

    def covers(self, path: str) -> bool:
        return path.startswith(self.path)

    @property
    def like_pattern(self) -> str:
        return self.path + "%"
