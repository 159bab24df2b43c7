"""Routes of the hall (being written)."""

from fastapi import APIRouter

router = APIRouter()
