"""The working-day calendar: holidays and swapped working days (调休) the bureau owns."""
