"""The smart tax center (智税中心): one inbox for every channel, work orders with deadlines, SLA.

Pure rules: `sla_policy` (business time, deadlines, the clock, SLA policies), `workorder_policy`
(the work-order state machine and sub-orders), `escalation_policy` (reminders and escalation).
"""
