"""Appointments (预约): slots, bookings, "finish it now", pre-review, check-in and no-show rules."""
