"""Early warnings (指标预警): rules on metrics, live and device measures; warnings with a history."""
