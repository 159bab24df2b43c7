"""Shared building blocks: database, repositories, errors, clock, validators, masking, events."""
