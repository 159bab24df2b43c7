"""Outreach (引导线上办): repeat visitors, campaigns with a hold-out group, call-backs, follow-up teams."""
