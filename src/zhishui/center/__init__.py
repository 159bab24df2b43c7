"""The smart tax center (智税中心): one inbox for every channel, work orders with deadlines, SLA.

Pure rules: `sla_policy` (business time, deadlines, the clock, SLA policies); work orders live in
`workorders` (`policy`: the state machine and sub-orders, `escalation`: reminders and escalation).
"""
