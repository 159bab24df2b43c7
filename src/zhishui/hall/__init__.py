"""The smart hall: visits, triage routing, quick desk, self-service, tickets, silent calling, workstations."""
