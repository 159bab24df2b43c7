"""Planning: Erlang staffing and the hall simulator (a digital twin)."""
